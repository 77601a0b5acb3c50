"""`render_many`: many cards on worker processes, each result in input order.

It lives with the batch executors it drives, so `renderer.api` (one card) and `renderer.batch`
(many) do not import each other: `batch.work` calls `api.render` in each worker. Importing this
module is light; the executors load when it is first called.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..encode import Format, check_quality
from ..limits import DEFAULT_LIMITS, Limits
from ..policy import DEFAULT_POLICY, ImagePolicy, StrPath
from ..spec import SpecInput, load_document

__all__ = ["render_many"]


def render_many(
    specs_or_rows: Iterable[Any],
    format: str | Format = "png",
    *,
    jobs: int | None = None,
    template: SpecInput | None = None,
    variables: Mapping[str, object] | None = None,
    scale: float = 1.0,
    quality: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: StrPath | None = None,
    image_policy: ImagePolicy = DEFAULT_POLICY,
    fonts: Iterable[StrPath] = (),
) -> Iterator[bytes | Exception]:
    """Render many cards on `jobs` worker processes; yield each result in input order.

    Without `template`, each item is a spec (anything `render` takes). With `template`, each item
    is a mapping of variables (a row) for that one template. `variables` fills every item (a row's
    own values win). Each yielded value is the image bytes or the exception `render` would have
    raised for that item, so one bad item never stops the rest. `jobs` defaults to the usable
    cores; 1 renders in this process. Worker processes load fonts once and live as long as the
    iteration. A bad `format`, `quality` or `template` raises at once, before any work.
    `base_dir` and `image_policy` are as for `render`; a template read from a path keeps its
    folder, and each spec read from a path its own. `fonts`: font files and folders to
    register (as `render`'s), loaded once in each worker.
    """
    fmt = Format.parse(format)
    check_quality(quality)
    from .executors import InProcessExecutor, PoolExecutor, usable_cores
    from .work import Job

    tpl: Any = None
    if template is not None:
        tpl, folder = load_document(template, limits)
        base_dir = folder if base_dir is None else base_dir
    options: dict[str, Any] = {
        "format": fmt.value,
        "scale": scale,
        "quality": quality,
        "limits": limits,
        "base_dir": None if base_dir is None else str(base_dir),
        "image_policy": image_policy,
        "fonts": tuple(str(f) for f in fonts),
    }

    def job(i: int, item: Any) -> tuple[int, Job | Exception]:
        if tpl is None:
            return i, Job(i, item, variables=variables, **options)
        if not isinstance(item, Mapping):
            msg = f"Row {i + 1} must be a mapping of names to values. Received: {type(item)}."
            return i, ValueError(msg)
        return i, Job(i, tpl, variables={**(variables or {}), **item}, **options)

    workers = jobs or usable_cores()
    return _ordered(
        (job(i, item) for i, item in enumerate(specs_or_rows)),
        lambda: InProcessExecutor() if workers == 1 else PoolExecutor(workers),
    )


def _ordered(jobs: Iterator[tuple[int, Any]], start: Any) -> Iterator[bytes | Exception]:
    """Run jobs with a bounded number in flight and yield results in submission order."""
    executor = start()
    ready: dict[int, bytes | Exception] = {}
    next_id = 0
    try:
        exhausted = False
        while not exhausted or executor.in_flight() or ready:
            while not exhausted and executor.in_flight() < executor.capacity:
                item = next(jobs, None)
                if item is None:
                    exhausted = True
                elif isinstance(item[1], Exception):
                    ready[item[0]] = item[1]
                else:
                    executor.submit(item[1])
            for outcome in executor.wait(0.5):
                err = outcome.error
                ready[outcome.id] = err.exception() if err else outcome.data or b""
            while next_id in ready:
                yield ready.pop(next_id)
                next_id += 1
    finally:
        executor.cancel()
        executor.close()
