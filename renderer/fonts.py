"""Fonts: the bundled families, CSS weight matching, and per-character face lookup.

Takes a family, weight and style; returns HarfBuzz fonts at the right variation. Every family is
stored as unicode-range slices (as Fontsource ships them), so a CJK title loads only the few slices
its characters live in, the first time they are needed. Faces are created once per process and
never mutated afterwards, which is what makes sharing them between threads safe.

Fallback works per grapheme cluster: a cluster (a letter with its marks, an emoji sequence) comes
whole from the first face of the chain that has every character of it: the requested family, Noto
Sans, Noto Sans SC and TC (TC first for `lang` zh-Hant, zh-TW, zh-HK, zh-MO), Noto Sans Arabic,
Hebrew, KR and Thai, then the Twemoji colour emoji. Emoji-presentation clusters go to Twemoji
first. KR and Thai come last so that they only draw what no earlier family has (Hangul, Thai):
Han ideographs stay with SC/TC whatever the `lang`.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import struct
import threading
import zipfile
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import uharfbuzz as hb

from .data import data_dir
from .errors import FontError, Issue

__all__ = [
    "EMOJI_VIEWBOX",
    "IGNORABLE",
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
    "Noto Sans KR",
    "Noto Sans Thai",
)
OBLIQUE_SLANT = math.tan(math.radians(14))  # synthesized oblique shear: CSS's default angle
EMOJI_VIEWBOX = 36.0  # Twemoji SVGs are drawn on a 36 × 36 canvas
_TRADITIONAL = re.compile(r"^zh[-_](hant|tw|hk|mo)\b", re.IGNORECASE)
IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff"
    "\U000e0000-\U000e0fff]"
)
# Emoji_Presentation=Yes below U+1F000 (Unicode emoji-data.txt); above it nearly all are.
_EMOJI_PRESENTATION_BMP = frozenset(
    [
        0x231A,
        0x231B,
        0x23E9,
        0x23EA,
        0x23EB,
        0x23EC,
        0x23F0,
        0x23F3,
        0x25FD,
        0x25FE,
        0x2614,
        0x2615,
        *range(0x2648, 0x2654),
        0x267F,
        0x2693,
        0x26A1,
        0x26AA,
        0x26AB,
        0x26BD,
        0x26BE,
        0x26C4,
        0x26C5,
        0x26CE,
        0x26D4,
        0x26EA,
        0x26F2,
        0x26F3,
        0x26F5,
        0x26FA,
        0x26FD,
        0x2705,
        0x270A,
        0x270B,
        0x2728,
        0x274C,
        0x274E,
        0x2753,
        0x2754,
        0x2755,
        0x2757,
        0x2795,
        0x2796,
        0x2797,
        0x27B0,
        0x27BF,
        0x2B1B,
        0x2B1C,
        0x2B50,
        0x2B55,
    ]
)


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
    # font units, y up: (xMin, yMin, xMax, yMax) bounding every glyph of the file (`head`),
    # widened by a quarter em because other instances of a variable font may reach further.
    # Culling judges whole runs with it before asking for any glyph's own extents.
    bbox: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

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
        self._candidates: dict[tuple[str, int, bool], tuple[tuple[FaceInfo, ...], int, bool]] = {}
        self.emoji = EmojiSet(root / manifest["emoji"]["archive"])

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
        key = (family, weight, italic)
        found = self._candidates.get(key)
        if found is None:  # at most families x 2 styles x weights in use: small
            found = self._candidates[key] = self._find_candidates(family, weight, italic)
        return found

    def _find_candidates(
        self, family: str, weight: int, italic: bool
    ) -> tuple[tuple[FaceInfo, ...], int, bool]:
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
            cmap=_cmap(info.path),
            bbox=_bbox(hb_face),
        )

    def primary(self, family: str, weight: int, italic: bool) -> tuple[FontFace, bool]:
        """The face whose metrics set the line box (the first slice), and the oblique flag."""
        faces, matched, synthetic = self.candidates(family, weight, italic)
        return self.face(faces[0], matched), synthetic

    @lru_cache(maxsize=65536)  # noqa: B019 - the library lives as long as the process
    def face_for_cluster(
        self, cluster: str, family: str, weight: int, italic: bool, traditional: bool
    ) -> FontFace | None:
        """The first face of the chain with a glyph for every visible character of `cluster`;
        failing that, the first with its first character; None when no face has that."""
        needed = [ord(c) for c in IGNORABLE.sub("", cluster)] or [ord(cluster[0])]
        fallback: FontFace | None = None
        for fam in _chain(family, traditional):
            faces, matched, _ = self.candidates(fam, weight, italic)
            for info in faces:
                if info.in_range(needed[0]):
                    face = self.face(info, matched)
                    if all(cp in face.cmap for cp in needed):
                        return face
                    if fallback is None and needed[0] in face.cmap:
                        fallback = face
        return fallback


def _chain(family: str, traditional: bool) -> tuple[str, ...]:
    han = ("Noto Sans TC", "Noto Sans SC") if traditional else ("Noto Sans SC", "Noto Sans TC")
    order = (
        "Noto Sans",
        *han,
        "Noto Sans Arabic",
        "Noto Sans Hebrew",
        "Noto Sans KR",
        "Noto Sans Thai",
    )
    return (family, *(f for f in order if f != family))


def is_traditional(lang: str | None) -> bool:
    """Whether `lang` asks for Traditional Chinese glyphs (and so Noto Sans TC before SC)."""
    return bool(lang and _TRADITIONAL.match(lang))


class EmojiSet:
    """Twemoji's SVGs, read from one zip on first use; each file is read once and kept."""

    def __init__(self, archive: Path) -> None:
        self._archive = archive
        self._lock = threading.Lock()
        self._names: frozenset[str] | None = None
        self._svgs: dict[str, str] = {}

    def _all_names(self) -> frozenset[str]:
        if self._names is None:
            with self._lock, zipfile.ZipFile(self._archive) as z:
                self._names = frozenset(n.removesuffix(".svg") for n in z.namelist())
        return self._names

    def key(self, cluster: str, only_if_emoji: bool = True) -> str | None:
        """The Twemoji file for `cluster`, following Twemoji's naming (FE0F dropped unless the
        sequence has a ZWJ); with `only_if_emoji`, only for clusters shown as emoji by default."""
        if only_if_emoji and not _emoji_presentation(cluster):
            return None
        names = self._all_names()
        full = "-".join(f"{ord(c):x}" for c in cluster)
        if full in names:
            return full
        bare = "-".join(f"{ord(c):x}" for c in cluster if c != "\ufe0f")
        return bare if bare in names else None

    def svg(self, key: str) -> str:
        found = self._svgs.get(key)
        if found is None:
            with self._lock, zipfile.ZipFile(self._archive) as z:
                found = self._svgs[key] = z.read(f"{key}.svg").decode("utf-8")
        return found


def _emoji_presentation(cluster: str) -> bool:
    first = ord(cluster[0])
    if "\ufe0e" in cluster:
        return False
    if "\ufe0f" in cluster or "\u20e3" in cluster or "\u200d" in cluster:
        return True
    return first >= 0x1F000 or first in _EMOJI_PRESENTATION_BMP


@cache
def _hb_face(path: Path) -> hb.Face:
    return hb.Face(hb.Blob.from_file_path(str(path)))


def _bbox(face: hb.Face) -> tuple[float, float, float, float]:
    head = bytes(face.reference_table("head").data)
    if len(head) < 44:  # no usable head table: assume glyphs reach far
        return (-4.0 * face.upem, -4.0 * face.upem, 4.0 * face.upem, 4.0 * face.upem)
    x0, y0, x1, y1 = struct.unpack_from(">hhhh", head, 36)
    m = face.upem / 4
    return (x0 - m, y0 - m, x1 + m, y1 + m)


@cache
def _cmap(path: Path) -> frozenset[int]:
    """The code points a file maps, read once per file (every weight of a variable slice is a
    face of its own, and they share it)."""
    return frozenset(_hb_face(path).unicodes)


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
