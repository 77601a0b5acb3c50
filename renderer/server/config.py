"""Server settings: one frozen `ServerConfig`, built from flags, a JSON config file and the
environment, and handed to every uvicorn worker process as JSON.

Why JSON in an environment variable: `uvicorn --workers N` starts fresh interpreters that import
`renderer.server:app` by name, so the only way to reach them is the environment. The same path
serves gunicorn or hypercorn users, who set `RENDERER_API_KEYS` and `RENDERER_CONFIG` themselves.

Plans: `free` and `pro` are Craftr's (10 and 1,000 requests a month; at most 10 and unlimited
components); a config file may redefine them or add others, e.g. `{"plans": {"team": {"requests":
50000, "period": "month", "max_components": null}}}`. `period` is `"month"` (calendar month, UTC,
as Craftr counts) or a number of seconds.

Batch jobs (`POST /api/v1/batch`): `max_batch_items` per job; job state lives in `jobs_dir` (`""`
means `$TMPDIR/renderer-jobs-<pid>` of the process that builds the app: `renderer serve` fills it
in with its own pid, so every uvicorn worker of one `renderer serve` shares it), and a finished
job stays there `job_retention_hours` (default a week); `storage` names
the folders a job may write into (`{"cards": "/srv/cards"}`, addressed as `storage://cards/…`);
a finished job's `callback_url` is tried `1 + callback_retries` times, waiting `callback_backoff`
seconds, then twice that, and so on, each attempt bounded by `callback_timeout`, and signed with
`callback_secret` (or `RENDERER_CALLBACK_SECRET`) when one is set.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "BUILTIN_PLANS",
    "STORAGE_NAME",
    "ENV_CONFIG",
    "ConfigError",
    "Plan",
    "ServerConfig",
    "load_config",
    "parse_keys",
]

ENV_CONFIG = "RENDERER_SERVER_CONFIG"  # the whole config as JSON, set by `renderer serve`
ENV_KEYS = "RENDERER_API_KEYS"  # "key:plan,key:plan"
ENV_KEYS_FILE = "RENDERER_API_KEYS_FILE"
ENV_CONFIG_FILE = "RENDERER_CONFIG"
ENV_CALLBACK_SECRET = "RENDERER_CALLBACK_SECRET"  # signs job callbacks
ENV_URL_SECRET = "RENDERER_URL_SECRET"  # signs GET /og/ URLs (renderer.signing)
OPEN_PLAN = "open"  # the plan of every request when no key is configured
STORAGE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class ConfigError(ValueError):
    """A config file, key list or flag is invalid; the message names it."""


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    requests: int | None  # per period; None = unlimited
    period: str | int = "month"  # "month" (calendar month, UTC) or seconds
    max_components: int | None = None  # per image; None = only the engine's Limits

    @classmethod
    def from_dict(cls, name: str, raw: Mapping[str, Any]) -> Plan:
        unknown = set(raw) - {"requests", "period", "max_components"}
        if unknown:
            msg = f"plan {name!r}: unknown field(s) {sorted(unknown)}"
            raise ConfigError(msg)
        requests = raw.get("requests")
        period = raw.get("period", "month")
        comps = raw.get("max_components")
        for label, value in (("requests", requests), ("max_components", comps)):
            if value is not None and (not isinstance(value, int) or value < 0):
                msg = f"plan {name!r}: {label} must be a non-negative integer or null"
                raise ConfigError(msg)
        if period != "month" and not (isinstance(period, int) and period > 0):
            msg = f'plan {name!r}: period must be "month" or a positive number of seconds'
            raise ConfigError(msg)
        return cls(name, requests, period, comps)


BUILTIN_PLANS: dict[str, Plan] = {
    "free": Plan("free", 10, "month", 10),
    "pro": Plan("pro", 1000, "month", None),
    OPEN_PLAN: Plan(OPEN_PLAN, None, "month", None),
}


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything the app needs; defaults are the documented ones."""

    api_keys: dict[str, str] = field(default_factory=dict)  # key → plan name
    plans: dict[str, Plan] = field(default_factory=lambda: dict(BUILTIN_PLANS))
    rate_limit_store: str = "memory"  # "memory" or redis://host:port/db
    render_workers: int = 0  # worker processes per server process; 0 = CPUs ÷ server workers
    render_timeout: float = 20.0  # s, per render, then the worker is killed
    queue_size: int = 16  # renders waiting for a worker before 503
    max_body_bytes: int = 5_000_000  # bytes of request body
    body_timeout: float = 10.0  # s to receive the whole body
    header_timeout: float = 10.0  # s to receive request headers (renderer serve only)
    worker_memory_mb: int = 2048  # RLIMIT_AS of each render worker, MiB
    # A worker left holding more than this (resident, MiB; at most worker_memory_mb) after a
    # request is replaced.
    worker_recycle_mb: int = 768
    cors_origins: tuple[str, ...] = ()
    allow_image_dirs: tuple[str, ...] = ()
    allow_svg_images: bool = False  # SVG image sources (rasterized in a bounded subprocess)
    font_dirs: tuple[str, ...] = ()  # the operator's fonts, registered in every render worker
    allow_spec_fonts: bool = False  # a card's own `fonts` (sanitized in a bounded subprocess)
    allow_image_hosts: tuple[str, ...] = ()  # hosts trusted even on private addresses
    allow_image_networks: tuple[str, ...] = ()  # networks (CIDR) trusted likewise
    max_batch_items: int = 100  # specs (or rows) per batch job
    auth_failures_per_minute: int | None = 30  # per client address; None = not limited
    jobs_dir: str = ""  # job state; "" = $TMPDIR/renderer-jobs-<pid>
    job_retention_hours: float = 168.0  # a finished job and its images are kept this long
    storage: dict[str, str] = field(default_factory=dict)  # storage name → folder
    callback_retries: int = 3  # attempts after the first, for a failed callback
    callback_backoff: float = 1.0  # s before the first retry; doubles for each next one
    callback_timeout: float = 10.0  # s per callback attempt
    # HMAC-SHA256 key signing each callback (Renderer-Signature); "" = unsigned
    callback_secret: str = field(default="", repr=False)
    # GET /og/{name}.{ext} (`og`): templates from `templates_dir` ("" = no such route), signed
    # with `url_secret` (or RENDERER_URL_SECRET), counted per template against `og_plan`.
    templates_dir: str = ""
    url_secret: str = field(default="", repr=False)
    og_unsigned: tuple[str, ...] = ()  # templates that answer without a signature; "*" = all
    og_plan: str = OPEN_PLAN
    og_cache: str = "memory"  # rendered cards kept: "memory", a folder, or "" (not at all)
    og_cache_max_bytes: int = 64_000_000  # bound of that cache, bytes
    og_cache_control: str = "public, max-age=86400"  # a URL with `v=` gets a year, immutable
    og_max_query_bytes: int = 4096  # longer query strings are refused with 414

    def __post_init__(self) -> None:
        for key, plan in self.api_keys.items():
            if plan not in self.plans:
                msg = f"key {key[:4]}…: unknown plan {plan!r}; known: {sorted(self.plans)}"
                raise ConfigError(msg)
        numbers = {
            "render_timeout": self.render_timeout,
            "max_body_bytes": self.max_body_bytes,
            "body_timeout": self.body_timeout,
            "header_timeout": self.header_timeout,
            "worker_memory_mb": self.worker_memory_mb,
            "worker_recycle_mb": self.worker_recycle_mb,
            "max_batch_items": self.max_batch_items,
            "callback_timeout": self.callback_timeout,
            "job_retention_hours": self.job_retention_hours,
        }
        for name, value in numbers.items():
            if not value > 0:
                msg = f"{name} must be positive. Received: {value!r}"
                raise ConfigError(msg)
        if self.render_workers < 0 or self.queue_size < 0:
            msg = "render_workers and queue_size must be ≥ 0"
            raise ConfigError(msg)
        if self.callback_retries < 0 or not self.callback_backoff >= 0:
            msg = "callback_retries and callback_backoff must be ≥ 0"
            raise ConfigError(msg)
        _check_og(self)
        for name, folder in self.storage.items():
            if not isinstance(name, str) or not STORAGE_NAME.fullmatch(name):
                msg = (
                    f"storage name {name!r} must be letters, digits, '_' or '-' "
                    "(at most 64, starting with a letter or digit)"
                )
                raise ConfigError(msg)
            if not isinstance(folder, str) or not folder:
                msg = f"storage {name!r}: expected a folder path"
                raise ConfigError(msg)

    def jobs_folder(self) -> Path:
        """Where job state is kept: `jobs_dir`, or a folder of this process under the temp dir."""
        if self.jobs_dir:
            return Path(self.jobs_dir)
        return Path(tempfile.gettempdir()) / f"renderer-jobs-{os.getpid()}"

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServerConfig:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> ServerConfig:
        """Build from a config file's object; unknown keys are an error, not ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - names
        if unknown:
            msg = f"unknown config field(s): {sorted(unknown)}; known: {sorted(names)}"
            raise ConfigError(msg)
        values = dict(raw)
        plans = dict(BUILTIN_PLANS)
        for name, p in dict(values.pop("plans", {})).items():
            if not isinstance(p, Mapping):
                msg = f"plan {name!r} must be an object"
                raise ConfigError(msg)
            plans[name] = Plan.from_dict(name, {k: v for k, v in p.items() if k != "name"})
        values["plans"] = plans
        for tuple_field in (
            "cors_origins",
            "allow_image_dirs",
            "allow_image_hosts",
            "allow_image_networks",
            "og_unsigned",
            "font_dirs",
        ):
            if tuple_field in values:
                values[tuple_field] = tuple(values[tuple_field])
        if not isinstance(values.get("storage", {}), Mapping):
            msg = 'storage must be an object of name → folder, e.g. {"cards": "/srv/cards"}'
            raise ConfigError(msg)
        values["storage"] = dict(values.get("storage", {}))
        try:
            return cls(**values)
        except TypeError as e:
            raise ConfigError(str(e)) from None


def _check_og(config: ServerConfig) -> None:
    """The template route's settings: a plan that exists, positive bounds, and a way to serve."""
    if config.og_plan not in config.plans:
        msg = f"og_plan: unknown plan {config.og_plan!r}; known: {sorted(config.plans)}"
        raise ConfigError(msg)
    if not (config.og_cache_max_bytes > 0 and config.og_max_query_bytes > 0):
        msg = "og_cache_max_bytes and og_max_query_bytes must be positive"
        raise ConfigError(msg)
    if config.templates_dir and not Path(config.templates_dir).is_dir():
        msg = f"--templates: no such folder: {config.templates_dir}"
        raise ConfigError(msg)
    if config.templates_dir and not (config.url_secret or config.og_unsigned):
        msg = (
            f"--templates needs a secret to check URL signatures ({ENV_URL_SECRET}, or "
            '"url_secret" in --config), or templates named unsigned (--og-allow-unsigned)'
        )
        raise ConfigError(msg)


def parse_keys(text: str, source: str) -> dict[str, str]:
    """`key:plan` pairs separated by commas or new lines; `#` starts a comment line."""
    keys: dict[str, str] = {}
    for raw in text.replace(",", "\n").splitlines():
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        key, sep, plan = item.rpartition(":")
        if not sep or not key or not plan:
            msg = f"{source}: expected key:plan, got an entry without a plan"
            raise ConfigError(msg)
        keys[key.strip()] = plan.strip()
    return keys


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        msg = f"cannot read {what} {path}: {e.strerror}"
        raise ConfigError(msg) from None


def load_config(
    config_file: str | None = None,
    keys_file: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> ServerConfig:
    """Config file, then keys (file and `RENDERER_API_KEYS`), then flags, later ones winning."""
    config_file = config_file or environ.get(ENV_CONFIG_FILE)
    raw: dict[str, Any] = {}
    if config_file:
        try:
            loaded = json.loads(_read(config_file, "config file"))
        except json.JSONDecodeError as e:
            msg = f"config file {config_file}: invalid JSON at line {e.lineno}: {e.msg}"
            raise ConfigError(msg) from None
        if not isinstance(loaded, dict):
            msg = f"config file {config_file}: expected a JSON object"
            raise ConfigError(msg)
        raw.update(loaded)
    keys = dict(raw.pop("api_keys", {}))
    keys_file = keys_file or environ.get(ENV_KEYS_FILE)
    if keys_file:
        keys.update(parse_keys(_read(keys_file, "API keys file"), keys_file))
    if environ.get(ENV_KEYS):
        keys.update(parse_keys(environ[ENV_KEYS], ENV_KEYS))
    overrides = dict(overrides or {})
    if overrides.get("storage") is not None:  # --storage adds to the config file's folders
        base = raw.get("storage")
        base = base if isinstance(base, Mapping) else {}
        overrides["storage"] = {**base, **overrides["storage"]}
    if environ.get(ENV_CALLBACK_SECRET):
        raw["callback_secret"] = environ[ENV_CALLBACK_SECRET]
    if environ.get(ENV_URL_SECRET):
        raw["url_secret"] = environ[ENV_URL_SECRET]
    raw.update({k: v for k, v in overrides.items() if v is not None})
    raw["api_keys"] = keys
    return ServerConfig.from_dict(raw)


def config_from_env(environ: Mapping[str, str] = os.environ) -> ServerConfig:
    """The config of `renderer.server:app`: what `renderer serve` passed, else the environment."""
    if environ.get(ENV_CONFIG):
        return ServerConfig.from_json(environ[ENV_CONFIG])
    return load_config(environ=environ)
