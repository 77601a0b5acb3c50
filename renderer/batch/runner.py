"""The batch command's engine: plan, skip what is fresh, draw the rest, write, record, summarise.

Guarantees: every output is written to a temporary file beside it and renamed into place, by the
client or (`--write-on-workers`) by the worker, and entered in the manifest only after the rename;
one item's failure is reported (file, row, pointer, reason) and the others go on unless
`--fail-fast`; the first Ctrl-C (or SIGTERM, as CI sends on cancel) stops handing out work, lets
the cards already being drawn land, and ends with exit code 130, whole files and a manifest that
matches them; a second Ctrl-C aborts at once, which still leaves only whole files (the temporary
one is removed, and any left by a kill are removed by the next run).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import Issue
from .executors import CHUNK, DaskExecutor, Executor, InProcessExecutor, PoolExecutor
from .manifest import MANIFEST_NAME, Entry, Manifest, ManifestError
from .plan import Item, Options, discover, plan
from .progress import Progress
from .work import TEMP_SUFFIX, ErrorInfo, Outcome, write_inside

__all__ = ["EXIT_INTERRUPTED", "Settings", "Summary", "run_batch"]

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


@dataclass(frozen=True, slots=True)
class Settings:
    sources: list[Path]
    out_dir: Path
    options: Options
    jobs: int
    data_paths: list[Path] = dataclasses.field(default_factory=list)
    force: bool = False
    fail_fast: bool = False
    executor: str = "local"  # "local" or "dask"
    scheduler: str | None = None
    write_on_workers: bool = False
    progress: bool = True
    progress_interval: float = 10.0


@dataclass(slots=True)
class Summary:
    rendered: int = 0
    skipped: int = 0
    failed: int = 0
    not_started: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    errors: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        return EXIT_FAILED if self.failed else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "rendered": self.rendered,
            "skipped": self.skipped,
            "failed": self.failed,
            "not_started": self.not_started,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "cards_per_second": round(self.rendered / self.seconds, 2) if self.seconds else 0.0,
            "errors": self.errors,
        }

    def text(self) -> str:
        d = self.as_dict()
        line = (
            f"{d['rendered']} rendered, {d['skipped']} skipped, {d['failed']} failed in "
            f"{d['seconds']:.1f} s ({d['cards_per_second']:.1f} cards/s)"
        )
        if self.interrupted:
            line += f"; interrupted, {self.not_started} not started"
        return line


class _Stop:
    """The first SIGINT/SIGTERM asks for a clean stop; the handler then steps aside, so a second
    Ctrl-C raises KeyboardInterrupt as usual."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        self.requested = False
        self._notify = notify
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        for sig, old in self._saved.items():
            signal.signal(sig, old)
        self._notify("renderer batch: stopping after the cards being drawn (Ctrl-C to abort)")

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._saved.items():
            signal.signal(sig, old)


def run_batch(settings: Settings, summary: Summary) -> None:
    """Run the batch, filling `summary` as it goes (so an abort still reports what happened)."""
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    with _only_batch_in(out):
        _run_batch(settings, summary)


@contextlib.contextmanager
def _only_batch_in(out: Path) -> Iterator[None]:
    """Hold OUT_DIR for this run (an exclusive `flock` on the folder itself, released however
    the process ends): two batches into one folder would each compact the journal from what
    they alone read, and one run's entries would be lost."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock, and no lock
        yield
        return
    fd = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = (
                f"another renderer batch is writing {out}; wait for it to finish, "
                "or give this one another output folder"
            )
            raise ManifestError(msg) from None
        yield
    finally:
        os.close(fd)


def _run_batch(settings: Settings, summary: Summary) -> None:
    out = settings.out_dir
    for leftover in out.rglob(f"*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)  # from a run that was killed mid-write
    # Local worker processes take ~0.3 s to start (a fresh interpreter importing the engine):
    # start them now, so they come up while the specs are read and planned.
    early = (
        PoolExecutor(settings.jobs, _chunk(settings))
        if settings.executor == "local" and settings.jobs > 1
        else None
    )
    try:
        if early is not None:
            early.start()
        specs = discover(settings.sources, out, settings.data_paths)
        items = plan(specs, settings.options)
        manifest = Manifest(out / MANIFEST_NAME)
        progress = Progress(
            len(items), enabled=settings.progress, interval=settings.progress_interval
        )
        try:
            with _Stop(progress.error) as stop:
                _run(items, settings, manifest, progress, summary, stop, early)
        finally:
            progress.close()
            manifest.compact(out)
            summary.seconds = progress.seconds
    finally:
        if early is not None:
            early.close()


def _run(
    items: list[Item],
    settings: Settings,
    manifest: Manifest,
    progress: Progress,
    summary: Summary,
    stop: _Stop,
    started: Executor | None = None,
) -> None:
    todo: deque[Item] = deque()
    for item in items:
        if item.error is not None:
            _failed(item, item.error, progress, summary)
        elif not settings.force and manifest.is_fresh(item.output, item.key, settings.out_dir):
            summary.skipped += 1
            progress.done("skipped")
        elif not settings.force and _foreign(item.output, settings.out_dir, manifest):
            _failed(item, _not_ours(settings.out_dir, item.output), progress, summary)
        else:
            manifest.claim(item.output)
            todo.append(item)
    if settings.fail_fast and summary.failed:
        summary.not_started = len(todo)
        return
    if not todo:
        return
    by_id = {item.id: item for item in todo}
    out_root = settings.out_dir.resolve()  # once: resolving per card cost ~0.3 ms of lstat calls
    executor = started or _executor(settings, len(todo))
    try:
        cancelled = False
        while executor.in_flight() or (todo and not cancelled):
            while todo and not cancelled and executor.in_flight() < executor.capacity:
                executor.submit(_job(todo.popleft(), settings, manifest, out_root))
            for outcome in executor.wait(0.25):
                _land(by_id[outcome.id], outcome, out_root, manifest, progress, summary)
            halt = stop.requested or (settings.fail_fast and summary.failed > 0)
            if halt and not cancelled:
                cancelled = True
                executor.cancel()
        summary.interrupted = stop.requested
    finally:
        executor.close()
        summary.not_started = len(items) - summary.rendered - summary.skipped - summary.failed


def _foreign(output: str, out_dir: Path, manifest: Manifest) -> bool:
    """A file (or anything) already at `output` that no batch into OUT_DIR wrote."""
    return not manifest.knows(output) and os.path.lexists(out_dir / output)


def _not_ours(out_dir: Path, output: str) -> ErrorInfo:
    message = (
        f"{out_dir / output} exists, and the manifest has no record of a batch writing it: "
        "not replaced. Remove it, or pass --force to replace it."
    )
    return ErrorInfo("FileExistsError", message, (("", message),))


def _executor(settings: Settings, n: int) -> Executor:
    jobs = max(1, min(settings.jobs, n))
    if settings.executor == "dask":
        return DaskExecutor(settings.scheduler, settings.jobs)
    return InProcessExecutor() if jobs == 1 else PoolExecutor(jobs, _chunk(settings))


def _chunk(settings: Settings) -> int:
    """Jobs per hand-over: one under --fail-fast, which then stops within a job per worker of
    the first failure (eight at a time drew dozens of cards past it), at the cost of a
    hand-over per card (~0.2 ms of the parent's time)."""
    return 1 if settings.fail_fast else CHUNK


def _job(item: Item, settings: Settings, manifest: Manifest, out_root: Path) -> Any:
    assert item.job is not None
    # Local worker processes write their own files (atomically): the parent then only records
    # the manifest, instead of receiving and writing every card itself, which made it the
    # bottleneck for small cards. Dask workers write only when told the folder is shared.
    local_pool = settings.executor == "local" and settings.jobs > 1
    if not (settings.write_on_workers or local_pool):
        return item.job
    manifest.forget(item.output)  # the worker may replace the file at any moment now
    return dataclasses.replace(item.job, dest=item.output, out_dir=str(out_root))


def _land(
    item: Item,
    outcome: Outcome,
    out_root: Path,
    manifest: Manifest,
    progress: Progress,
    summary: Summary,
) -> None:
    """Write one finished card (unless a worker did) and record it; or report its failure."""
    if outcome.error is not None:
        _failed(item, outcome.error, progress, summary)
        return
    if outcome.data is not None:
        manifest.forget(item.output)
        try:
            write_inside(out_root, item.output, outcome.data)
        except OSError as e:
            _failed(item, ErrorInfo.of(e), progress, summary)
            return
    manifest.record(
        Entry(item.output, item.key, outcome.sha256, outcome.size, item.source, item.row)
    )
    summary.rendered += 1
    progress.done("rendered")


def _failed(item: Item, error: ErrorInfo, progress: Progress, summary: Summary) -> None:
    summary.failed += 1
    where = item.source + (f" ({item.row})" if item.row else "")
    for pointer, message in error.issues or (("", f"{error.kind}: {error.message}"),):
        summary.errors.append(
            {
                "file": item.source,
                "row": item.row,
                "output": item.output or None,
                "pointer": pointer,
                "message": message,
            }
        )
        progress.error(f"{where}: {Issue(pointer, message)}")
    progress.done("failed")


def print_summary(summary: Summary, as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        print(summary.text())
    sys.stdout.flush()
