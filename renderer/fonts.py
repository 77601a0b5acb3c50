"""Fonts: the bundled families, CSS weight matching, and per-character face lookup.

Takes a family, weight and style; returns HarfBuzz fonts at the right variation. Every family is
stored as unicode-range slices (as Fontsource ships them), so a CJK title loads only the few slices
its characters live in, the first time they are needed. Faces are created once per process and
never mutated afterwards, which is what makes sharing them between threads safe.

Limitations: fallback order is fixed (requested family, then Noto Sans, SC, TC, Arabic, Hebrew);
combining marks stay with the face of their base character rather than being clustered properly.
"""

from __future__ import annotations

import bisect
import json
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import uharfbuzz as hb

from .data import data_dir
from .errors import FontError, Issue

__all__ = [
    "FALLBACK_FAMILIES",
    "OBLIQUE_SLANT",
    "FaceInfo",
    "FontFace",
    "FontLibrary",
    "library",
    "match_weight",
]

FALLBACK_FAMILIES = (
    "Noto Sans",
    "Noto Sans SC",
    "Noto Sans TC",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
)
OBLIQUE_SLANT = 0.25  # tan(14°): the synthesized oblique's shear, CSS's default oblique angle


@dataclass(frozen=True, slots=True)
class FaceInfo:
    """One font file as the manifest describes it."""

    family: str
    path: Path
    subset: str
    italic: bool
    weight: tuple[int, int]  # [min, max] CSS weight the file covers
    variable: bool
    starts: tuple[int, ...]  # unicode-range starts, sorted
    ends: tuple[int, ...]  # matching inclusive ends

    def in_range(self, cp: int) -> bool:
        i = bisect.bisect_right(self.starts, cp) - 1
        return i >= 0 and cp <= self.ends[i]


@dataclass(frozen=True, slots=True, eq=False)
class FontFace:
    """A face at one weight: what shaping, metrics and outlines read. Immutable once made."""

    key: str  # unique: file name and weight, used for caches and SVG determinism
    info: FaceInfo
    weight: float  # the wght coordinate (or the static face's weight)
    font: hb.Font = field(repr=False)
    upem: int
    ascender: float  # font units, positive up
    descender: float  # font units, positive down (absolute value)
    cmap: frozenset[int] = field(repr=False)

    @property
    def name(self) -> str:
        style = "Italic" if self.info.italic else ""
        return f"{self.info.family} {int(self.weight)}{(' ' + style) if style else ''}"


def match_weight(desired: int, ranges: list[tuple[int, int]]) -> int:
    """The weight CSS Fonts Level 4 §5.2 picks for `desired` from faces covering `ranges`."""
    if any(lo <= desired <= hi for lo, hi in ranges):
        return desired
    above = sorted(lo for lo, _ in ranges if lo > desired)
    below = sorted((hi for _, hi in ranges if hi < desired), reverse=True)
    if 400 <= desired <= 500:
        near = [w for w in above if w <= 500]
        order = near + below + [w for w in above if w > 500]
    elif desired < 400:
        order = below + above
    else:
        order = above + below
    return order[0]


class FontLibrary:
    """The bundled families, loaded lazily; one instance per process (see `library()`)."""

    def __init__(self, root: Path) -> None:
        try:
            manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text("utf-8"))
        except (OSError, ValueError) as e:
            raise FontError([Issue("", f"Cannot read the font manifest in {root}: {e}")]) from e
        self.families: dict[str, tuple[FaceInfo, ...]] = {}
        for family, entry in manifest["families"].items():
            faces = [self._info(root, family, f) for f in entry["faces"]]
            # Latin slices first: they serve most text and settle overlaps between subsets.
            faces.sort(key=lambda f: (f.subset != "latin", f.subset != "latin-ext"))
            self.families[family] = tuple(faces)
        self._lock = threading.Lock()
        self._faces: dict[tuple[Path, float], FontFace] = {}

    @staticmethod
    def _info(root: Path, family: str, f: dict[str, Any]) -> FaceInfo:
        ranges = sorted((int(a), int(b)) for a, b in f["ranges"])
        return FaceInfo(
            family=family,
            path=root / f["file"],
            subset=f["subset"],
            italic=f["style"] == "italic",
            weight=(f["weight"][0], f["weight"][1]),
            variable="wght" in f.get("axes", {}),
            starts=tuple(a for a, _ in ranges),
            ends=tuple(b for _, b in ranges),
        )

    def candidates(
        self, family: str, weight: int, italic: bool
    ) -> tuple[tuple[FaceInfo, ...], int, bool]:
        """The slices that serve (family, weight, style), the matched weight, and whether an
        oblique must be synthesized because the family has no italic."""
        faces = self.families[family]
        styled = [f for f in faces if f.italic == italic] or list(faces)
        synthetic = italic and not any(f.italic for f in styled)
        matched = match_weight(weight, sorted({f.weight for f in styled}))
        chosen = tuple(f for f in styled if f.weight[0] <= matched <= f.weight[1])
        return chosen, matched, synthetic

    def face(self, info: FaceInfo, weight: float) -> FontFace:
        """The face of `info` at `weight`, created on first use."""
        key = (info.path, weight if info.variable else info.weight[0])
        found = self._faces.get(key)
        if found is not None:
            return found
        with self._lock:
            found = self._faces.get(key)
            if found is None:
                found = self._faces[key] = self._load(info, key[1])
        return found

    @staticmethod
    def _load(info: FaceInfo, weight: float) -> FontFace:
        try:
            hb_face = _hb_face(info.path)
        except Exception as e:
            raise FontError([Issue("", f"Cannot load font {info.path.name}: {e}")]) from e
        font = hb.Font(hb_face)
        if info.variable:
            font.set_variations({"wght": weight})
        extents = font.get_font_extents("ltr")
        return FontFace(
            key=f"{info.path.stem}@{weight:g}",
            info=info,
            weight=weight,
            font=font,
            upem=hb_face.upem,
            ascender=float(extents.ascender),
            descender=float(-extents.descender),
            cmap=frozenset(hb_face.unicodes),
        )

    def primary(self, family: str, weight: int, italic: bool) -> tuple[FontFace, bool]:
        """The face whose metrics set the line box (the first slice), and the oblique flag."""
        faces, matched, synthetic = self.candidates(family, weight, italic)
        return self.face(faces[0], matched), synthetic

    @lru_cache(maxsize=65536)  # noqa: B019 - the library lives as long as the process
    def face_for(self, cp: int, family: str, weight: int, italic: bool) -> FontFace | None:
        """The first face in the fallback chain that has a glyph for `cp`, or None."""
        for fam in (family, *(f for f in FALLBACK_FAMILIES if f != family)):
            faces, matched, _ = self.candidates(fam, weight, italic)
            for info in faces:
                if info.in_range(cp):
                    face = self.face(info, matched)
                    if cp in face.cmap:
                        return face
        return None


@cache
def _hb_face(path: Path) -> hb.Face:
    return hb.Face(hb.Blob.from_file_path(str(path)))


_library: FontLibrary | None = None
_library_lock = threading.Lock()


def library() -> FontLibrary:
    """The process-wide font library, read from the bundled `fonts/` on first use."""
    global _library
    if _library is None:
        with _library_lock:
            if _library is None:
                _library = FontLibrary(data_dir("fonts"))
    return _library


def is_mark(ch: str) -> bool:
    """Characters that belong to the previous character's cluster and must share its face."""
    return (
        unicodedata.category(ch).startswith("M")
        or ch in "\u200d\ufe0e\ufe0f"
        or 0xE0100 <= ord(ch) <= 0xE01EF
    )
