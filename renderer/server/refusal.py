"""A request refused with a Craftr error, and what a render on the worker pool can end in.

Shared by the routes (`asgi` and `og`): each raises `Refusal` at the gate that fails and turns it
into one JSON response, `{"error": ..., "details": ...}`, with the headers gathered so far.
`rate_limited` is the 429 of a used-up quota, and `render_on_pool` the one place that maps
the pool's outcomes to statuses: busy, past the
deadline or a crashed worker → 503 with `Retry-After`; an error the worker reports (a bad spec,
a bad image) → its status and issues.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, overload

from starlette.responses import JSONResponse

from renderer.policy import ImagePolicy

from .config import Plan
from .pool import PoolBusy, RenderFailed, RenderPool, RenderTimeout, WorkerCrashed
from .ratelimit import Quota

__all__ = ["Refusal", "rate_limited", "render_on_pool"]


class Refusal(Exception):
    """A request refused with a Craftr error; caught once per route."""

    def __init__(
        self,
        status: int,
        error: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.details = status, error, details
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self, headers: Mapping[str, str]) -> JSONResponse:
        body: dict[str, Any] = {"error": self.error, **self.extra}
        if self.details is not None:
            body["details"] = self.details
        return JSONResponse(body, self.status, headers={**headers, **self.headers})


def rate_limited(
    quota: Quota, plan: Plan, now: float, extra: Mapping[str, int] | None = None
) -> Refusal:
    """429 for a used-up quota: when it resets, as `Retry-After` and `retryAfter`."""
    return Refusal(
        429,
        "Rate limit exceeded",
        {"plan": plan.name, "limit": quota.limit, **(extra or {})},
        headers={"Retry-After": str(max(1, math.ceil(quota.reset_at - now)))},
        extra={"retryAfter": quota.retry_after_iso()},
    )


@overload
async def render_on_pool(
    pool: RenderPool,
    spec: bytes | dict[str, Any],
    fmt: str,
    scale: float,
    quality: int | None,
    base_dir: str | None,
    policy: ImagePolicy,
    *,
    report: Literal[False] = ...,
) -> bytes: ...


@overload
async def render_on_pool(
    pool: RenderPool,
    spec: bytes | dict[str, Any],
    fmt: str,
    scale: float,
    quality: int | None,
    base_dir: str | None,
    policy: ImagePolicy,
    *,
    report: bool,
) -> bytes | tuple[bytes, dict[str, Any]]: ...


async def render_on_pool(
    pool: RenderPool,
    spec: bytes | dict[str, Any],
    fmt: str,
    scale: float,
    quality: int | None,
    base_dir: str | None,
    policy: ImagePolicy,
    *,
    report: bool = False,
) -> bytes | tuple[bytes, dict[str, Any]]:
    """The image (with `report`, the image and its render report), or a `Refusal` saying why
    not (see the module docstring)."""
    try:
        result = await pool.render(spec, fmt, scale, quality, base_dir, policy, report=report)
    except PoolBusy:
        raise Refusal(
            503, "Server busy: every render worker is in use", headers={"Retry-After": "1"}
        ) from None
    except RenderTimeout:
        raise Refusal(
            503,
            "Render timed out",
            {"deadlineSeconds": pool.timeout},
            headers={"Retry-After": "1"},
        ) from None
    except WorkerCrashed:
        raise Refusal(
            503, "Render worker failed; it has been replaced", headers={"Retry-After": "1"}
        ) from None
    if isinstance(result, RenderFailed):
        details = {"issues": result.issues} if result.issues else None
        retry = {"Retry-After": "1"} if result.status == 503 else {}
        raise Refusal(result.status, result.error, details, headers=retry)
    return result
