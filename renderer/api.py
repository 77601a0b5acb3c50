"""The Python entry points for one card: `render`, `render_async`, `validate`, `lay_out_spec`
(`render_many`, for many, is in `renderer.batch.many`).

Each call runs the whole pipeline: spec → resources → layout → scene → SVG → raster → encode.
Safe to call from many threads at once: every stage builds new values, and the only shared state
(font faces, glyph outlines, shaped-text and decoded-image caches) is immutable once built or
guarded by a lock.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar, overload

from . import memory
from .budget import check_card, check_layout
from .deadline import check as check_deadline
from .deadline import check_timeout, deadline
from .encode import Compression, Format, check_quality, encode
from .errors import TIMEOUT_ERRORS, OutOfMemory, RenderTimeout, SpecError
from .fonts import FontLibrary, FontsArg, as_library
from .fonts import library as bundled_library
from .imagefit import FittedImage, fit_images
from .layout import CardLayout, lay_out
from .limits import DEFAULT_LIMITS, Limits
from .model import Card
from .pdf import build_pdf
from .policy import DEFAULT_POLICY, ImagePolicy, StrPath
from .raster import needs_svg, paint_scene
from .report import Report, build_report
from .resources import Resources, load_fonts, load_resources
from .scene import Scene, build_scene
from .spec import SpecInput, family_issues, load_document, parse_card
from .svg import build_svg

__all__ = ["Prepared", "lay_out_spec", "prepare", "render", "render_async", "validate"]


def validate(
    spec: SpecInput,
    *,
    limits: Limits = DEFAULT_LIMITS,
    scale: float = 1.0,
    fonts: FontsArg = None,
) -> Card:
    """Check a spec without drawing it; returns the resolved card or raises `SpecError`
    (`LimitError` for a card over a bound of `limits`, the cost model's included). `fonts`:
    the families a `fontFamily` may name besides the bundled ones (as for `render`)."""
    card = parse_card(spec, limits, scale, families=as_library(fonts).names())
    check_card(card, limits, scale)
    return card


def lay_out_spec(
    spec: SpecInput,
    *,
    scale: float = 1.0,
    limits: Limits = DEFAULT_LIMITS,
    base_dir: StrPath | None = None,
    image_policy: ImagePolicy = DEFAULT_POLICY,
    fonts: FontsArg = None,
) -> CardLayout:
    """Where every component and every line lands, without drawing (for tests and reports).
    The same for every output format."""
    return _prepared(spec, scale, limits, base_dir, image_policy, as_library(fonts)).layout


@dataclass(frozen=True, slots=True)
class Prepared:
    """A card through every stage that may refuse it: ready to be drawn in any format."""

    layout: CardLayout
    resources: Resources
    images: dict[str, FittedImage]  # by pointer

    def scene(self) -> Scene:
        return build_scene(self.layout, self.images)


def prepare(
    card: Card,
    *,
    scale: float = 1.0,
    limits: Limits = DEFAULT_LIMITS,
    image_policy: ImagePolicy = DEFAULT_POLICY,
    fonts: FontLibrary | None = None,
) -> Prepared:
    """A parsed card → resources → layout → fitted images, each bound of the cost model
    checked before the work it bounds. Raises `LimitError` or `ResourceError` (a `SpecError`
    for a family that none of the fonts, the card's own included, has)."""
    check_card(card, limits, scale)
    library = load_fonts(card, limits, image_policy, fonts)
    if library is not bundled_library():  # parse_card knew the bundled names; these it may not
        issues = family_issues(card.families, library.names())
        if issues:
            raise SpecError(issues)
    resources = replace(load_resources(card, scale, limits, image_policy), fonts=library)
    check_deadline()
    layout = lay_out(card, library)
    check_layout(layout, limits, scale)
    images = fit_images(layout, resources, scale, limits, image_policy)
    return Prepared(layout, resources, images)


def _prepared(
    spec: SpecInput,
    scale: float,
    limits: Limits,
    base_dir: StrPath | None,
    policy: ImagePolicy,
    fonts: FontLibrary,
) -> Prepared:
    card = parse_card(spec, limits, scale, _folder(base_dir), fonts.names())
    return prepare(card, scale=scale, limits=limits, image_policy=policy, fonts=fonts)


@overload
def render(
    spec: SpecInput,
    format: str | Format = ...,
    *,
    scale: float = ...,
    quality: int | None = ...,
    compression: Compression = ...,
    limits: Limits = ...,
    base_dir: StrPath | None = ...,
    variables: Mapping[str, object] | None = ...,
    report: Literal[False] = ...,
    image_policy: ImagePolicy = ...,
    timeout: float | None = ...,
    fonts: FontsArg = ...,
) -> bytes: ...


@overload
def render(
    spec: SpecInput,
    format: str | Format = ...,
    *,
    scale: float = ...,
    quality: int | None = ...,
    compression: Compression = ...,
    limits: Limits = ...,
    base_dir: StrPath | None = ...,
    variables: Mapping[str, object] | None = ...,
    report: Literal[True],
    image_policy: ImagePolicy = ...,
    timeout: float | None = ...,
    fonts: FontsArg = ...,
) -> tuple[bytes, Report]: ...


def render(
    spec: SpecInput,
    format: str | Format = "png",
    *,
    scale: float = 1.0,
    quality: int | None = None,
    compression: Compression = "fast",
    limits: Limits = DEFAULT_LIMITS,
    base_dir: StrPath | None = None,
    variables: Mapping[str, object] | None = None,
    report: bool = False,
    image_policy: ImagePolicy = DEFAULT_POLICY,
    timeout: float | None = None,
    fonts: FontsArg = None,
) -> bytes | tuple[bytes, Report]:
    """Render a card spec to image bytes (and, with `report=True`, a `Report` of the layout).

    `spec`: a dict, JSON text (str or bytes) or a path to a JSON file (str or PathLike).
    `base_dir`: the folder relative image paths name, and files inside it may be read. A spec
    file's own folder is the default; a dict or JSON text has none, so it reads no file unless
    given `base_dir` or an `image_policy` whose `allow_paths` names folders. Absolute paths and
    `..` leaving that folder are read only from inside `image_policy.allow_paths`.
    `format`: svg, png, jpeg, webp, tiff, avif or pdf (a page of the card's size, 1 px =
    0.75 pt; images at `scale`). `scale`: device-pixel ratio (2 = retina).
    `quality`: 1–100 for jpeg, webp and avif (defaults 90, 90, 70). `compression`: PNG only,
    "fast" (default) or "small" (smallest file, several times slower).
    `report`: also return a `Report`: each component's box, lines, font size after fitting,
    whether text was clamped, which faces drew which characters, and what is missing.
    `variables`: fill the spec's `{{ name }}` placeholders first (rules: `renderer.templates`);
    without it, braces are ordinary text.
    `image_policy`: where image sources may come from (`ImagePolicy.server()` for a service).
    `fonts`: fonts of one's own, drawn wherever a `fontFamily` names their family: a
    `FontLibrary`, or files and folders (TTF, OTF, TTC, WOFF, WOFF2) and `FontSource`s to
    register (family names from the files' name tables); the bundled families stay, and
    continue every fallback chain. Fonts the spec itself brings (its `fonts` list) are
    registered over these, after the OpenType Sanitizer.
    `timeout`: seconds; past it the render stops at its next checkpoint with `RenderTimeout`
    (`renderer.deadline`). Raises `SpecError` (with every issue and its JSON pointer) or another
    `RenderError`; running out of memory raises `OutOfMemory`.
    """
    fmt = Format.parse(format)
    check_quality(quality)
    memory.tune()  # once: freed canvases are reused, not faulted in afresh (renderer.memory)
    library = as_library(fonts)
    try:
        with deadline(timeout):
            return _render(
                spec,
                fmt,
                scale,
                quality,
                compression,
                limits,
                base_dir,
                variables,
                report,
                image_policy,
                library,
            )
    except MemoryError as e:  # numpy's, Pillow's, cairo's own; OutOfMemory stays as it is
        if isinstance(e, OutOfMemory):
            raise
        msg = "The render needed more memory than is available; a smaller card or scale needs less."
        raise OutOfMemory(msg) from None


def _render(
    spec: SpecInput,
    fmt: Format,
    scale: float,
    quality: int | None,
    compression: Compression,
    limits: Limits,
    base_dir: StrPath | None,
    variables: Mapping[str, object] | None,
    report: bool,
    image_policy: ImagePolicy,
    fonts: FontLibrary,
) -> bytes | tuple[bytes, Report]:
    if variables is not None:
        from .templates import fill

        doc, folder = load_document(spec, limits)
        spec, base_dir = (
            fill(doc, variables, limits=limits),
            folder if base_dir is None else base_dir,
        )
    prepared = _prepared(spec, scale, limits, base_dir, image_policy, fonts)
    layout = prepared.layout
    scene = build_scene(layout, prepared.images)
    if fmt is Format.SVG:
        data = build_svg(scene, scale)
    elif fmt is Format.PDF:  # the same painter on cairo's PDF surface: vectors stay vectors
        data = build_pdf(scene, scale)
    else:  # drawn straight onto cairo; CairoSVG only for scenes holding emoji (raster.py)
        svg = build_svg(scene, scale, raster=True) if needs_svg(scene) else None
        raster = paint_scene(scene, scale, svg)
        check_deadline()
        data = encode(raster, fmt, quality, compression)
    return (data, build_report(layout, prepared.resources.errors)) if report else data


def _folder(path: StrPath | None) -> Path | None:
    return None if path is None else Path(path)


P = ParamSpec("P")
R = TypeVar("R")


def _in_thread(function: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """`function` as a coroutine run in a worker thread, with its signature and overloads: one
    parameter list, so the async form can never lack a parameter of the plain one."""

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        # A `timeout` is honoured twice: the thread stops at its next checkpoint past it, and
        # the awaiting caller gets RenderTimeout at the deadline itself, not at that checkpoint.
        import asyncio  # here: only async callers pay for importing it

        timeout = kwargs.get("timeout")
        check_timeout(timeout)  # type: ignore[arg-type]
        work = asyncio.to_thread(function, *args, **kwargs)
        if timeout is None:
            return await work
        try:
            return await asyncio.wait_for(work, timeout)  # type: ignore[arg-type]
        except TIMEOUT_ERRORS as e:
            if isinstance(e, RenderTimeout):
                raise
            msg = f"The render took longer than its timeout of {timeout:g} s."
            raise RenderTimeout(msg) from None

    return run


render_async = _in_thread(render)
render_async.__name__ = render_async.__qualname__ = "render_async"
render_async.__doc__ = """`await render_async(...)`: `render` with the same parameters, in a worker
thread, so an asyncio server keeps serving while a card is drawn. With `timeout`, the awaiting
caller gets `RenderTimeout` at the deadline itself; the thread stops at its next checkpoint."""
