"""Batch jobs: a `Job` record kept on disk, a runner that draws its items on the render pool, and
the callback that tells a client when it is done.

Layout of the jobs folder (`ServerConfig.jobs_folder()`, created with mode 0700):

    <jobs>/<id>/job.json        the record: status, counts, times, each item's outcome, callback
    <jobs>/<id>/<index>.<ext>   an item's image, when the job has no storage `output`
    <jobs>/.owners/<token>.lock held (flock) by the server process running the job, while it lives

Every change to a job is written to `job.json` at once (temporary file, then rename), so any
process reading the folder sees a whole record, and a GET answered by another uvicorn worker of
the same `renderer serve` sees the same progress. A job records the token of the process that
runs it. A process that finds an unfinished job (at start-up, or when the job is read) checks the
owner's lock: if no process holds it, the owner is gone (stopped, killed, crashed) and the job is
marked `failed` with a reason. Items already drawn keep their results. A server that stops
normally marks its own unfinished jobs the same way before it exits. A job is never resumed: its
specs are not kept on disk.

Items run on the server's `RenderPool` (same workers, deadlines and memory caps as
`/api/v1/image`), at most one per render worker at a time across all jobs, so a batch never fills
the queue that interactive requests wait in, and a waiting `/api/v1/image` request gets the next
free worker. A full queue (`PoolBusy`) makes an item wait and try again, never fail; a worker
that dies under an item is replaced and the item tried once more.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import fcntl
import hashlib
import hmac
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from renderer import __version__
from renderer.batch.work import write_atomic as write_output
from renderer.files import write_atomic
from renderer.net import FetchError, post
from renderer.policy import ImagePolicy

from .batch import BatchRequest, PlannedItem
from .pool import PoolBusy, RenderFailed, RenderPool, RenderTimeout, WorkerCrashed
from .storage import StorageRefused

__all__ = ["ID_PATTERN", "Job", "JobRunner", "JobStore", "iso_now", "new_job_id", "sign_callback"]

log = logging.getLogger("renderer.server")

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
STOPPED = "The server stopped before this job finished; it will not be resumed."
_BUSY_WAIT = 0.2  # s between tries when the render queue is full
_PRUNE_EVERY = 60.0  # s: the most often new jobs trigger a look for expired ones


def _parse_iso(stamp: str) -> float:
    """Seconds since the epoch of an `iso_now()` stamp (0 for anything unreadable: old)."""
    try:
        parsed = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")
    except (TypeError, ValueError):
        return 0.0
    return parsed.replace(tzinfo=timezone.utc).timestamp()


def iso_now() -> str:
    """UTC time as `2026-11-21T09:51:27.123Z`."""
    stamp = datetime.now(timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


@dataclass(slots=True)
class Job:
    """One batch job as stored. `items` holds each item's outcome as the API shows it (without
    image data), or `{"index", "status": "pending"}`."""

    id: str
    bucket: str  # the creating key's rate-limit identity (a digest, never the key)
    owner: str  # token of the server process running it
    created: str
    format: str  # file extension of the images
    content_type: str
    items: list[dict[str, Any]]
    status: str = "queued"  # queued | running | done | failed
    finished: str | None = None
    error: str | None = None  # why the job failed
    output: str | None = None  # storage://NAME/path/ when the files go to storage
    callback: dict[str, Any] | None = None  # {"url", "status", "attempts": [...]}

    @property
    def unfinished(self) -> bool:
        return self.status in ("queued", "running")

    def counts(self) -> tuple[int, int]:
        ok = sum(1 for i in self.items if i["status"] == "ok")
        return ok, sum(1 for i in self.items if i["status"] == "error")

    def summary(self) -> dict[str, Any]:
        """The API's view without image data: what the callback receives."""
        completed, failed = self.counts()
        view: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "total": len(self.items),
            "completed": completed,
            "failed": failed,
            "created": self.created,
            "finished": self.finished,
        }
        if self.error:
            view["error"] = self.error
        if self.output:
            view["output"] = self.output
        view["items"] = [dict(i) for i in self.items]
        return view

    def fail_unfinished(self, reason: str) -> None:
        """Mark the job failed; items not drawn yet become errors saying so."""
        self.status, self.error, self.finished = "failed", reason, iso_now()
        for i, item in enumerate(self.items):
            if item["status"] == "pending":
                self.items[i] = {
                    "index": i,
                    "status": "error",
                    "error": "Not rendered",
                    "details": [{"pointer": "", "message": reason}],
                }
        if self.callback and self.callback["status"] == "pending":
            self.callback["status"] = "failed"

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Job:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


class JobStore:
    """The jobs folder. `load` and `write` block (call them in a thread).

    A finished job (done or failed, its callback settled) is removed with its images once it
    has been finished for `retention` seconds: at start-up, and at most once a minute as new jobs
    arrive. A long-running server would otherwise fill its disk with every image it ever drew
    for a batch. Files a job wrote to storage are the client's and are never touched."""

    def __init__(self, folder: Path, retention: float = 7 * 24 * 3600) -> None:
        self.folder = folder
        self.retention = retention
        self.token = uuid.uuid4().hex
        self._lock_file: TextIO | None = None
        self._pruned = 0.0  # time.monotonic() of the last prune

    def open(self) -> None:
        """Create the folder, hold this process's owner lock, and fail jobs of dead owners."""
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        owners = self.folder / ".owners"
        owners.mkdir(mode=0o700, exist_ok=True)
        self._lock_file = (owners / f"{self.token}.lock").open("w")
        fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for path in sorted(self.folder.glob("*/job.json")):
            self.load(path.parent.name)  # marks an orphaned unfinished job failed
        self.prune()

    def prune(self, now: datetime | None = None) -> int:
        """Remove finished jobs older than `retention`; how many went."""
        self._pruned = time.monotonic()
        cutoff = (now or datetime.now(timezone.utc)).timestamp() - self.retention
        removed = 0
        for path in sorted(self.folder.glob("*/job.json")):
            job = self.load(path.parent.name)
            if job is None or job.unfinished or job.finished is None:
                continue
            if job.callback is not None and job.callback["status"] == "pending":
                continue  # still being delivered
            if _parse_iso(job.finished) < cutoff:
                shutil.rmtree(path.parent, ignore_errors=True)  # another process may race us
                removed += 1
        if removed:
            log.info(
                "removed %d finished job(s) older than %g hours", removed, self.retention / 3600
            )
        return removed

    def prune_if_due(self) -> None:
        if time.monotonic() - self._pruned >= _PRUNE_EVERY:
            self.prune()

    def close(self) -> None:
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                (self.folder / ".owners" / f"{self.token}.lock").unlink()
            self._lock_file.close()
            self._lock_file = None

    def owner_alive(self, token: str) -> bool:
        if token == self.token:
            return True
        if not re.fullmatch(r"[0-9a-f]{32}", token):
            return False
        try:
            with (self.folder / ".owners" / f"{token}.lock").open("r") as f:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(f, fcntl.LOCK_UN)
        except OSError:
            pass
        return False

    def job_dir(self, job_id: str) -> Path:
        return self.folder / job_id

    def image_path(self, job: Job, index: int) -> Path:
        return self.job_dir(job.id) / f"{index}.{job.format}"

    def write(self, job: Job) -> None:
        """Replace `job.json` whole (temporary file, then rename)."""
        folder = self.job_dir(job.id)
        folder.mkdir(mode=0o700, exist_ok=True)
        data = json.dumps(dataclasses.asdict(job), ensure_ascii=False).encode()
        write_atomic(folder / "job.json", data, private=True)

    def load(self, job_id: str) -> Job | None:
        """The job, or None; an unfinished job whose owner is gone is marked failed first."""
        if not ID_PATTERN.fullmatch(job_id):
            return None
        try:
            job = Job.from_dict(json.loads((self.job_dir(job_id) / "job.json").read_bytes()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as e:
            log.warning("unreadable job record %s: %s", job_id, e)
            return None
        orphaned_callback = job.callback is not None and job.callback["status"] == "pending"
        if (job.unfinished or orphaned_callback) and not self.owner_alive(job.owner):
            if job.unfinished:
                job.fail_unfinished(STOPPED)
            elif job.callback is not None:
                job.callback["status"] = "failed"
            self.write(job)
        return job

    def view(self, job: Job) -> dict[str, Any]:
        """The API's view: the summary plus each image as base64 (when not in storage)."""
        body = job.summary()
        for n, item in enumerate(body["items"]):
            if item["status"] == "ok" and "path" not in item:
                try:
                    data = self.image_path(job, item["index"]).read_bytes()
                except OSError as e:  # removed from the jobs folder by someone else
                    reason = f"The image is no longer in the jobs folder: {_os_reason(e)}."
                    body["items"][n] = {
                        "index": item["index"],
                        "status": "error",
                        "error": "Image lost",
                        "details": [{"pointer": "", "message": reason}],
                    }
                    continue
                item["base64_data"] = base64.b64encode(data).decode("ascii")
        if job.callback is not None:
            body["callback"] = job.callback
        return body


@dataclass(slots=True)
class _Running:
    job: Job
    task: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class JobRunner:
    """Runs jobs in the background of one server process."""

    def __init__(
        self,
        store: JobStore,
        pool: Callable[[], Coroutine[Any, Any, RenderPool]],
        policy: ImagePolicy,
        *,
        slots: int,
        callback_retries: int,
        callback_backoff: float,
        callback_timeout: float,
        callback_secret: str = "",
    ) -> None:
        self.store = store
        self.callback_secret = callback_secret
        self._pool = pool
        self.policy = policy
        self.slots = asyncio.Semaphore(max(1, slots))
        self.callback_retries = callback_retries
        self.callback_backoff = callback_backoff
        self.callback_timeout = callback_timeout
        self._running: dict[str, _Running] = {}

    @property
    def active(self) -> int:
        return sum(1 for r in self._running.values() if r.job.unfinished)

    async def submit(self, job: Job, request: BatchRequest, base_dir: str | None) -> None:
        """Record the job and start it; returns once `job.json` exists."""
        await asyncio.to_thread(self.store.prune_if_due)
        await asyncio.to_thread(self.store.write, job)
        running = _Running(job)
        self._running[job.id] = running
        task = asyncio.get_running_loop().create_task(self._run(running, request, base_dir))
        running.task = task
        task.add_done_callback(lambda _: self._running.pop(job.id, None))

    async def _save(self, running: _Running) -> None:
        async with running.lock:  # one writer at a time, each writing the latest state
            await asyncio.to_thread(self.store.write, running.job)

    async def _run(self, running: _Running, request: BatchRequest, base_dir: str | None) -> None:
        job = running.job
        job.status = "running"
        await self._save(running)
        work = [i for i in request.items if i.spec is not None]
        await asyncio.gather(*(self._item(running, request, i, base_dir) for i in work))
        job.status, job.finished = "done", iso_now()
        await self._save(running)
        log.info("job %s done: %d ok, %d failed", job.id, *job.counts())
        if job.callback is not None:
            await self._deliver(running)

    async def _item(
        self, running: _Running, request: BatchRequest, item: PlannedItem, base_dir: str | None
    ) -> None:
        job = running.job
        async with self.slots:
            outcome = await self._render(request, item, base_dir)
        if isinstance(outcome, bytes):
            try:
                job.items[item.index] = await asyncio.to_thread(
                    self._keep, job, request, item, outcome
                )
            except (OSError, StorageRefused) as e:
                log.warning("job %s item %d not written: %s", job.id, item.index, e)
                reason = f"The image could not be written: {_os_reason(e)}."
                job.items[item.index] = item.failed("Not written", [{"message": reason}]).as_dict(
                    item.index
                )
        else:
            job.items[item.index] = outcome
        await self._save(running)

    async def _render(
        self, request: BatchRequest, item: PlannedItem, base_dir: str | None
    ) -> bytes | dict[str, Any]:
        pool = await self._pool()
        crashes = 0
        while True:
            try:
                result = await pool.render(
                    item.spec,
                    request.format.value,
                    request.scale,
                    request.quality,
                    base_dir,
                    self.policy,
                    item.variables,
                )
            except PoolBusy:
                await asyncio.sleep(_BUSY_WAIT)
                continue
            except RenderTimeout:
                message = f"The render passed the {pool.timeout:g} s deadline."
                return item.failed("Render timed out", [{"message": message}]).as_dict(item.index)
            except WorkerCrashed:
                # Once more on a fresh worker: the death may not be this item's doing (an OOM
                # kill of a neighbour, or a stop signal sent to the whole process group, where
                # the retry waits until the server's shutdown records the job as stopped).
                crashes += 1
                if crashes < 2:
                    continue
                message = "The render worker died twice on this item."
                return item.failed("Render failed", [{"message": message}]).as_dict(item.index)
            if isinstance(result, RenderFailed):
                details = result.issues or [{"message": result.error}]
                return item.failed(result.error, details).as_dict(item.index)
            return result

    def _keep(
        self, job: Job, request: BatchRequest, item: PlannedItem, data: bytes
    ) -> dict[str, Any]:
        """Write one image (storage, under its ownership rules, or the job's folder) and return
        the item's outcome."""
        output = request.output
        outcome: dict[str, Any] = {
            "index": item.index,
            "status": "ok",
            "content_type": job.content_type,
            "name": item.name,
        }
        if output is None:
            write_output(self.store.image_path(job, item.index), data)
        else:
            output.write(item.name, data, bucket=job.bucket, overwrite=request.overwrite)
            outcome["path"] = output.file_url(item.name)
        return outcome

    async def _deliver(self, running: _Running) -> None:
        """POST the summary to the callback URL; retry with doubling waits; record each try."""
        job = running.job
        assert job.callback is not None
        body = json.dumps(job.summary(), ensure_ascii=False).encode()
        agent = f"renderer/{__version__} (job callback)"
        for attempt in range(self.callback_retries + 1):
            if attempt:
                await asyncio.sleep(self.callback_backoff * 2 ** (attempt - 1))
            record: dict[str, Any] = {"at": iso_now()}
            headers = sign_callback(self.callback_secret, body) if self.callback_secret else {}
            try:
                status = await asyncio.to_thread(
                    post,
                    job.callback["url"],
                    body,
                    self.policy,
                    self.callback_timeout,
                    agent,
                    headers,
                )
                record["status"] = status
            except FetchError as e:
                record["error"] = str(e)
                status = 0
            job.callback["attempts"].append(record)
            if 200 <= status < 300:
                job.callback["status"] = "delivered"
                await self._save(running)
                return
            await self._save(running)
        job.callback["status"] = "failed"
        await self._save(running)
        log.warning("job %s: callback not delivered after %d attempts", job.id, attempt + 1)

    async def close(self) -> None:
        """Stop every running job and record it as failed (the server is stopping)."""
        running = list(self._running.values())
        for r in running:
            if r.task is not None:
                r.task.cancel()
        await asyncio.gather(*(r.task for r in running if r.task), return_exceptions=True)
        for r in running:
            if r.job.unfinished:
                r.job.fail_unfinished(STOPPED)
            elif r.job.callback is not None and r.job.callback["status"] == "pending":
                r.job.callback["status"] = "failed"
            with contextlib.suppress(OSError):
                self.store.write(r.job)


def _os_reason(e: Exception) -> str:
    if isinstance(e, OSError):
        return e.strerror or type(e).__name__
    return str(e)


def sign_callback(secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """The headers that let a receiver check a callback came from this server, unaltered and
    recently: `Renderer-Timestamp` (Unix seconds) and `Renderer-Signature: v1=<hex>`, the
    HMAC-SHA256 under `secret` of the timestamp, a full stop and the body bytes (the scheme
    Stripe's webhooks use, so a receiver can also refuse replays of old timestamps)."""
    stamp = str(int(time.time() if now is None else now))
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Renderer-Timestamp": stamp, "Renderer-Signature": f"v1={mac}"}


def new_job_id() -> str:
    return uuid.uuid4().hex
