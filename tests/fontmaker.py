"""Test fonts, made at test time from the bundled (SIL OFL) fonts with fontTools: renamed, subset
to printable ASCII, and written as TTF, WOFF2 and TTC, plus broken ones (truncated, a renamed
PNG, a malformed `cmap`, WOFF2 bombs). Nothing is downloaded; every file is a few KB.

`make_fonts(good, bad)` writes them all (the usable ones into `good`, the broken ones into `bad`)
and returns their paths by name; `ensure_fonts()` does so once into `tests/cases/assets/fonts`
and `fonts-bad` (git-ignored), where the golden cases' `fonts` name them, and again only when
this file changes:

- `brand-regular.ttf`, `brand-bold.ttf`: "Brand Sans", static 400 and 700 (from Poppins);
- `brand-variable.ttf`: "Brand Variable", a `wght` 100–900 variable font (from Inter);
- `brand-web.woff2`: "Brand Web", the same variable font as WOFF2;
- `brand-serif.ttc`: a collection of "Brand Serif" upright and italic (from Playfair Display);
- `brand-ital.ttf`, `brand-slnt.ttf`: "Brand Ital" and "Brand Slnt", one `ital` (0–1) and one
  `slnt` (-10–0) axis (Inter's `wght` axis renamed: the far end is heavier, or lighter);
- `truncated.ttf`, `png.ttf`, `bad-cmap.ttf`, `bomb.woff2`, `bomb-directory.woff2`,
  `bomb-stream.woff2`: fonts that must be refused with a clear error.

`cff_copy(ttf, path, family)` writes a static TTF's outlines again as CFF (an OTF, "OTTO").
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

from fontTools import subset
from fontTools.fontBuilder import FontBuilder
from fontTools.pens.t2CharStringPen import T2CharStringPen
from fontTools.ttLib import TTCollection, TTFont

from renderer.data import data_dir

__all__ = ["ASCII", "cff_copy", "make_fonts", "woff2_bomb"]

ASCII = "".join(chr(c) for c in range(0x20, 0x7F))
_FONTS = data_dir("fonts")


def _subset(source: Path, family: str, style: str = "Regular") -> TTFont:
    font = TTFont(source, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=ASCII)
    subsetter.subset(font)
    _rename(font, family, style)
    return font


def _rename(font: TTFont, family: str, style: str) -> None:
    name = font["name"]
    for record in list(name.names):
        if record.nameID in (1, 2, 3, 4, 6, 16, 17, 21, 22, 25):
            name.removeNames(nameID=record.nameID)
    full = f"{family} {style}"
    for name_id, value in (
        (1, family),
        (2, style),
        (4, full),
        (6, full.replace(" ", "")),
        (16, family),
        (17, style),
        (3, f"test:{full}"),
    ):
        name.setName(value, name_id, 3, 1, 0x409)


def _axis(source: Path, path: Path, tag: str, lo: float, default: float, hi: float) -> Path:
    """The variable font at `source` with its one axis renamed `tag` and given this range,
    patched in its bytes (fontTools will not write `gvar` for an axis it does not know): its
    glyphs vary as before between the ends (an `ital` of 1 is the old heaviest weight, a
    `slnt` of -10 the old lightest), which is enough to see which end the engine chose. Its
    named instances are dropped (they name the old axis's values)."""
    data = bytearray(source.read_bytes())
    (count,) = struct.unpack_from(">H", data, 4)
    for i in range(count):
        name, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if name == b"fvar":
            (axes,) = struct.unpack_from(">H", data, offset + 4)
            struct.pack_into(">H", data, offset + 12, 0)  # instanceCount
            fixed = [round(v * 65536) for v in (lo, default, hi)]
            struct.pack_into(">4siii", data, offset + axes, tag.encode(), *fixed)
    path.write_bytes(bytes(data))
    return path


def _save(font: TTFont, path: Path, flavor: str | None = None) -> Path:
    font.flavor = flavor
    font.save(path)
    return path


ASSETS = Path(__file__).resolve().parent / "cases" / "assets"
GOOD, BAD = ASSETS / "fonts", ASSETS / "fonts-bad"


def ensure_fonts() -> dict[str, Path]:
    """The test fonts in `GOOD` and `BAD`, made when missing or when this file has changed.
    Made in a folder of their own and renamed into place file by file, so two test runs side
    by side (CI's two Pythons) never read a half-written font."""
    import hashlib
    import os
    import tempfile

    stamp = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    marker = GOOD / ".made-by"
    if not (marker.is_file() and marker.read_text() == stamp):
        GOOD.mkdir(parents=True, exist_ok=True)
        BAD.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=GOOD, prefix=".making-") as work:
            made = make_fonts(Path(work) / "good", Path(work) / "bad")
            for path in made.values():
                os.replace(path, (GOOD if path.parent.name == "good" else BAD) / path.name)
            (Path(work) / "stamp").write_text(stamp)
            os.replace(Path(work) / "stamp", marker)
    names = {
        p.stem: p
        for p in (*GOOD.iterdir(), *BAD.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }
    return names


def make_fonts(folder: Path, bad: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    bad.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    poppins = _FONTS / "Poppins"
    out["brand-regular"] = _save(
        _subset(poppins / "poppins-latin-400-normal.ttf", "Brand Sans"),
        folder / "brand-regular.ttf",
    )
    out["brand-bold"] = _save(
        _subset(poppins / "poppins-latin-700-normal.ttf", "Brand Sans", "Bold"),
        folder / "brand-bold.ttf",
    )
    inter = _FONTS / "Inter" / "inter-latin-wght-normal.ttf"
    out["brand-variable"] = _save(_subset(inter, "Brand Variable"), folder / "brand-variable.ttf")
    out["brand-web"] = _save(_subset(inter, "Brand Web"), folder / "brand-web.woff2", "woff2")
    ital, slnt = folder / "brand-ital.ttf", folder / "brand-slnt.ttf"
    _save(_subset(inter, "Brand Ital"), ital)
    _save(_subset(inter, "Brand Slnt"), slnt)
    out["brand-ital"] = _axis(ital, ital, "ital", 0, 0, 1)
    out["brand-slnt"] = _axis(slnt, slnt, "slnt", -10, 0, 0)
    playfair = _FONTS / "PlayfairDisplay"
    upright = _subset(playfair / "playfair-display-latin-wght-normal.ttf", "Brand Serif")
    italic = _subset(playfair / "playfair-display-latin-wght-italic.ttf", "Brand Serif", "Italic")
    collection = TTCollection()
    collection.fonts = [upright, italic]
    collection.save(folder / "brand-serif.ttc")
    out["brand-serif"] = folder / "brand-serif.ttc"
    out.update(_broken(bad, out["brand-regular"]))
    return out


def _broken(folder: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    out = {"truncated": folder / "truncated.ttf", "png": folder / "png.ttf"}
    out["truncated"].write_bytes(data[: len(data) // 3])
    out["png"].write_bytes((ASSETS / "avatar.png").read_bytes())
    out["bad-cmap"] = folder / "bad-cmap.ttf"
    out["bad-cmap"].write_bytes(_break_cmap(data))
    out["bomb"] = folder / "bomb.woff2"
    out["bomb"].write_bytes(woff2_bomb(declared=300_000_000, table=300_000_000, actual=1 << 20))
    out["bomb-directory"] = folder / "bomb-directory.woff2"
    out["bomb-directory"].write_bytes(
        woff2_bomb(declared=20_000, table=300_000_000, actual=1 << 20)
    )
    out["bomb-stream"] = folder / "bomb-stream.woff2"
    out["bomb-stream"].write_bytes(woff2_bomb(declared=20_000, table=20_000, actual=200_000_000))
    return out


def _break_cmap(data: bytes) -> bytes:
    """The font with its `cmap` table's subtable offsets pointing past the table's end."""
    (count,) = struct.unpack_from(">H", data, 4)
    out = bytearray(data)
    for i in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"cmap":
            (subtables,) = struct.unpack_from(">H", data, offset + 2)
            for k in range(subtables):
                struct.pack_into(">I", out, offset + 4 + 8 * k + 4, length + 4096 * (k + 1))
    return bytes(out)


def _base128(value: int) -> bytes:
    digits = []
    while True:
        digits.append(value & 0x7F)
        value >>= 7
        if not value:
            break
    digits.reverse()
    return bytes([d | 0x80 for d in digits[:-1]] + [digits[-1]])


def woff2_bomb(*, declared: int, table: int, actual: int) -> bytes:
    """A WOFF2 file of a few KB: its header declares `declared` bytes of sfnt, its one table
    directory entry (`name`) `table` bytes, and its brotli stream holds `actual` zero bytes."""
    import brotli

    stream = brotli.compress(bytes(actual), quality=1)
    directory = bytes([5]) + _base128(table)  # known tag 5 = 'name', null transform
    header_size = 48
    length = header_size + len(directory) + len(stream)
    header = struct.pack(
        ">4sIIHHIIHHIIIII",
        b"wOF2",
        0x00010000,
        length,
        1,
        0,
        declared,
        len(stream),
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    buf = io.BytesIO()
    buf.write(header)
    buf.write(directory)
    buf.write(stream)
    return buf.getvalue()


def cff_copy(source: Path, path: Path, family: str) -> Path:
    """`source`'s glyphs as cubic CFF charstrings in an OTF named `family` (Regular, 400)."""
    with TTFont(source, recalcTimestamp=False) as src:
        order, glyphs, metrics = src.getGlyphOrder(), src.getGlyphSet(), src["hmtx"].metrics
        charstrings = {}
        for name in order:
            pen = T2CharStringPen(metrics[name][0], glyphs)
            glyphs[name].draw(pen)
            charstrings[name] = pen.getCharString()
        os2, hhea = src["OS/2"], src["hhea"]
        fb = FontBuilder(src["head"].unitsPerEm, isTTF=False)
        fb.setupGlyphOrder(order)
        fb.setupCharacterMap(src.getBestCmap())
        fb.setupCFF(family.replace(" ", "") + "-Regular", {"FullName": family}, charstrings, {})
        fb.setupHorizontalMetrics({n: (metrics[n][0], 0) for n in order})
        fb.setupHorizontalHeader(ascent=hhea.ascent, descent=hhea.descent)
        fb.setupNameTable({"familyName": family, "styleName": "Regular"})
        fb.setupOS2(
            sTypoAscender=os2.sTypoAscender,
            sTypoDescender=os2.sTypoDescender,
            sTypoLineGap=os2.sTypoLineGap,
            usWinAscent=os2.usWinAscent,
            usWinDescent=os2.usWinDescent,
            usWeightClass=400,
        )
        fb.setupPost()
        fb.save(path)
    return path
