"""What an image source may be and where it may come from: one frozen `ImagePolicy` value.

The resources stage asks the policy before it reads a byte: which URL schemes, which hosts and
networks, which folders local paths may come from, whether SVG sources are allowed, and how long
and how large a fetch may be.

Files: a path is read only from inside an allowed folder, after resolving symlinks. The allowed
folders are the card's own base folder (the spec file's folder, or the `base_dir` a caller
passes; a dict or JSON text has none) and each folder in `allow_paths`. So a spec from a web
request reads no file unless its caller named a folder, and an absolute path or a `..` that leaves
the base folder needs a policy folder that contains it, whoever wrote the spec.

The library and CLI default (`DEFAULT_POLICY`) allows SVG; `ImagePolicy.server()` is what a network
service should pass: no SVG unless enabled. Neither default ever reaches loopback, private,
link-local, multicast, reserved or cloud-metadata addresses; tests that need a loopback server
switch that on explicitly with `allow_loopback=True`.

Byte and pixel bounds of a source live in `Limits` (`max_image_bytes`, `max_image_pixels`), so one
value bounds every entry point; the policy holds the rest.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = ["DEFAULT_POLICY", "IPNetwork", "ImagePolicy", "StrPath"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
StrPath = str | os.PathLike[str]  # what every path parameter takes


def _networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(v, strict=False) for v in values)


def _folders(values: StrPath | Iterable[StrPath] | None) -> tuple[Path, ...]:
    """`allow_paths` as resolved folders; one path alone counts as a one-folder tuple."""
    if values is None:
        msg = (
            "allow_paths must name folders, e.g. allow_paths=('/srv/assets',); "
            "allow_paths=('/',) allows every file. Received: None"
        )
        raise ValueError(msg)
    items = (values,) if isinstance(values, str | os.PathLike) else tuple(values)
    return tuple(Path(p).resolve() for p in items)


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    """Where image sources may come from and how far a fetch may go. Hashable: it keys caches."""

    # Folders local files may come from besides the card's base folder (see the module doc);
    # symlinks resolved. Absolute paths and `..` are read only when they land inside one.
    allow_paths: tuple[StrPath, ...] = ()  # stored as resolved `Path`s
    allow_svg: bool = True  # SVG sources, rasterized in a bounded subprocess
    allow_spec_fonts: bool = True  # a card's own `fonts` (sanitized by OTS in a subprocess)
    allow_urls: bool = True  # http(s) sources at all
    schemes: tuple[str, ...] = ("http", "https")
    # Operator exceptions to the address rules: host names (exact, or "*.example.com" for any
    # subdomain) whose addresses are not checked, and networks ("10.1.0.0/16") that are allowed.
    allow_hosts: tuple[str, ...] = ()
    allow_networks: tuple[str, ...] = ()
    allow_loopback: bool = False  # 127.0.0.0/8 and ::1: for tests against a local server
    allow_private: bool = False  # RFC 1918, unique-local, shared (CGNAT): for intranet installs
    fetch_timeout: float = 5.0  # s, total per source: DNS, connect, redirects and whole body
    max_redirects: int = 3
    max_url_length: int = 2048  # characters
    max_image_side: int = 16_384  # px, either side of a decoded source
    svg_timeout: float = 1.5  # s, wall clock of the SVG subprocess from when it has the document
    svg_memory: int = 1 << 30  # bytes of address space for that subprocess
    cache_dir: Path | None = None  # optional on-disk HTTP cache (Cache-Control / ETag); or a str
    cache_max_bytes: int = 256 << 20  # of bodies in cache_dir; the least recently used go first
    user_agent: str = "renderer-image-fetcher/0.1"
    _networks: tuple[IPNetwork, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.fetch_timeout <= 0 or self.svg_timeout <= 0:
            msg = "fetch_timeout and svg_timeout must be > 0 seconds"
            raise ValueError(msg)
        if self.cache_max_bytes < 0:
            msg = "cache_max_bytes must be >= 0"
            raise ValueError(msg)
        object.__setattr__(self, "allow_paths", _folders(self.allow_paths))
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        object.__setattr__(self, "schemes", tuple(s.lower() for s in self.schemes))
        object.__setattr__(self, "allow_hosts", tuple(h.lower() for h in self.allow_hosts))
        # Parsed once, so a typo fails at start-up rather than on the first fetch.
        object.__setattr__(self, "_networks", _networks(self.allow_networks))

    @classmethod
    def server(
        cls,
        *,
        allow_paths: Iterable[StrPath] = (),
        allow_svg: bool = False,
        allow_spec_fonts: bool = False,
        **kwargs: object,
    ) -> ImagePolicy:
        """The policy for a network service: no SVG and no fonts in specs unless enabled.
        Files, as everywhere, only from `allow_paths` and the `base_dir` the service passes
        (none by default)."""
        return cls(
            allow_paths=allow_paths,  # type: ignore[arg-type]
            allow_svg=allow_svg,
            allow_spec_fonts=allow_spec_fonts,
            **kwargs,  # type: ignore[arg-type]
        )

    def with_changes(self, **kwargs: object) -> ImagePolicy:
        """A copy with some fields changed (`dataclasses.replace`, typed for callers)."""
        return replace(self, **kwargs)  # type: ignore[arg-type]

    @property
    def networks(self) -> tuple[IPNetwork, ...]:
        """`allow_networks`, parsed."""
        return self._networks

    def host_allowed(self, host: str) -> bool:
        """Whether the operator named `host` (lower-case, no port) as trusted."""
        for pattern in self.allow_hosts:
            if pattern.startswith("*.") and host.endswith(pattern[1:]):
                return True
            if host == pattern:
                return True
        return False


DEFAULT_POLICY = ImagePolicy()
