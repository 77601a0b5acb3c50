"""Resources stage: a `Card` in, every image it names decoded and resampled out.

Image sources are untrusted bytes. They are decoded only by Pillow, only in an allowlist of
formats, after the declared pixel count is checked against `Limits.max_image_pixels`; the result is
cropped to cover its box, resampled to the displayed size × scale and re-encoded as a plain PNG.
Only that PNG reaches the SVG and cairo, so CairoSVG never sees a user's bytes (it would hand PNGs
straight to cairo, skipping any bomb check) and metadata (EXIF, GPS, ICC text) never leaves.

Source forms, told apart by one documented rule: `data:` → data URI; `http(s)://` → URL (refused
until remote images land); only base64 characters whose decoded bytes begin with an image
signature → raw base64 (as AI image services return it); anything else → a file path, relative to
the card's base folder.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
import urllib.parse
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageLoadError, Issue
from .limits import DEFAULT_LIMITS, Limits
from .model import Card, ImageComponent

__all__ = ["ALLOWED_FORMATS", "LoadedImage", "Resources", "classify_source", "load_resources"]

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "AVIF", "TIFF", "BMP", "ICO")
_BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\s]+")
_SIGNATURES = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"RIFF",
    b"GIF8",
    b"II*\x00",
    b"MM\x00*",
    b"BM",
    b"\x00\x00\x01\x00",
)


@dataclass(frozen=True, slots=True, eq=False)
class LoadedImage:
    """A decoded image, already cropped and resampled for its box at the render scale."""

    width: int  # device px
    height: int  # device px
    png: bytes  # what the SVG embeds: plain RGBA PNG, no metadata
    pixels: Image.Image  # RGBA, the same pixels; never mutated


@dataclass(frozen=True, slots=True)
class Resources:
    images: dict[str, LoadedImage]  # by component pointer


def _is_image_signature(data: bytes) -> bool:
    return data.startswith(_SIGNATURES) or data[4:12] in (b"ftypavif", b"ftypavis")


def classify_source(src: str) -> str:
    """ "data", "url", "base64" or "path", by the rule in the module docstring."""
    if src[:5].lower() == "data:":
        return "data"
    if src[:7].lower() == "http://" or src[:8].lower() == "https://":
        return "url"
    if _BASE64.fullmatch(src) and _is_image_signature(_b64decode(src[:64]) or b""):
        return "base64"
    return "path"


def _b64decode(text: str) -> bytes | None:
    cleaned = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/").rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _read_source(src: str, base_dir: Path, limits: Limits) -> bytes:
    kind = classify_source(src)
    if kind == "url":
        msg = "remote image URLs are not supported yet; use a data URI, base64 or a file"
        raise ValueError(msg)
    if kind == "data":
        header, sep, payload = src.partition(",")
        if not sep:
            msg = "malformed data URI: no ',' after the media type"
            raise ValueError(msg)
        if header.lower().endswith(";base64"):
            data = _b64decode(payload)
            if data is None:
                msg = "the data URI's base64 payload is invalid"
                raise ValueError(msg)
            return data
        return urllib.parse.unquote_to_bytes(payload)
    if kind == "base64":
        data = _b64decode(src)
        if data is None:
            msg = "invalid base64"
            raise ValueError(msg)
        return data
    path = (base_dir / src).resolve()
    try:
        if path.stat().st_size > limits.max_image_bytes:
            msg = f"file is larger than {limits.max_image_bytes} bytes"
            raise ValueError(msg)
        return path.read_bytes()
    except OSError as e:
        msg = f"cannot read file {src!r}: {e.strerror}"
        raise ValueError(msg) from None


def _decode(data: bytes, limits: Limits) -> Image.Image:
    if len(data) > limits.max_image_bytes:
        msg = f"image is {len(data)} bytes; the limit is {limits.max_image_bytes}"
        raise ValueError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            w, h = im.size
            if w * h > limits.max_image_pixels:
                msg = (
                    f"image is {w}×{h} pixels; the limit is "
                    f"{limits.max_image_pixels} pixels (Limits.max_image_pixels)"
                )
                raise ValueError(msg)
            im.seek(0)
            im.load()
            return ImageOps.exif_transpose(im).convert("RGBA")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        msg = f"refused as a decompression bomb: {e}"
        raise ValueError(msg) from None
    except UnidentifiedImageError:
        raise ValueError(
            "not an image in an allowed format (" + ", ".join(ALLOWED_FORMATS) + ")"
        ) from None
    except (OSError, SyntaxError, EOFError) as e:
        msg = f"the image is damaged or truncated: {e}"
        raise ValueError(msg) from None


def _fit(image: Image.Image, width: int, height: int) -> LoadedImage:
    fitted = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    fitted.save(buf, "PNG", compress_level=1)
    return LoadedImage(width, height, buf.getvalue(), fitted)


class _DecodedCache:
    """A small LRU of decoded sources, so a batch with one logo decodes it once."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[tuple[str, str, int], Image.Image] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, src: str, base_dir: Path, limits: Limits) -> Image.Image:
        stamp = 0
        if classify_source(src) == "path":
            try:
                stamp = (base_dir / src).stat().st_mtime_ns
            except OSError:
                stamp = -1
        key = (src, str(base_dir), stamp)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        image = _decode(_read_source(src, base_dir, limits), limits)
        with self._lock:
            self._items[key] = image
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return image


_decoded = _DecodedCache()


def _load_image(c: ImageComponent, base_dir: Path, scale: float, limits: Limits) -> LoadedImage:
    image = _decoded.get(c.src, base_dir, limits)
    return _fit(image, max(1, round(c.width * scale)), max(1, round(c.height * scale)))


def load_resources(card: Card, scale: float = 1.0, limits: Limits = DEFAULT_LIMITS) -> Resources:
    """Load every image of `card`; raise one `ImageLoadError` naming each source that failed."""
    images: dict[str, LoadedImage] = {}
    issues: list[Issue] = []
    for c in card.components:
        if isinstance(c, ImageComponent):
            try:
                images[c.pointer] = _load_image(c, card.base_dir, scale, limits)
            except ValueError as e:
                issues.append(Issue(c.pointer + "/src", f"Cannot load image: {e}."))
    if issues:
        raise ImageLoadError(issues)
    return Resources(images)
