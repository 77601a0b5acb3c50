"""The one page both `renderer preview` and the playground at `GET /` of `renderer serve` show.

One HTML template and one script and style sheet (`static/`), shipped in the package: the two
modes differ only in where a frame comes from (the preview server's `/api/frame`, or
`POST /api/v1/image?report=1`) and in which blocks of the template they keep. The template marks
mode-only blocks with `<!--playground-->…<!--/playground-->`, `<!--preview-->…<!--/preview-->`
and `<!--auth-->…<!--/auth-->` (the API-key field, when the server has keys).

The page runs no inline script and loads nothing from another origin, so it can carry `PAGE_CSP`:
scripts and styles only as files from the server itself, images only from `blob:` URLs the
script makes (and the empty `data:` favicon), requests only to its own origin.
"""

from __future__ import annotations

import html
import re
from functools import cache
from importlib.resources import files
from typing import Literal

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

__all__ = ["PAGE_CSP", "STATIC_TYPES", "page_html", "static_file", "static_response"]

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src blob: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

# What `/static/{name}` may serve: nothing else is reachable, whatever the name says.
STATIC_TYPES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

Mode = Literal["preview", "playground"]
_BLOCK = re.compile(r"<!--(playground|preview|auth)-->(.*?)<!--/\1-->", re.S)


@cache
def static_file(name: str) -> bytes | None:
    """The bytes of one of `STATIC_TYPES`, or None for any other name."""
    if name not in STATIC_TYPES:
        return None
    return (files("renderer.preview") / "static" / name).read_bytes()


def page_html(
    mode: Mode,
    *,
    title: str,
    heading: str,
    auth_required: bool = False,
    example: str = "",
    extra: dict[str, str] | None = None,
) -> str:
    """The page for `mode`. `heading` is HTML (trusted, ours); `title`, `example` and the values
    of `extra` (further `__NAME__` placeholders) are text and escaped here."""
    template = static_file_text("page.html")
    keep = {mode, "auth"} if auth_required else {mode}
    page = _BLOCK.sub(lambda m: m.group(2) if m.group(1) in keep else "", template)
    values = {"MODE": mode, "TITLE": title, "EXAMPLE": example, **(extra or {})}
    for name, value in values.items():
        page = page.replace(f"__{name}__", html.escape(value))
    return page.replace("__HEADING__", heading)


@cache
def static_file_text(name: str) -> str:
    return (files("renderer.preview") / "static" / name).read_text("utf-8")


async def static_response(request: Request) -> Response:
    """`GET /static/{name}`: the page's script and style sheet, nothing else (both servers)."""
    name = str(request.path_params["name"])
    data = static_file(name)
    if data is None:
        return PlainTextResponse("Not found", 404)
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=STATIC_TYPES[name], headers=headers)
