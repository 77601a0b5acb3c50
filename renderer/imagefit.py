"""Fitting images to their laid-out boxes: the image half of the resources stage, after layout.

A box's size may come from a stack (a percentage, a stretch), so images are fitted only once the
layout has placed them. For every image box this works out which source pixels show and where
they land (`fit`: cover, contain, fill, none; `position` picks the focal point), draws an SVG
source at the box's device size (in `svgsource`'s sandbox), and puts a placeholder where a
source failed with `onImageError: "placeholder"`. It may raise `ImageLoadError` (an SVG that
cannot be drawn); after it, nothing the user gave can fail.

The resampling itself happens when a painter asks (`FittedImage.for_raster`, `for_svg`), so the
layout and this step are the same for every output format: the raster resamples with LANCZOS to
the device size, the SVG embeds no more pixels than the source has (a small image shown large is
scaled by the viewer). Both are cached (bounded), keyed by the source and the target, so a batch
with one logo resamples it once.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from . import imagefilter
from .errors import ImageLoadError, Issue
from .geometry import Box
from .layout import CardLayout, ImageBox, boxes
from .limits import DEFAULT_LIMITS, Limits
from .model import Filter, ImageComponent
from .policy import DEFAULT_POLICY, ImagePolicy
from .resources import _LRU, CACHES, Resources, Source, pixel_cap
from .svgsource import rasterize_svg

__all__ = ["FittedImage", "LoadedImage", "fit_images", "placeholder"]

PLACEHOLDER_FILL = (229, 231, 235, 255)  # neutral light grey
PLACEHOLDER_INK = (156, 163, 175, 255)  # mid grey pictogram


@dataclass(frozen=True, slots=True, eq=False)
class LoadedImage:
    """Pixels resampled for one painter: device size for a raster, at most the source's own
    resolution for an SVG."""

    width: int  # px of `pixels`
    height: int
    pixels: Image.Image  # RGBA; never mutated
    _encoded: list[bytes] = field(default_factory=list, repr=False)  # `png`, once made
    _painted: list[Any] = field(default_factory=list, repr=False)  # `for_painter`'s, once made

    @property
    def png(self) -> bytes:
        """What the SVG embeds: the pixels as a plain RGBA PNG, no metadata. Encoded when the
        SVG first asks, then kept; two threads asking at once both encode the same bytes, and
        one is kept."""
        if not self._encoded:
            self._encoded.append(_png(self.pixels))
        return self._encoded[0]

    def for_painter(self, convert: Callable[[Image.Image], Any]) -> Any:
        """`convert(pixels)`, the painter's copy of the pixels as cairo takes them (the painter
        supplies it: only raster.py knows cairo). Made on the first raster draw, then kept with
        the image in the fitted-image cache, so a card drawn again with the same image converts
        nothing (a 600 x 630 photo: ~1-10 ms); as with `png`, two threads at once both convert
        the same pixels, and one copy is kept."""
        if not self._painted:
            self._painted.append(convert(self.pixels))
        return self._painted[0]


@dataclass(frozen=True, slots=True, eq=False)
class FittedImage:
    """One image box's picture: which source pixels show (`crop`) and where they land
    (`content`, inside the box), ready to be resampled for a painter."""

    key: Hashable  # the source's (with the SVG raster's size): what caches are keyed by
    source: Image.Image  # RGBA, never mutated
    crop: tuple[float, float, float, float]  # source px: left, top, right, bottom
    content: Box  # px on the card; inside the component's box
    cover: tuple[float, float] | None  # the focal point, when the crop follows the device size
    limits: Limits
    error: str | None = None  # a placeholder: why the source could not be used
    filter: Filter | None = None  # applied to the resampled pixels (`imagefilter`)

    def _target(self, scale: float) -> tuple[tuple[int, int], tuple[float, float, float, float]]:
        size = _device_size(self.content.width, self.content.height, scale, self.limits)
        crop = self.crop if self.cover is None else _cover_crop(self.source.size, size, *self.cover)
        return size, crop

    def for_raster(self, scale: float) -> LoadedImage:
        """Resampled to the device size of `content` (cairo scaling a small image up would
        blur its edges past the box)."""
        size, crop = self._target(scale)
        return self._resampled(size, crop)

    def for_svg(self, scale: float) -> LoadedImage:
        """Never larger than the source: a small image shown large is embedded at its own
        resolution, and the viewer scales it."""
        (w, h), crop = self._target(scale)
        size = (min(w, max(1, round(crop[2] - crop[0]))), min(h, max(1, round(crop[3] - crop[1]))))
        return self._resampled(size, crop)

    def _resampled(
        self, size: tuple[int, int], crop: tuple[float, float, float, float]
    ) -> LoadedImage:
        density = (
            size[0] / max(self.content.width, 1e-9),
            size[1] / max(self.content.height, 1e-9),
        )

        def make() -> LoadedImage:
            if self.error is not None and size == self.source.size:
                return LoadedImage(size[0], size[1], self.source)  # drawn at this size
            fitted = self.source.resize(size, Image.Resampling.LANCZOS, box=crop)
            fitted.info.clear()
            if self.filter is not None:
                fitted = imagefilter.apply(fitted, self.filter, density)
            return LoadedImage(size[0], size[1], fitted)

        key = (
            (self.key, size, crop)
            if self.filter is None
            else (self.key, size, crop, self.filter, density)
        )
        return _fitted.get(key, make)


def _loaded_cost(im: LoadedImage) -> int:
    """The pixels, the painter's premultiplied copy (counted before it is made), and room for
    the PNG the SVG may ask for: 4 bytes a pixel each."""
    return im.width * im.height * 12


_Raster = tuple[Image.Image, tuple[float, float]]  # RGBA pixels, natural size in CSS px
_svg_rasters: _LRU[Hashable, _Raster] = _LRU(64, 128 << 20, lambda v: v[0].width * v[0].height * 4)
_fitted: _LRU[Hashable, LoadedImage] = _LRU(256, 256 << 20, _loaded_cost)
CACHES.extend([_svg_rasters, _fitted])


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where the source lands in its box (px from the box) and which source pixels show."""

    left: float
    top: float
    width: float
    height: float
    crop: tuple[float, float, float, float]  # source px: left, top, right, bottom


def _cover_crop(
    size: tuple[int, int],
    target: tuple[int, int],
    fx: float,
    fy: float,
) -> tuple[float, float, float, float]:
    """`ImageOps.fit`'s crop, with `position` as its centering (identical pixels at center)."""
    sw, sh = size
    output_ratio = target[0] / target[1]
    live_ratio = sw / sh
    if live_ratio == output_ratio:
        cw, ch = float(sw), float(sh)
    elif live_ratio >= output_ratio:
        cw, ch = output_ratio * sh, float(sh)
    else:
        cw, ch = float(sw), sw / output_ratio
    left, top = (sw - cw) * fx, (sh - ch) * fy
    return left, top, left + cw, top + ch


def _place(
    c: ImageComponent, box: Box, size: tuple[int, int], natural: tuple[float, float]
) -> _Placement:
    """The drawn rectangle for `c.fit`, intersected with the box, and its source crop."""
    bw, bh = box.width, box.height
    nw, nh = natural
    fx, fy = c.position
    if c.fit == "fill":
        return _Placement(0.0, 0.0, bw, bh, (0.0, 0.0, float(size[0]), float(size[1])))
    k = {"contain": min(bw / nw, bh / nh), "none": 1.0}.get(c.fit, max(bw / nw, bh / nh))
    dw, dh = nw * k, nh * k
    ox, oy = (bw - dw) * fx, (bh - dh) * fy
    x0, y0 = max(0.0, ox), max(0.0, oy)
    x1, y1 = min(bw, ox + dw), min(bh, oy + dh)
    px, py = size[0] / dw, size[1] / dh  # source px per CSS px
    crop = ((x0 - ox) * px, (y0 - oy) * py, (x1 - ox) * px, (y1 - oy) * py)
    return _Placement(x0, y0, max(0.0, x1 - x0), max(0.0, y1 - y0), crop)


def _device_size(width: float, height: float, scale: float, limits: Limits) -> tuple[int, int]:
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    if w * h > limits.max_pixels:  # upscaling past the canvas cap buys nothing but memory
        k = (limits.max_pixels / (w * h)) ** 0.5
        w, h = max(1, int(w * k)), max(1, int(h * k))
    return w, h


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def _svg_raster(
    c: ImageComponent, box: Box, svg: bytes, scale: float, limits: Limits, policy: ImagePolicy
) -> _Raster:
    device = _device_size(box.width, box.height, scale, limits)
    fit = "none" if c.fit == "none" else "cover"
    key = (svg, device, fit, scale, pixel_cap(limits), policy.svg_timeout, policy.svg_memory)

    def draw() -> _Raster:
        r = rasterize_svg(
            svg,
            device,
            fit,
            scale,
            max_pixels=pixel_cap(limits),
            timeout=policy.svg_timeout,
            memory=policy.svg_memory,
        )
        return r.image, r.natural

    return _svg_rasters.get(key, draw)


def _blank(box: Box, limits: Limits) -> FittedImage:
    """Nothing to show (the fit pushed the picture wholly outside its box)."""
    empty = Image.new("RGBA", (1, 1))
    return FittedImage(
        ("blank",), empty, (0.0, 0.0, 1.0, 1.0), Box(box.x, box.y, 0, 0), None, limits
    )


def _fit(
    c: ImageComponent,
    box: Box,
    key: Hashable,
    image: Image.Image,
    natural: tuple[float, float],
    limits: Limits,
) -> FittedImage:
    place = _place(c, box, image.size, natural)
    if place.width <= 0 or place.height <= 0:
        return _blank(box, limits)
    content = Box(box.x + place.left, box.y + place.top, place.width, place.height)
    cover = c.position if c.fit == "cover" else None
    return FittedImage(key, image, place.crop, content, cover, limits, filter=c.filter)


def placeholder(box: Box, scale: float, error: str, limits: Limits = DEFAULT_LIMITS) -> FittedImage:
    """A neutral grey tile with a small picture pictogram, drawn where a source failed."""
    w, h = _device_size(box.width, box.height, scale, limits)
    im = Image.new("RGBA", (w, h), PLACEHOLDER_FILL)
    s = min(w, h) * 0.4
    if s >= 4:
        draw = ImageDraw.Draw(im)
        cx, cy = w / 2, h / 2
        draw.polygon(
            [
                (cx - s / 2, cy + s / 3),
                (cx - s / 8, cy - s / 6),
                (cx + s / 8, cy + s / 12),
                (cx + s / 4, cy - s / 24),
                (cx + s / 2, cy + s / 3),
            ],
            fill=PLACEHOLDER_INK,
        )
        r = s / 9
        draw.ellipse(
            (cx + s / 5 - r, cy - s / 3 - r, cx + s / 5 + r, cy - s / 3 + r), PLACEHOLDER_INK
        )
    key = ("placeholder", w, h)
    return FittedImage(key, im, (0.0, 0.0, float(w), float(h)), box, None, limits, error)


def _image_boxes(layout: CardLayout) -> Iterator[ImageBox]:
    return (b for b in boxes(layout) if isinstance(b, ImageBox))


def _fit_one(
    b: ImageBox, source: Source, scale: float, limits: Limits, policy: ImagePolicy
) -> FittedImage:
    c = b.component
    if source.error is not None:
        return placeholder(b.box, scale, source.error, limits)
    if source.svg is not None:
        image, natural = _svg_raster(c, b.box, source.svg, scale, limits, policy)
        key: Hashable = (source.key, image.size)
    else:
        assert source.image is not None
        image, key = source.image, source.key
        natural = (float(image.width), float(image.height))
    return _fit(c, b.box, key, image, natural, limits)


def fit_images(
    layout: CardLayout,
    resources: Resources,
    scale: float = 1.0,
    limits: Limits = DEFAULT_LIMITS,
    policy: ImagePolicy = DEFAULT_POLICY,
) -> dict[str, FittedImage]:
    """Every image box of `layout` fitted, by pointer; raises `ImageLoadError` naming each SVG
    that could not be drawn (a placeholder component gets the placeholder instead)."""
    fitted: dict[str, FittedImage] = {}
    issues: list[Issue] = []
    for b in _image_boxes(layout):
        c = b.component
        try:
            fitted[c.pointer] = _fit_one(b, resources.sources[c.pointer], scale, limits, policy)
        except ValueError as e:
            message = f"Cannot load image: {e}."
            if c.on_error != "placeholder":
                issues.append(Issue(c.pointer + "/src", message))
                continue
            fitted[c.pointer] = placeholder(b.box, scale, message, limits)
            resources.errors[c.pointer + "/src"] = message
    if issues:
        raise ImageLoadError(issues)
    return fitted
