"""The render worker process: receives jobs on a pipe, renders, sends back bytes or an error.

Renders run here, not in the server, because cairo, libjpeg and libavif are C code that Python
cannot interrupt: the only way to stop a runaway render is to kill its process. Each worker caps
its address space with `RLIMIT_AS` (`ServerConfig.worker_memory_mb`, default 2 GiB: the largest
card the default `Limits` allow, 4096×4096, peaks near 1.2 GiB of address space while encoding), so
a hostile spec fails with `MemoryError` in its worker instead of pushing the machine into swap.

Messages (pickled tuples): the worker sends `("ready",)` once its fonts are warm; a job is
`(spec: bytes | dict, format: str, scale: float, quality: int | None, base_dir: str | None,
policy: ImagePolicy[, report: bool])` (a dict is a batch item as the strict reader left it); the
answer is `("ok", image: bytes)`, `("ok", image, report: dict)` when the job asked for the render
report, or `("error", status: int, error: str, issues: list[dict])`.
"""

from __future__ import annotations

import json
import sys
import traceback
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from renderer import parallel
from renderer.policy import ImagePolicy

__all__ = ["WARMUP_SPEC", "render_job", "worker_main"]

WARMUP_SPEC: dict[str, Any] = {
    "width": 64,
    "height": 32,
    "components": [{"type": "text", "text": "Warm up", "fontSize": 12}],
}


def _limit_memory(memory_mb: int) -> None:
    import resource

    cap = memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def render_job(job: tuple[Any, ...]) -> tuple[Any, ...]:
    """Run one job; every outcome is a message, so the worker itself never dies of bad input."""
    import renderer
    from renderer import FontError, RenderError, ResourceError, SpecError

    spec, fmt, scale, quality, base_dir, policy, *rest = job
    try:
        data, report = renderer.render(
            spec,
            fmt,
            scale=scale,
            quality=quality,
            base_dir=Path(base_dir) if base_dir else None,
            image_policy=policy,
            report=True,
        )
    except SpecError as e:
        return ("error", 400, "Invalid parameters", [i.as_dict() for i in e.issues])
    except FontError:
        traceback.print_exc(file=sys.stderr)
        return ("error", 500, "Internal server error", [])
    except ResourceError as e:
        return ("error", 400, "Invalid image", [i.as_dict() for i in e.issues])
    except MemoryError:
        return ("error", 503, "The render needed more memory than a worker may use", [])
    except RenderError:
        traceback.print_exc(file=sys.stderr)
        return ("error", 500, "Internal server error", [])
    except ValueError as e:  # e.g. quality out of range
        return ("error", 400, "Invalid parameters", [{"pointer": "", "message": str(e)}])
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return ("error", 500, "Internal server error", [])
    return ("ok", data, report.to_dict()) if rest and rest[0] else ("ok", data)


def worker_main(conn: Connection, memory_mb: int) -> None:
    """Entry point of a worker process (started by `RenderPool` with forkserver or spawn)."""
    _limit_memory(memory_mb)
    parallel.set_threads(1)  # the pool keeps a worker per core busy: no helper thread per card
    render_job((json.dumps(WARMUP_SPEC).encode(), "png", 1.0, None, None, ImagePolicy.server()))
    conn.send(("ready",))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the server closed the pipe: shut down
        try:
            answer = render_job(job)
        except MemoryError:  # raised while building the answer itself
            answer = ("error", 503, "The render needed more memory than a worker may use", [])
        try:
            conn.send(answer)
        except (OSError, ValueError):
            return
