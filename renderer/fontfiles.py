"""Font files: a path or bytes in; each face checked and described (`FontFile`) out, or a clear
`ValueError` saying why the file cannot be used.

Formats are sniffed from the first bytes, never from a name: TrueType/OpenType (sfnt), font
collections (TTC/OTC), WOFF and WOFF2. Where the bytes come from decides how far they are trusted:

- **the operator's own files** (`render(fonts=...)`, `FontLibrary`, `--font-dir`): a TTF, OTF or
  TTC on disk is mapped by HarfBuzz from its file, as the bundled fonts are; a WOFF or WOFF2 is
  decoded to sfnt by fontTools in a bounded worker process (`_fontworker.py`);
- **everything else** (a spec's `fonts` list: a file next to the spec, a data URI, a URL): the
  bytes pass the OpenType Sanitizer (OTS, which browsers run on every web font; it decodes WOFF
  and WOFF2 itself) in that bounded worker, and only its output is read in this process.

The worker runs under an address-space and CPU cap and a wall-clock deadline (`FONT_TIMEOUT`), so
a WOFF2 bomb (a small file whose tables decompress to gigabytes) is an error in seconds. WOFF and
WOFF2 headers are checked first: a declared decoded size over `Limits.max_font_decoded_bytes` is
refused before any process starts. Then every face is read by HarfBuzz (itself a sanitizing
parser): its table directory must lie inside the file (a truncated download is named as such),
it must have outlines and a usable character map (a malformed `cmap` is refused), and its name
table gives the family, OS/2 and `fvar` the weights, style and variation axes.
"""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import uharfbuzz as hb

__all__ = [
    "FONT_TIMEOUT",
    "FontFile",
    "font_kind",
    "read_font_bytes",
    "read_font_path",
]

FONT_TIMEOUT = 15.0  # s, wall clock of the font worker (start-up included)
_WORKER = Path(__file__).with_name("_fontworker.py")
_WORKER_MEMORY = 1 << 30  # bytes of address space for the worker
_WORKER_CPU = 10  # s of CPU time for the worker
_SFNT = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"typ1")
_OUTLINES = ({b"glyf", b"loca"}, {b"CFF "}, {b"CFF2"})
_REQUIRED = (b"cmap", b"head", b"hhea", b"hmtx", b"maxp")


@dataclass(frozen=True, slots=True)
class FontFile:
    """One face of a font file, checked: where its sfnt bytes are and what its tables say."""

    origin: str  # what the user named: a path, or a spec pointer and source
    path: Path | None  # a file HarfBuzz maps itself (the operator's sfnt), else None
    data: bytes | None  # the sfnt bytes (decoded or sanitized) when `path` is None
    index: int  # the face in a collection (0 otherwise)
    digest: str  # sha256 of the file's bytes as given, hex: identity, and what batches hash
    family: str  # typographic family (name ID 16), else the family (name ID 1)
    weight: tuple[int, int]  # CSS weights: the `wght` axis range, or OS/2 usWeightClass twice
    italic: bool  # OS/2 says italic or oblique (an `ital` axis default of 1 counts too)
    axes: tuple[tuple[str, float, float, float], ...]  # (tag, min, default, max) of `fvar`

    def axis(self, tag: str) -> tuple[float, float, float] | None:
        for name, lo, default, hi in self.axes:
            if name == tag:
                return lo, default, hi
        return None


def font_kind(data: bytes) -> str | None:
    """ "sfnt", "collection", "woff" or "woff2" from the first bytes; None for anything else."""
    head = data[:4]
    if head in _SFNT:
        return "sfnt"
    if head == b"ttcf":
        return "collection"
    if head == b"wOFF":
        return "woff"
    if head == b"wOF2":
        return "woff2"
    return None


def _what_else(data: bytes) -> str:
    """Words for bytes that are not a font, for the error message."""
    from .resources import sniff_format  # the image formats, told apart the same way

    if not data:
        return "the file is empty"
    image = sniff_format(data)
    if image is not None:
        return f"it is a {image} image"
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html")):
        return "it is an HTML page"
    return f"it starts with bytes {data[:4].hex(' ')}"


def _not_a_font(data: bytes) -> ValueError:
    return ValueError(
        f"not a font in an allowed format (TTF, OTF, TTC, WOFF, WOFF2): {_what_else(data)}"
    )


def _check_decoded_size(data: bytes, kind: str, max_decoded: int) -> None:
    """The decoded size a WOFF or WOFF2 header declares, and the sum of what its table
    directory declares, each refused when over the limit: what a decoder would allocate. (A
    stream that holds more than its directory says is stopped by the decoder and the worker's
    memory cap.)"""
    name = kind.upper()
    if len(data) < 48:
        msg = f"the {name} file is truncated (its header is {len(data)} bytes)"
        raise ValueError(msg)
    (count,) = struct.unpack_from(">H", data, 12)
    (declared,) = struct.unpack_from(">I", data, 16)
    tables = _woff2_tables(data, count) if kind == "woff2" else _woff_tables(data, count)
    for what, size in (("header", declared), ("table directory", tables)):
        if size > max_decoded:
            msg = (
                f"its {name} {what} declares {size} bytes of font tables; at most "
                f"{max_decoded} are decoded (Limits.max_font_decoded_bytes)"
            )
            raise ValueError(msg)


def _woff_tables(data: bytes, count: int) -> int:
    if 44 + 20 * count > len(data):
        msg = "the WOFF file is truncated (its table directory runs past its end)"
        raise ValueError(msg)
    return sum(struct.unpack_from(">I", data, 44 + 20 * i + 12)[0] for i in range(count))


def _woff2_tables(data: bytes, count: int) -> int:
    """The sum of every table's origLength (and transformLength) in a WOFF2 directory."""
    at, total = 48, 0
    for _ in range(count):
        if at >= len(data):
            msg = "the WOFF2 file is truncated (its table directory runs past its end)"
            raise ValueError(msg)
        flags = data[at]
        at += 1 + (4 if flags & 0x3F == 0x3F else 0)
        length, at = _base128(data, at)
        total += length
        version, tag = flags >> 6, flags & 0x3F
        transformed = version != 3 if tag in (10, 11) else version != 0  # glyf, loca
        if transformed:
            length, at = _base128(data, at)
            total += length
    return total


def _base128(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for _ in range(5):
        if at >= len(data):
            msg = "the WOFF2 file is truncated (its table directory runs past its end)"
            raise ValueError(msg)
        byte = data[at]
        at += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, at
    msg = "the WOFF2 table directory is malformed (a length of more than 5 bytes)"
    raise ValueError(msg)


def _face_offsets(data: bytes) -> list[int]:
    """Where each face's table directory starts: 0, or the offsets a collection lists."""
    if font_kind(data) != "collection":
        return [0]
    if len(data) < 12:
        msg = "the font collection is truncated (its header is incomplete)"
        raise ValueError(msg)
    (count,) = struct.unpack_from(">I", data, 8)
    if count == 0 or 12 + 4 * count > len(data):
        msg = f"the font collection is truncated or damaged (it lists {count} faces)"
        raise ValueError(msg)
    return list(struct.unpack_from(f">{count}I", data, 12))


def _check_tables(data: bytes, at: int) -> None:
    """The table directory at `at` lies inside the file, and so does every table; the tables
    a face needs to be drawn are there."""
    if at + 12 > len(data):
        msg = f"the font is truncated: its table directory starts past its end ({len(data)} bytes)"
        raise ValueError(msg)
    (count,) = struct.unpack_from(">H", data, at + 4)
    if at + 12 + 16 * count > len(data):
        msg = f"the font is truncated: its table directory runs past its end ({len(data)} bytes)"
        raise ValueError(msg)
    tags = set()
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, at + 12 + 16 * i)
        if offset + length > len(data):
            name = tag.decode("latin-1").strip()
            msg = (
                f"the font is truncated: its {name!r} table ends at byte {offset + length}, "
                f"the file has {len(data)}"
            )
            raise ValueError(msg)
        tags.add(tag)
    missing = [t.decode("latin-1").strip() for t in _REQUIRED if t not in tags]
    if not any(group <= tags for group in _OUTLINES):
        missing.append("glyf or CFF")
    if missing:
        msg = f"not a usable font: it has no {', '.join(repr(m) for m in missing)} table"
        raise ValueError(msg)


def _styles(face: hb.Face) -> tuple[int, bool]:
    """(usWeightClass, italic) from OS/2, else from `head`'s macStyle."""
    os2 = bytes(face.reference_table("OS/2").data)
    if len(os2) >= 64:
        weight, selection = (
            struct.unpack_from(">H", os2, 4)[0],
            struct.unpack_from(">H", os2, 62)[0],
        )
        return weight, bool(selection & 0x0201)  # ITALIC or OBLIQUE
    head = bytes(face.reference_table("head").data)
    mac = struct.unpack_from(">H", head, 44)[0] if len(head) >= 46 else 0
    return (700 if mac & 1 else 400), bool(mac & 2)


def _css_weight(value: float) -> int:
    """A weight class as a CSS weight (1–1000); legacy classes 1–9 mean 100–900."""
    weight = int(value)
    if 1 <= weight <= 9:
        weight *= 100
    return max(1, min(1000, weight or 400))


def _describe(
    face: hb.Face, origin: str
) -> tuple[str, tuple[int, int], bool, tuple[tuple[str, float, float, float], ...]]:
    if face.glyph_count == 0:
        msg = "not a usable font: HarfBuzz finds no glyphs in it"
        raise ValueError(msg)
    if not face.unicodes:
        msg = "its character map (the cmap table) is missing or malformed: no character has a glyph"
        raise ValueError(msg)
    family = (
        face.get_name(hb.OTNameIdPredefined.TYPOGRAPHIC_FAMILY)
        or face.get_name(hb.OTNameIdPredefined.FONT_FAMILY)
        or Path(origin).stem
    )
    axes = tuple(
        (a.tag, float(a.min_value), float(a.default_value), float(a.max_value))
        for a in face.axis_infos
    )
    weight_class, italic = _styles(face)
    wght = next(((lo, hi) for tag, lo, _, hi in axes if tag == "wght"), None)
    weight = (
        (_css_weight(wght[0]), _css_weight(wght[1]))
        if wght
        else (_css_weight(weight_class), _css_weight(weight_class))
    )
    ital = next((default for tag, _, default, _ in axes if tag == "ital"), None)
    if ital is not None:
        italic = ital >= 1
    return family.strip(), weight, italic, axes


def _faces(
    data: bytes, origin: str, digest: str, path: Path | None, keep: bytes | None
) -> list[FontFile]:
    blob = hb.Blob(data)
    out = []
    for index, at in enumerate(_face_offsets(data)):
        _check_tables(data, at)
        face = hb.Face(blob, index)
        family, weight, italic, axes = _describe(face, origin)
        out.append(FontFile(origin, path, keep, index, digest, family, weight, italic, axes))
    return out


def _worker(mode: str, data: bytes, max_out: int) -> bytes:
    args = [mode, str(max_out), str(_WORKER_MEMORY), str(_WORKER_CPU)]
    try:
        done = subprocess.run(  # fixed argv, our own script, no shell
            [sys.executable, "-I", str(_WORKER), *args],
            input=data,
            capture_output=True,
            timeout=FONT_TIMEOUT,
            check=False,
            env={"PATH": os.defpath, "LC_ALL": "C.UTF-8"},
        )
    except subprocess.TimeoutExpired:
        msg = f"decoding it took longer than {FONT_TIMEOUT:g} s; it may be a decompression bomb"
        raise ValueError(msg) from None
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else f"the font worker died (status {done.returncode})"
        raise ValueError(why)
    return done.stdout


def _checked_kind(data: bytes, max_bytes: int) -> str:
    """The font's kind (`font_kind`); ValueError for bytes over the limit or not a font."""
    if len(data) > max_bytes:
        msg = (
            f"the font is {len(data)} bytes or more; the limit is {max_bytes} "
            "(Limits.max_font_bytes)"
        )
        raise ValueError(msg)
    kind = font_kind(data)
    if kind is None:
        raise _not_a_font(data)
    return kind


def read_font_bytes(
    data: bytes, origin: str, *, trusted: bool, max_bytes: int, max_decoded: int
) -> list[FontFile]:
    """Every face of the font in `data`: sanitized first unless `trusted`. ValueError says why
    the bytes cannot be used."""
    kind = _checked_kind(data, max_bytes)
    digest = hashlib.sha256(data).hexdigest()
    if kind in ("woff", "woff2"):
        _check_decoded_size(data, kind, max_decoded)
    if kind in ("sfnt", "collection"):  # a truncated download is named as such, before OTS
        for at in _face_offsets(data):
            _check_tables(data, at)
    if not trusted:
        return _sanitized(_worker("sanitize", data, max_decoded), origin, digest)
    if kind in ("woff", "woff2"):
        data = _worker("decode", data, max_decoded)
    return _faces(data, origin, digest, None, data)


def _sanitized(framed: bytes, origin: str, digest: str) -> list[FontFile]:
    """The worker's faces (each sanitized alone, one sfnt each), read as one font's faces.
    Their digests say so (":s" and the face's index): OTS rewrites tables (the glyphs'
    among them), so a sanitized face is never the same face as the operator's own copy of
    the file, whose outlines may differ by a point."""
    (count,) = struct.unpack_from(">I", framed, 0)
    at, out = 4, []
    for index in range(count):
        (size,) = struct.unpack_from(">I", framed, at)
        face = framed[at + 4 : at + 4 + size]
        at += 4 + size
        (file,) = _faces(face, origin, digest, None, face)
        out.append(replace(file, index=0, digest=f"{digest}:s{index}"))
    return out


@cache
def _read_path(
    path: Path, size: int, mtime_ns: int, max_bytes: int, max_decoded: int
) -> tuple[FontFile, ...]:
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)
    kind = _checked_kind(data, max_bytes)
    if kind in ("woff", "woff2"):
        return tuple(
            read_font_bytes(
                data, str(path), trusted=True, max_bytes=max_bytes, max_decoded=max_decoded
            )
        )
    digest = hashlib.sha256(data).hexdigest()
    return tuple(_faces(data, str(path), digest, path, None))


def read_font_path(path: Path, *, max_bytes: int, max_decoded: int) -> list[FontFile]:
    """Every face of the operator's font file at `path` (trusted: not sanitized). Read once per
    (path, size, mtime) in a process. ValueError says why it cannot be used."""
    try:
        st = path.stat()
        if not path.is_file():
            msg = "not a regular file"
            raise ValueError(msg)
        return list(_read_path(path.resolve(), st.st_size, st.st_mtime_ns, max_bytes, max_decoded))
    except OSError as e:
        msg = f"cannot read it: {e.strerror or e}"
        raise ValueError(msg) from None
