"""A request refused with a Craftr error, and what a render on the worker pool can end in.

Shared by the routes (`asgi` and `og`): each raises `Refusal` at the gate that fails and turns it
into one JSON response, `{"error": ..., "details": {"issues": [...], ...}}`, with the headers
gathered so far. `details.issues` is always there (issue 12: clients parse one shape): a list of
`{"pointer", "message"}`, plus `parameter` or `header` when the issue is about a query parameter
or a request header; other keys of `details` (`limit`, `plan`, `deadlineSeconds`, …) stay beside
it. `rate_limited` is the 429 of a used-up quota, and `on_pool` the one place that maps the
pool's outcomes to statuses (`render_on_pool` and `check_on_pool` go through it): busy, past the
deadline or a crashed worker → 503 with `Retry-After`; an error the worker reports (a bad spec,
a bad image, out of memory) → its status and issues.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping
from typing import Any, Literal, TypeVar, overload

from starlette.requests import Request
from starlette.responses import JSONResponse

from renderer.policy import ImagePolicy

from .config import Plan
from .pool import PoolBusy, RenderFailed, RenderPool, RenderTimeout, WorkerCrashed
from .ratelimit import Quota

__all__ = [
    "Refusal",
    "check_on_pool",
    "error_body",
    "issue",
    "on_pool",
    "rate_limited",
    "render_on_pool",
    "request_id",
    "too_many_components",
]

_T = TypeVar("_T")


class Refusal(Exception):
    """A request refused with a Craftr error; caught once per route. `details` always gets an
    `issues` list: the one given, or one issue saying `message` (default: `error`) about the
    whole request."""

    def __init__(
        self,
        status: int,
        error: str,
        details: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        message: str | None = None,
    ) -> None:
        super().__init__(error)
        self.status, self.error = status, error
        self.details: dict[str, Any] = {**issue("", message or error), **(details or {})}
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self, headers: Mapping[str, str], request_id: str | None = None) -> JSONResponse:
        """The JSON error; a 5xx (the server's fault, or its load) also names `requestId`, the
        id its log lines carry, as the last-resort 500 does."""
        details = self.details
        if self.status >= 500 and request_id:
            details = {**details, "requestId": request_id}
        body: dict[str, Any] = {"error": self.error, **self.extra, "details": details}
        return JSONResponse(body, self.status, headers={**headers, **self.headers})


def request_id(request: Request) -> str | None:
    """The id `asgi._Hygiene` gave the request (its `X-Request-Id`, and its log lines')."""
    state: dict[str, Any] = request.scope.get("state", {})
    return state.get("request_id")


def issue(pointer: str, message: str, **about: str) -> dict[str, Any]:
    """`details` with one issue; `about` names a `parameter` or `header` it is about."""
    return {"issues": [{"pointer": pointer, **about, "message": message}]}


def error_body(error: str, message: str, **details: Any) -> dict[str, Any]:
    """An error in the documented shape, for responses made outside a route's `Refusal`."""
    return {"error": error, "details": {**issue("", message), **details}}


def too_many_components(plan: Plan, asked: int) -> Refusal:
    """400 for a card over its plan's component limit (POST and /og/ alike)."""
    limit = plan.max_components
    noun = "component" if limit == 1 else "components"
    return Refusal(
        400,
        f"The {plan.name} plan allows at most {limit} {noun} per image",
        {
            "issues": [
                {
                    "pointer": "/components",
                    "message": f"At most {limit} {noun} on the {plan.name} plan, stacks' "
                    f"children included. Received: {asked}.",
                }
            ],
            "limit": limit,
            "plan": plan.name,
        },
    )


def rate_limited(
    quota: Quota, plan: Plan, now: float, extra: Mapping[str, int] | None = None
) -> Refusal:
    """429 for a used-up quota: when it resets, as `Retry-After` and `retryAfter`; `extra` is a
    batch's `requested` and `remaining`."""
    message = f"The {plan.name} plan's {quota.limit} requests are used up until the window renews."
    if extra:
        message = (
            f"This batch needs {extra['requested']} requests; the {plan.name} plan has "
            f"{extra['remaining']} left until the window renews."
        )
    return Refusal(
        429,
        "Rate limit exceeded",
        {"plan": plan.name, "limit": quota.limit, **(extra or {})},
        headers={"Retry-After": str(max(1, math.ceil(quota.reset_at - now)))},
        extra={"retryAfter": quota.retry_after_iso()},
        message=message,
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
    outcome = pool.render(spec, fmt, scale, quality, base_dir, policy, report=report)
    return await on_pool(outcome, pool.timeout)


async def check_on_pool(pool: RenderPool, spec: bytes, scale: float) -> None:
    """Nothing when the engine's spec stage accepts `spec`, else the `Refusal` (a 400 with its
    issues, or the pool's 503s)."""
    await on_pool(pool.check(spec, scale), pool.timeout)


async def on_pool(outcome: Awaitable[_T | RenderFailed], timeout: float) -> _T:
    """What a job on the pool answered, or the `Refusal` its failure (or the pool's) is."""
    retry = {"Retry-After": "1"}
    try:
        result = await outcome
    except PoolBusy:
        raise Refusal(503, "Server busy: every render worker is in use", headers=retry) from None
    except RenderTimeout:
        raise Refusal(
            503,
            "Render timed out",
            {"deadlineSeconds": timeout},
            headers=retry,
            message=f"The render passed the {timeout:g} s deadline (--render-timeout).",
        ) from None
    except WorkerCrashed:
        raise Refusal(503, "Render worker failed; it has been replaced", headers=retry) from None
    if isinstance(result, RenderFailed):
        details = {"issues": result.issues} if result.issues else None
        raise Refusal(
            result.status, result.error, details, headers=retry if result.status == 503 else {}
        )
    return result
