"""Resources stage: a `Card` in, every image source it names fetched and decoded out.

Image sources are untrusted bytes, from four forms told apart by one documented rule:

    `data:`                 → a data URI (base64 or percent-encoded payload)
    `scheme://`             → a URL, fetched by `renderer.net` if the `ImagePolicy` allows
                              the scheme (http and https by default; `file://` never)
    only base64 characters, whose decoded bytes start with an image (or SVG) signature
                            → raw base64, as AI image services return it (Craiyon's
                              `base64_data`, OpenAI-style `b64_json`)
    anything else           → a file path, relative to the card's base folder, read only from
                              inside an allowed folder (`renderer.policy` states the rule)

Whatever the form, the format is sniffed from the bytes (never from a name, a media type or a
Content-Type) and must be one of `ALLOWED_FORMATS` or SVG. Raster sources are decoded by Pillow's
plugin for that one format, after the declared size has been checked against
`Limits.max_image_pixels` and `ImagePolicy.max_image_side`; the check runs before Pillow's own
decompression-bomb check can warn (a warning cannot be caught thread-safely), and touches no global
state. GIF and ICO can declare a larger frame than their header; those are checked from the bytes
first. Truncated files are refused. SVG sources are kept as documents: `imagefit` draws them, in
`renderer.svgsource`'s bounded subprocess, once the layout has given them a box.

After layout, `imagefit` fits each source to its box and resamples it for the painter that asks;
only those pixels (re-encoded as a plain PNG for an SVG) reach the output: CairoSVG would hand a
user's PNG straight to cairo (skipping any bomb check) and carry EXIF, GPS and ICC text into it.

Caches (all bounded, thread-safe, and loading each key once even under concurrent requests):
decoded sources by source (a batch of 10,000 cards with one logo fetches and decodes it once);
`imagefit` adds SVG rasters and fitted images (`CACHES` holds them all, for `clear_caches`).
Failures are remembered for `_FAILURE_TTL` seconds so a dead logo URL does not cost a timeout
per card.

A component with `onImageError: "placeholder"` gets a neutral placeholder instead of an error;
the error is recorded in `Resources.errors` under the component's `/src` pointer.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import io
import os
import re
import stat
import struct
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

from PIL import (
    AvifImagePlugin,
    BmpImagePlugin,
    GifImagePlugin,
    IcoImagePlugin,
    Image,
    ImageFile,
    ImageOps,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from .deadline import check as check_deadline
from .errors import FontLoadError, ImageLoadError, Issue, LimitError
from .fonts import FaceInfo, FontLibrary, face_infos, library
from .limits import DEFAULT_LIMITS, Limits
from .model import Card, FontRequest, ImageComponent, on_canvas, shown
from .policy import DEFAULT_POLICY, ImagePolicy
from .svgsource import looks_like_svg

__all__ = [
    "ALLOWED_FORMATS",
    "CACHES",
    "Resources",
    "Source",
    "classify_source",
    "clear_caches",
    "load_fonts",
    "load_resources",
    "pixel_cap",
    "resolve_path",
]

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "AVIF", "TIFF", "BMP", "ICO")
_OPENERS: dict[str, type[ImageFile.ImageFile]] = {
    "PNG": PngImagePlugin.PngImageFile,
    "JPEG": JpegImagePlugin.JpegImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "AVIF": AvifImagePlugin.AvifImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "ICO": IcoImagePlugin.IcoImageFile,
}
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")  # any scheme; the policy then allows it or not
_BASE64 = re.compile(r"[A-Za-z0-9+/=_\-\s]+")
_FAILURE_TTL = 30.0  # s: how long a failed source is answered from memory


def sniff_format(data: bytes) -> str | None:
    """The allowed format `data` is in, judged from its first bytes only; "SVG" or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis", b"mif1", b"msf1"):
        return "AVIF"
    if data.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if data.startswith(b"BM"):
        return "BMP"
    if data.startswith(b"\x00\x00\x01\x00"):
        return "ICO"
    if looks_like_svg(data):
        return "SVG"
    return None


class SourceError(ValueError):
    """A source refused by our own rules (a limit, a policy, a malformed form): the message is
    already the whole story. Any other ValueError from a decoder means damaged bytes."""


# --- what the stage returns ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Source:
    """A decoded image source: raster pixels, or an SVG document to draw at its box's size
    (`imagefit`), or why it could not be used (an `onImageError: "placeholder"` component)."""

    key: Hashable  # what identifies the bytes (for the caches of what is made from them)
    image: Image.Image | None = None  # RGBA
    svg: bytes | None = None
    error: str | None = None  # set instead of both: "Cannot load image: ..."


@dataclass(frozen=True, slots=True)
class Resources:
    """What the resources stage loaded for one card: each image source by pointer, and why
    any was replaced by a placeholder."""

    sources: dict[str, Source]  # by component pointer, every image of the tree on the canvas
    # "/components/N/src" -> why that source was replaced by a placeholder (onImageError)
    errors: dict[str, str] = field(default_factory=dict)
    fonts: FontLibrary | None = None  # the caller's library with the card's own fonts over it


# --- telling sources apart and reading their bytes ------------------------------------------------


def classify_source(src: str) -> str:
    """ "data", "url", "base64" or "path", by the rule in the module docstring."""
    if src[:5].lower() == "data:":
        return "data"
    if _URL.match(src):
        return "url"
    if _BASE64.fullmatch(src) and sniff_format(_b64decode(src[:64]) or b"") is not None:
        return "base64"
    return "path"


def _b64decode(text: str) -> bytes | None:
    cleaned = re.sub(r"\s+", "", text).replace("-", "+").replace("_", "/").rstrip("=")
    if len(cleaned) % 4 == 1:  # one stray character can never be valid base64
        cleaned = cleaned[:-1]
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode_data_uri(src: str) -> bytes:
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


def resolve_path(src: str, base_dir: Path | None, policy: ImagePolicy) -> Path:
    """The file `src` names, if it lies inside an allowed folder (the rule: `renderer.policy`)."""
    folders = _allowed_folders(base_dir, policy)
    if not folders:
        msg = (
            f"{src!r} is a file path, and a spec given as a dict or JSON text reads no files "
            "unless its caller names a folder: pass base_dir= (the folder its relative paths "
            "name) or ImagePolicy(allow_paths=(folder, ...)); on the command line, "
            "--allow-image-dir DIR. URLs, data URIs and base64 need neither"
        )
        raise ValueError(msg)
    try:
        path = ((base_dir or Path.cwd()) / src).resolve()
    except (OSError, RuntimeError, ValueError) as e:
        msg = f"cannot resolve file path {src!r}: {e}"
        raise ValueError(msg) from None
    if not any(path.is_relative_to(folder) for folder in folders):
        msg = (
            f"file {src!r} is outside the folders images may be read from (the spec's folder "
            "or base_dir, and ImagePolicy.allow_paths): an absolute path or '..' needs a folder "
            "that contains it, ImagePolicy(allow_paths=(folder, ...)); on the command line, "
            "--allow-image-dir DIR"
        )
        raise ValueError(msg)
    return path


def _allowed_folders(base_dir: Path | None, policy: ImagePolicy) -> tuple[Path, ...]:
    extra = tuple(Path(p) for p in policy.allow_paths)  # resolved by the policy
    try:
        return extra if base_dir is None else (base_dir.resolve(), *extra)
    except (OSError, RuntimeError, ValueError):
        return extra


def _read_file(path: Path, src: str, limits: Limits, max_bytes: int | None = None) -> bytes:
    limit = limits.max_image_bytes if max_bytes is None else max_bytes
    try:
        # Before opening: opening a FIFO for reading blocks until a writer comes, and /dev/zero
        # never ends. The file is checked again once open, in case it was swapped meanwhile.
        if not stat.S_ISREG(path.stat().st_mode):
            msg = f"{src!r} is not a regular file"
            raise ValueError(msg)
        with path.open("rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                msg = f"{src!r} is not a regular file"
                raise ValueError(msg)
            data = f.read(limit + 1)
    except OSError as e:
        msg = f"cannot read file {src!r}: {e.strerror or e}"
        raise ValueError(msg) from None
    if len(data) > limit:
        what = "max_image_bytes" if max_bytes is None else "max_font_bytes"
        msg = f"file is larger than {limit} bytes (Limits.{what})"
        raise ValueError(msg)
    return data


def _source_bytes(
    src: str, kind: str, limits: Limits, policy: ImagePolicy, max_bytes: int | None = None
) -> bytes:
    if kind == "url":
        from .net import fetch  # the HTTP client loads only when a spec names a URL

        return fetch(src, policy, limits.max_image_bytes if max_bytes is None else max_bytes)
    if kind == "data":
        return _decode_data_uri(src)
    data = _b64decode(src)
    if data is None:
        msg = "invalid base64"
        raise ValueError(msg)
    return data


# --- decoding raster formats under the pixel cap -------------------------------------------------


def pixel_cap(limits: Limits) -> int:
    """Our cap, never above Pillow's warning threshold, so Pillow's own check never fires first."""
    pillow = Image.MAX_IMAGE_PIXELS
    return limits.max_image_pixels if pillow is None else min(limits.max_image_pixels, pillow)


class _OverBudget(Exception):
    """A source would take the card past `Limits.max_decoded_pixels`. Not a ValueError: the
    caches must not remember it as the source's failure (it is the card's)."""

    def __init__(self, pixels: int, limit: int) -> None:
        super().__init__(pixels, limit)
        self.pixels, self.limit = pixels, limit


@dataclass(slots=True)
class _Allowance:
    """Source pixels one `load_resources` call may still decode (`Limits.max_decoded_pixels`).
    Charged from each header, before the pixels are decoded; a cached source costs nothing."""

    remaining: int
    used: int = 0


_allowance: contextvars.ContextVar[_Allowance | None] = contextvars.ContextVar(
    "renderer_decode_allowance", default=None
)


def _check_size(w: int, h: int, limits: Limits, policy: ImagePolicy) -> None:
    cap = pixel_cap(limits)
    if w * h > cap:
        msg = (
            f"image is {w}×{h} = {w * h} pixels; the limit is {cap} pixels "
            "(Limits.max_image_pixels): refused as a possible decompression bomb"
        )
        raise SourceError(msg)
    if max(w, h) > policy.max_image_side:
        msg = (
            f"image is {w}×{h} pixels; the limit is {policy.max_image_side} px per side "
            "(ImagePolicy.max_image_side)"
        )
        raise SourceError(msg)
    allowance = _allowance.get()
    if allowance is not None:
        allowance.used += w * h
        if w * h > allowance.remaining:
            raise _OverBudget(allowance.used, limits.max_decoded_pixels)
        allowance.remaining -= w * h


def _gif_extent(data: bytes) -> tuple[int, int]:
    """Logical screen grown by the first frame's extent, as Pillow will size the image."""
    w, h, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x2C:  # image descriptor
            x0, y0, fw, fh = struct.unpack_from("<HHHH", data, pos + 1)
            return max(w, x0 + fw), max(h, y0 + fh)
        if block != 0x21:  # trailer or garbage: Pillow will judge the rest
            break
        pos += 2
        while pos < len(data) and data[pos]:  # skip the extension's sub-blocks
            pos += data[pos] + 1
        pos += 1
    return w, h


def _webp_size(data: bytes) -> tuple[int, int]:
    """The canvas size a WebP header declares: libwebp allocates it when the file is opened."""
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        w, h = struct.unpack_from("<HH", data, 26)
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8X" and len(data) >= 30:
        w = int.from_bytes(data[24:27], "little") + 1
        return w, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return 0, 0  # unknown layout: Pillow will refuse it


def _ico_largest(data: bytes, limits: Limits, policy: ImagePolicy) -> Image.Image:
    """The largest entry of an icon, each entry's own header checked before decoding."""
    ico = IcoImagePlugin.IcoFile(io.BytesIO(data))
    if not ico.entry:
        msg = "the icon holds no images"
        raise SourceError(msg)
    entry = max(ico.entry, key=lambda e: (e.dim[0] * e.dim[1], e.color_depth))
    frame = data[entry.offset : entry.offset + entry.size]
    if frame.startswith(b"\x89PNG\r\n\x1a\n"):
        return _decode_raster(frame, "PNG", limits, policy)
    if len(frame) < 12:
        raise EOFError
    dib_w, dib_h = struct.unpack_from("<ii", frame, 4)
    if (abs(dib_w), abs(dib_h) // 2) != entry.dim:
        msg = "the icon's bitmap size disagrees with its directory"
        raise SourceError(msg)
    _check_size(*entry.dim, limits, policy)
    im = IcoImagePlugin.IcoImageFile(io.BytesIO(data))
    im.size = entry.dim
    im.load()
    return im


def _decode_raster(data: bytes, fmt: str, limits: Limits, policy: ImagePolicy) -> Image.Image:
    if fmt == "ICO":
        return _ico_largest(data, limits, policy)
    if fmt == "GIF":
        _check_size(*_gif_extent(data), limits, policy)
    if fmt == "WEBP":
        _check_size(*_webp_size(data), limits, policy)
    im = _OPENERS[fmt](io.BytesIO(data))  # reads the header only
    _check_size(*im.size, limits, policy)
    im.load()  # first frame only for GIF, WEBP and AVIF animations
    return im


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """The pixels converted from their embedded ICC profile to sRGB, which is what the card,
    the SVG and every browser assume for untagged pixels. A phone photo is tagged Display P3:
    read as sRGB its colours come out dull and shifted. An sRGB profile is left alone (no
    work), and a profile LittleCMS cannot read or apply is ignored, as browsers ignore it.
    Alpha is kept as it is (profiles describe colour only)."""
    from PIL import ImageCms  # LittleCMS, in Pillow's wheels; most images never need it

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(source) or "").lower().replace(" ", ""):
            return im
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return im
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA")  # keeps a palette's transparency
    alpha = im.getchannel("A") if im.mode in ("RGBA", "LA") else None
    base = {"RGBA": "RGB", "LA": "L"}.get(im.mode, im.mode)
    if base not in ("RGB", "L", "CMYK"):
        return im
    try:
        converted = ImageCms.profileToProfile(
            im.convert(base) if base != im.mode else im,
            source,
            _srgb_profile(),
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im  # the profile does not fit the pixels (an RGB profile on a greyscale file)
    if converted is None:
        return im
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


@cache
def _srgb_profile() -> Any:
    from PIL import ImageCms

    return ImageCms.createProfile("sRGB")


def _to_rgba(im: Image.Image) -> Image.Image:
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # damaged EXIF: keep the stored orientation
        pass
    if im.mode.startswith("I;16"):
        im = im.convert("I")
    if im.mode in ("I", "F"):  # 16-bit and float greys: scale to 8 bits, do not clip
        im = im.point(lambda v: v / 256 if im.mode == "I" else v * 255).convert("L")
    icc = im.info.get("icc_profile")
    if icc and isinstance(icc, bytes):
        im = _to_srgb(im, icc)
    rgba = im.convert("RGBA")
    rgba.info.clear()  # nothing of the source's metadata (ICC, EXIF, XMP, text) travels on:
    # the pixels are sRGB now
    return rgba


def decode(data: bytes, limits: Limits, policy: ImagePolicy) -> Image.Image:
    """Untrusted raster bytes → RGBA pixels, or ValueError saying why not."""
    if len(data) > limits.max_image_bytes:
        msg = (
            f"image is {len(data)} bytes; the limit is {limits.max_image_bytes} "
            "(Limits.max_image_bytes)"
        )
        raise ValueError(msg)
    fmt = sniff_format(data)
    if fmt is None or fmt == "SVG":
        raise ValueError(_not_an_image(data))
    try:
        return _to_rgba(_decode_raster(data, fmt, limits, policy))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        msg = f"refused as a decompression bomb: {e}"
        raise ValueError(msg) from None
    except (OSError, SyntaxError, EOFError, struct.error, IndexError, KeyError) as e:
        what = "truncated" if "truncated" in str(e) or isinstance(e, EOFError) else "damaged"
        msg = f"the {fmt} image is {what}: {e or type(e).__name__}"
        raise ValueError(msg) from None
    except MemoryError:
        msg = "the image needs more memory than is available"
        raise ValueError(msg) from None
    except (SourceError, _OverBudget):
        raise
    except ValueError as e:
        msg = f"the {fmt} image is damaged: {e}"
        raise ValueError(msg) from None
    except Exception as e:  # a decoder bug on hostile bytes must not crash us
        msg = f"the {fmt} image could not be decoded: {type(e).__name__}: {e}"
        raise ValueError(msg) from None


def _not_an_image(data: bytes) -> str:
    head = data[:64].lstrip().lower()
    seen = (
        "empty" if not data else "an HTML page" if head.startswith((b"<!doctype", b"<html")) else ""
    )
    allowed = ", ".join(ALLOWED_FORMATS) + ", SVG"
    return f"not an image in an allowed format ({allowed})" + (f"; received {seen}" if seen else "")


# --- bounded, single-flight caches ---------------------------------------------------------------

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed load remembered for a short while (`_FAILURE_TTL`): later asks for the same
    source get the same error at once instead of waiting for the fetch again."""

    when: float  # time.monotonic() of the failure
    error: ValueError


class _LRU(Generic[K, V]):
    """An LRU bounded by entry count and total cost (bytes), loading each key once at a time.

    Concurrent callers of `get` for the same missing key wait for the first one's result instead
    of loading it again, so a batch rendered on many threads still fetches a shared logo once.
    Failures (ValueError) are kept for `_FAILURE_TTL` seconds.
    """

    def __init__(self, entries: int, max_cost: int, cost: Callable[[V], int]) -> None:
        self._items: OrderedDict[K, V | _Failure] = OrderedDict()
        self._loading: dict[K, threading.Event] = {}
        self._entries, self._max_cost, self._cost_of = entries, max_cost, cost
        self._cost = 0
        self._lock = threading.Lock()
        self.loads = 0  # how many times a loader ran (for tests and benchmarks)

    def _lookup(self, key: K) -> tuple[bool, V | None]:
        item = self._items.get(key)
        if item is None:
            return False, None
        if isinstance(item, _Failure):
            if time.monotonic() - item.when > _FAILURE_TTL:
                del self._items[key]
                return False, None
            raise item.error
        self._items.move_to_end(key)
        return True, item

    def _forget(self, key: K) -> None:
        item = self._items.pop(key)
        if not isinstance(item, _Failure):
            self._cost -= self._cost_of(item)

    def get(self, key: K, load: Callable[[], V]) -> V:
        while True:
            with self._lock:
                found, value = self._lookup(key)
                if found:
                    return value  # type: ignore[return-value]
                waiting = self._loading.get(key)
                if waiting is None:
                    event = self._loading[key] = threading.Event()
                    self.loads += 1
                    break
            waiting.wait()
        try:
            result = load()
        except ValueError as e:
            with self._lock:
                self._items[key] = _Failure(time.monotonic(), e)
                self._trim()
            raise
        finally:
            with self._lock:
                del self._loading[key]
            event.set()
        with self._lock:
            self._items[key] = result
            self._cost += self._cost_of(result)
            self._trim()
        return result

    def _trim(self) -> None:
        while self._items and (len(self._items) > self._entries or self._cost > self._max_cost):
            self._forget(next(iter(self._items)))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._cost = 0
            self.loads = 0


def _source_cost(s: Source) -> int:
    return s.image.width * s.image.height * 4 if s.image else len(s.svg or b"")


def _image_cost(im: Image.Image) -> int:
    return im.width * im.height * 4


_sources: _LRU[Hashable, Source] = _LRU(64, 512 << 20, _source_cost)
CACHES: list[_LRU[Any, Any]] = [_sources]  # every cache of the stage (imagefit adds its own)


def clear_caches() -> None:
    """Forget every cached source, SVG raster and fitted image (tests, benchmarks, long runs)."""
    for remembered in CACHES:
        remembered.clear()


def cache_loads() -> int:
    """How many sources were read and decoded since the last `clear_caches`."""
    return _sources.loads


def _source_key(
    src: str, kind: str, base_dir: Path | None, policy: ImagePolicy
) -> tuple[Hashable, Path | None]:
    """What identifies a source's bytes: the text itself, or a file's path, size and mtime."""
    if kind == "path":
        path = resolve_path(src, base_dir, policy)
        try:
            st = path.stat()
            stamp: tuple[int, int] = (st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (-1, -1)
        return ("path", str(path), stamp), path
    if kind == "url":
        return ("url", src, policy), None  # the policy decides what may be fetched
    return (kind, src), None


def _load_source(src: str, base_dir: Path | None, limits: Limits, policy: ImagePolicy) -> Source:
    kind = classify_source(src)
    key, path = _source_key(src, kind, base_dir, policy)

    def load() -> Source:
        data = (
            _read_file(path, src, limits)
            if path is not None
            else _source_bytes(src, kind, limits, policy)
        )
        if sniff_format(data) == "SVG":
            if len(data) > limits.max_image_bytes:
                msg = f"SVG is larger than {limits.max_image_bytes} bytes (Limits.max_image_bytes)"
                raise ValueError(msg)
            if not policy.allow_svg:
                msg = "SVG sources are turned off here (ImagePolicy.allow_svg)"
                raise ValueError(msg)
            return Source((key, limits), svg=data)
        return Source((key, limits), image=decode(data, limits, policy))

    return _sources.get((key, limits), load)


def _images(card: Card) -> Iterator[ImageComponent]:
    """The image components that can be drawn: shown, and not in a component off the canvas
    (those are neither fetched nor decoded)."""
    for c in card.components:
        if on_canvas(c, card.width, card.height):
            yield from (n for n in shown((c,)) if isinstance(n, ImageComponent))


def load_resources(
    card: Card,
    scale: float = 1.0,
    limits: Limits = DEFAULT_LIMITS,
    policy: ImagePolicy = DEFAULT_POLICY,
) -> Resources:
    """Read and decode every image source of `card`; raise one `ImageLoadError` naming each
    source that failed. A component with `onImageError: "placeholder"` never fails: its
    error is recorded in `Resources.errors` and its source carries it (imagefit draws the
    placeholder once its box is known). `scale` is unused here; fitting uses it."""
    sources: dict[str, Source] = {}
    errors: dict[str, str] = {}
    issues: list[Issue] = []
    token = _allowance.set(_Allowance(limits.max_decoded_pixels))
    try:
        for c in _images(card):
            check_deadline()
            try:
                sources[c.pointer] = _load_source(c.src, card.base_dir, limits, policy)
            except ValueError as e:
                message = f"Cannot load image: {e}."
                if c.on_error == "placeholder":
                    sources[c.pointer] = Source(None, error=message)
                    errors[c.pointer + "/src"] = message
                else:
                    issues.append(Issue(c.pointer + "/src", message))
            except _OverBudget as e:
                raise LimitError(
                    [
                        Issue(
                            c.pointer + "/src",
                            f"The card's image sources hold {e.pixels / 1e6:.1f} megapixels up "
                            f"to here; at most {e.limit / 1e6:.1f} are decoded for one card "
                            "(Limits.max_decoded_pixels).",
                        )
                    ]
                ) from None
    finally:
        _allowance.reset(token)
    if issues:
        raise ImageLoadError(issues)
    return Resources(sources, errors)


# --- the card's own fonts ------------------------------------------------------------------------

_spec_fonts: _LRU[Hashable, tuple[FaceInfo, ...]] = _LRU(
    64, 512 << 20, lambda faces: sum(len(f.data or b"") for f in faces[:1])
)
CACHES.append(_spec_fonts)


def _font_bytes(
    request: FontRequest, base_dir: Path | None, limits: Limits, policy: ImagePolicy
) -> bytes:
    src = request.src
    kind = "data" if src[:5].lower() == "data:" else "url" if _URL.match(src) else "path"
    if kind == "path":
        return _read_file(resolve_path(src, base_dir, policy), src, limits, limits.max_font_bytes)
    return _source_bytes(src, kind, limits, policy, limits.max_font_bytes)


def _load_font(
    request: FontRequest, base_dir: Path | None, limits: Limits, policy: ImagePolicy
) -> tuple[FaceInfo, ...]:
    """The faces of one of the card's fonts: its bytes read under the image rules, sanitized
    (`fontfiles`), described by its tables unless the request names family, weight, style."""
    from .fontfiles import read_font_bytes
    from .fonts import FontSource

    kind = (
        "data"
        if request.src[:5].lower() == "data:"
        else "url"
        if _URL.match(request.src)
        else "path"
    )
    key, _ = _source_key(request.src, kind, base_dir, policy)

    def load() -> tuple[FaceInfo, ...]:
        data = _font_bytes(request, base_dir, limits, policy)
        files = read_font_bytes(
            data,
            request.pointer,
            trusted=False,
            max_bytes=limits.max_font_bytes,
            max_decoded=limits.max_font_decoded_bytes,
        )
        return tuple(
            face
            for file in files
            for face in face_infos(
                file, FontSource(b"", request.family, request.weight, request.style)
            )
        )

    return _spec_fonts.get(
        ("font", key, request.family, request.weight, request.style, limits), load
    )


def load_fonts(
    card: Card, limits: Limits, policy: ImagePolicy, fonts: FontLibrary | None = None
) -> FontLibrary:
    """`fonts` (default: the bundled library) with the card's own fonts registered over it;
    one `FontLoadError` names every font that cannot be used, at its `/fonts/N/src`."""
    base = fonts or library()
    if not card.fonts:
        return base
    if not policy.allow_spec_fonts:
        raise FontLoadError(
            [
                Issue(
                    f.pointer + "/src",
                    "Fonts in the spec are not accepted here (a server's operator allows them "
                    "with --allow-spec-fonts; ImagePolicy.allow_spec_fonts).",
                )
                for f in card.fonts
            ]
        )
    faces: list[FaceInfo] = []
    issues: list[Issue] = []
    held: dict[int, int] = {}  # the sfnt bytes the card's fonts hold, by object
    for request in card.fonts:
        check_deadline()
        try:
            loaded = _load_font(request, card.base_dir, limits, policy)
        except ValueError as e:
            issues.append(Issue(request.pointer + "/src", f"Cannot use font: {e}."))
            continue
        faces += loaded
        held.update((id(f.data), len(f.data)) for f in loaded if f.data is not None)
        if sum(held.values()) > limits.max_spec_font_bytes:
            raise LimitError(
                [
                    Issue(
                        request.pointer + "/src",
                        f"The card's own fonts hold {sum(held.values())} bytes up to here; at "
                        f"most {limits.max_spec_font_bytes} (Limits.max_spec_font_bytes).",
                    )
                ]
            )
    if issues:
        raise FontLoadError(issues)
    return base.with_faces(faces)
