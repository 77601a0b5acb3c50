"""What runs on a worker: one `Job` in, one `Outcome` out, never an exception.

A job is plain picklable data (a spec dict or path, variables, options, and optionally the path
to write to), so the same function serves the in-process loop, a local process pool and Dask
workers. Errors travel back as `ErrorInfo` rather than as exception objects: `RenderError`
subclasses carry their issues in an attribute that pickling would lose, and a Dask client may not
share the worker's classes. `ErrorInfo.exception()` rebuilds the same class with the same issues.

Fonts and decoded images are cached per process (`fonts.library()`, `resources._decoded`), so a
long-lived worker loads each font slice once however many cards it draws; `init_worker` loads the
font library up front so the first card on each worker is not slower than the rest.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .. import errors, files
from ..limits import DEFAULT_LIMITS, Limits
from ..policy import DEFAULT_POLICY, ImagePolicy

__all__ = [
    "TEMP_SUFFIX",
    "ErrorInfo",
    "Job",
    "Outcome",
    "OutputRefused",
    "init_worker",
    "render_job",
    "render_jobs",
    "warm_up",
    "watch_parent",
    "write_atomic",
    "write_inside",
]

TEMP_SUFFIX = ".renderer-tmp"  # every temporary output ends so; a later run removes leftovers


@dataclass(frozen=True, slots=True)
class Job:
    """One card to draw. `spec` is anything `renderer.render` takes (with `variables`, a template
    the worker fills); `dest` set means the worker writes the file itself (`--jobs N`, Dask
    `--write-on-workers`) at that path relative to `out_dir`, and returns no bytes."""

    id: int
    spec: Any
    format: str = "png"
    variables: Mapping[str, object] | None = None
    scale: float = 1.0
    quality: int | None = None
    limits: Limits = DEFAULT_LIMITS
    base_dir: str | None = None
    image_policy: ImagePolicy = DEFAULT_POLICY
    dest: str | None = None  # relative to out_dir, / separators
    out_dir: str = ""  # OUT_DIR, resolved
    fonts: tuple[str, ...] = ()  # the operator's font files and folders (--font-dir)


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An error as plain data: the class name, its message and its issues (pointer, message)."""

    kind: str
    message: str
    issues: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, e: BaseException) -> ErrorInfo:
        issues = tuple((i.pointer, i.message) for i in getattr(e, "issues", ()))
        return cls(type(e).__name__, str(e), issues)

    def exception(self) -> Exception:
        """The error as the caller would have got it from `renderer.render`."""
        cls = getattr(errors, self.kind, None)
        if isinstance(cls, type) and issubclass(cls, errors._IssuesError):
            return cls([errors.Issue(p, m) for p, m in self.issues])
        if isinstance(cls, type) and issubclass(cls, errors.RenderError):
            return cls(self.message)
        if self.kind == "ValueError":
            return ValueError(self.message)
        return errors.RenderError(f"{self.kind}: {self.message}")


@dataclass(frozen=True, slots=True)
class Outcome:
    """A job's result: the image bytes (None when the worker wrote them), their SHA-256 and size,
    or the error."""

    id: int
    data: bytes | None = None
    sha256: str = ""
    size: int = 0
    error: ErrorInfo | None = None


def init_worker(alive: Connection | None = None) -> None:
    """Run once per worker process: leave Ctrl-C to the parent, which stops the batch cleanly (a
    terminal sends SIGINT to the whole process group); exit when the parent is gone
    (`watch_parent`); load the fonts before the first job."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if alive is not None:
        watch_parent(alive)
    from .. import parallel
    from ..fonts import library

    parallel.set_threads(1)  # one card per core already: a helper thread would only contend
    library()


def render_job(job: Job) -> Outcome:
    """Draw one card (and write it when `job.dest` is set); failures come back as data."""
    from ..api import render

    try:
        data = render(
            job.spec,
            job.format,
            scale=job.scale,
            quality=job.quality,
            limits=job.limits,
            base_dir=None if job.base_dir is None else Path(job.base_dir),
            variables=job.variables,
            image_policy=job.image_policy,
            fonts=job.fonts or None,
        )
        digest = hashlib.sha256(data).hexdigest()
        if job.dest is not None:
            write_inside(Path(job.out_dir), job.dest, data)
            return Outcome(job.id, None, digest, len(data))
        return Outcome(job.id, data, digest, len(data))
    except Exception as e:  # any failure belongs to this item only; the batch goes on
        return Outcome(job.id, error=ErrorInfo.of(e))


def watch_parent(alive: Connection) -> None:
    """Exit this worker as soon as the process that started it is gone, even by `kill -9`.

    `alive` is the reading end of a pipe whose only writing end the parent holds and never
    writes to: the kernel closes it when the parent dies however it dies, so the read returns
    then (EOF). Neither `PR_SET_PDEATHSIG` nor polling `os.getppid()` would do: a worker's parent
    is the forkserver, which outlives the batch process for as long as any worker holds its
    liveness pipe, and the multiprocessing queues a worker waits on never see EOF either, since
    the worker holds their writing ends itself. So without this, a killed batch left its
    forkserver, its workers and the resource tracker running for good. A daemon thread waits,
    so it costs nothing while the parent lives."""

    def wait() -> None:
        try:
            alive.poll(None)
        except (OSError, EOFError):
            pass
        os._exit(1)  # nobody is left to read what this worker draws; temporary files are
        # removed by the next run (TEMP_SUFFIX)

    threading.Thread(target=wait, name="renderer-parent-watch", daemon=True).start()


def warm_up() -> None:
    """Nothing: submitted once per worker so the pool starts its processes (see `init_worker`)."""


def render_jobs(jobs: list[Job]) -> list[Outcome]:
    """A chunk of jobs handed over at once (see `executors.PoolExecutor`)."""
    return [render_job(job) for job in jobs]


def write_atomic(path: Path, data: bytes) -> None:
    """An output written whole (temporary name ending in TEMP_SUFFIX, then rename), folders made
    as needed; a later run removes the leftovers of a killed one."""
    files.write_atomic(path, data, suffix=TEMP_SUFFIX, parents=True)


class OutputRefused(OSError):
    """An output path that would lead out of OUT_DIR (through a symlinked folder): not written."""


def write_inside(out_dir: Path, rel: str, data: bytes) -> None:
    """`write_atomic` of `out_dir / rel`, refused with `OutputRefused` when its folder, symlinks
    followed, is not inside `out_dir` (resolved). Checked before the folders are made (`mkdir`
    would follow a symlinked folder outside) and again just before writing, in the process that
    writes."""
    path = out_dir / rel
    _check_inside(out_dir, path.parent, rel)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_inside(out_dir, path.parent, rel)
    files.write_atomic(path, data, suffix=TEMP_SUFFIX)


def _check_inside(out_dir: Path, folder: Path, rel: str) -> None:
    existing = folder
    while not existing.exists() and existing != out_dir and existing.parent != existing:
        existing = existing.parent  # the folders still to be made are made inside this one
    resolved = existing.resolve()
    if not resolved.is_relative_to(out_dir):
        msg = (
            f"{rel} was not written: its folder leads outside the output folder "
            f"(through a symlink, to {resolved})"
        )
        raise OutputRefused(msg)
