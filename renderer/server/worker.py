"""The render worker process: receives jobs on a pipe, renders, sends back bytes or an error.

Renders run here, not in the server, because cairo, libjpeg and libavif are C code that Python
cannot interrupt: the only way to stop a runaway render is to kill its process. Each worker caps
its address space with `RLIMIT_AS` (`ServerConfig.worker_memory_mb`, default 2 GiB: the largest
card the default `Limits` allow, 4096×4096, peaks near 1.2 GiB of address space while encoding), so
a hostile spec fails with `MemoryError` in its worker instead of pushing the machine into swap.

A worker never serves again after a request that may have left it unhealthy: one that failed for
a reason of our own (a 500 or 503 answer, out of memory included: its state is unknown), came
within 10 % of its address-space cap at any point (where a `MemoryError` may have been caught and
reported as something else, such as an image that "needs more memory than is available", or an
encoder's "Encoding of color planes failed", which is then answered as the 503 it is), or is
left holding more than `recycle_mb` MiB resident (`ServerConfig.worker_recycle_mb`, default 768;
a fresh worker holds about 60 MB, and one that has encoded 4096² AVIF cards settles near 410 MB).
It says so in its answer and exits, and the pool starts a fresh one in its place, so a memory
bomb cannot leave a bloated worker behind to fail the next, ordinary request (issue 11: a worker
kept 1.5 GB after an image bomb and the next 4096² AVIF card got a 500).

Messages (pickled): the worker sends `("ready",)` once its fonts are warm; a job is a `RenderJob`;
the answer is `(retire: bool, result)` where `result` is `("ok", image: bytes)`,
`("ok", image, report: dict)` when the job asked for the render report, or
`("error", status: int, error: str, issues: list[dict])`.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypedDict

from renderer import parallel
from renderer.batch.work import watch_parent
from renderer.policy import ImagePolicy

__all__ = ["WARMUP_SPEC", "Packed", "RenderJob", "memory_mb", "render_job", "worker_main"]

WARMUP_SPEC: dict[str, Any] = {
    "width": 64,
    "height": 32,
    "components": [{"type": "text", "text": "Warm up", "fontSize": 12}],
}
_OUT_OF_MEMORY: tuple[Any, ...] = (
    "error",
    503,
    "The render needed more memory than a worker may use",
    [],
)


@dataclass(frozen=True, slots=True)
class Packed:
    """A document as the strict reader left it, pickled: a batch item is held this way while
    its job waits, since parsed JSON takes up to 50 times the bytes of its text (pickle keeps
    the reader's duplicate keys and bad literals, which JSON text would lose)."""

    data: bytes

    @classmethod
    def of(cls, document: Any) -> Packed:
        """Pickled without a memo ("fast" mode): a JSON document is a tree, and the memo of a
        million small objects would take more memory than the objects themselves."""
        out = io.BytesIO()
        pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = True
        pickler.dump(document)
        return cls(out.getvalue())

    def open(self) -> Any:
        return pickle.loads(self.data)  # only ever pickled by this server


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One render. `spec` is a request body, or a document as the strict reader left it (a batch
    item); with `variables` it is a template this worker fills first (under
    `Limits.max_filled_bytes`), so a batch's filled cards never exist in the server process.
    `check_only`: run the spec stage and answer `("ok", b"")` without drawing. `report`: answer
    the render report too (`Report.to_dict()`). `threads`: 2 when the pool found every other
    worker idle, so a lone request draws with the helper thread (`renderer.parallel`) and is
    not left at one core's speed while the other idles; the bytes are the same either way."""

    spec: bytes | dict[str, Any] | Packed
    format: str
    scale: float = 1.0
    quality: int | None = None
    base_dir: str | None = None
    policy: ImagePolicy = ImagePolicy.server()
    variables: Mapping[str, object] | None = None
    check_only: bool = False
    report: bool = False
    threads: int = 1


def _limit_memory(memory_mb: int) -> None:
    import resource

    cap = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def memory_mb() -> tuple[float, float]:
    """This process's resident memory now and its peak address space, MiB (`VmRSS`, `VmPeak`;
    the peak resident memory for both where /proc is missing)."""
    found: dict[bytes, float] = {}
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                key = line.split(b":", 1)[0]
                if key in (b"VmRSS", b"VmPeak"):
                    found[key] = int(line.split()[1]) / 1024
    except OSError:
        pass
    if len(found) == 2:
        return found[b"VmRSS"], found[b"VmPeak"]
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    peak_mb = peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024
    return peak_mb, peak_mb


_FONTS: tuple[str, ...] = ()  # the operator's --font-dir fonts, set once per worker


class _Options(TypedDict):
    """`renderer.render`'s keywords for a job, the same with and without its report."""

    scale: float
    quality: int | None
    base_dir: Path | None
    variables: Mapping[str, object] | None
    image_policy: ImagePolicy
    fonts: tuple[str, ...] | None


def render_job(job: RenderJob) -> tuple[Any, ...]:
    """Run one job; every outcome is a message, so the worker itself never dies of bad input."""
    import renderer
    from renderer import FontError, RenderError, ResourceError, SpecError
    from renderer.errors import FontLoadError

    try:
        spec = job.spec.open() if isinstance(job.spec, Packed) else job.spec
        if job.check_only:
            renderer.validate(spec, scale=job.scale, fonts=_FONTS or None)
            return ("ok", b"")
        options = _Options(
            scale=job.scale,
            quality=job.quality,
            base_dir=Path(job.base_dir) if job.base_dir else None,
            variables=job.variables,
            image_policy=job.policy,
            fonts=_FONTS or None,
        )
        if job.report:
            data, report = renderer.render(spec, job.format, report=True, **options)
            return ("ok", data, report.to_dict())
        image = renderer.render(spec, job.format, **options)  # no report: 2-5 % of a render
    except SpecError as e:
        return ("error", 400, "Invalid parameters", [i.as_dict() for i in e.issues])
    except FontLoadError as e:  # a card's own font: unreadable, not a font, or refused by OTS
        return ("error", 400, "Invalid font", [i.as_dict() for i in e.issues])
    except FontError:
        traceback.print_exc(file=sys.stderr)
        return ("error", 500, "Internal server error", [])
    except ResourceError as e:
        return ("error", 400, "Invalid image", [i.as_dict() for i in e.issues])
    except MemoryError:
        return _OUT_OF_MEMORY
    except RenderError:
        traceback.print_exc(file=sys.stderr)
        return ("error", 500, "Internal server error", [])
    except ValueError as e:  # e.g. quality out of range
        return ("error", 400, "Invalid parameters", [{"pointer": "", "message": str(e)}])
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return ("error", 500, "Internal server error", [])
    return ("ok", image)


def _judge(result: tuple[Any, ...], cap_mb: int, recycle_mb: float) -> tuple[tuple[Any, ...], bool]:
    """The answer to send for `result`, and whether this worker must stop after it. A worker
    retires as soon as it came within 10 % of its cap (`VmPeak` never falls, so this request is
    the one that did), and then a 500 is an out-of-memory 503: libavif and libwebp report a
    failed allocation as an encoding error ("Encoding of color planes failed")."""
    resident, peak = memory_mb()
    near_cap = peak > 0.9 * cap_mb
    if near_cap and result[0] == "error" and result[1] == 500:
        result = _OUT_OF_MEMORY
    ours = result[0] == "error" and result[1] >= 500  # our own failure: state unknown
    return result, ours or near_cap or resident > recycle_mb


def worker_main(
    conn: Connection,
    memory_mb_cap: int,
    recycle_mb: float,
    alive: Connection | None = None,
    font_dirs: tuple[str, ...] = (),
) -> None:
    """Entry point of a worker process (started by `RenderPool` with forkserver or spawn)."""
    global _FONTS
    _FONTS = font_dirs
    _limit_memory(memory_mb_cap)
    if alive is not None:
        watch_parent(alive)  # a killed server leaves no worker behind, even mid-render
    parallel.set_threads(1)  # the pool keeps a worker per core busy: no helper thread per card
    render_job(RenderJob(json.dumps(WARMUP_SPEC).encode(), "png"))
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server closed the pipe: shut down
        parallel.set_threads(job.threads)
        try:
            result, retire = _judge(render_job(job), memory_mb_cap, recycle_mb)
        except MemoryError:  # raised while building the answer itself
            result, retire = _OUT_OF_MEMORY, True
        try:
            conn.send((retire, result))
        except (OSError, ValueError):
            return
        if retire:
            return
