"""Fonts: the bundled families, fonts of one's own, CSS weight matching, per-character lookup.

Takes a family, weight and style; returns HarfBuzz fonts at the right variation. Every bundled
family is stored as unicode-range slices (as Fontsource ships them), so a CJK title loads only the
few slices its characters live in, the first time they are needed. A `FontLibrary` may register
fonts of the operator's own over the bundled ones (files and folders; `fontfiles` reads and
checks them), and a card's own `fonts` derive one more library (`with_faces`). Faces are created
once per process and never mutated afterwards, which is what makes sharing them between threads
and libraries safe.

Fallback works per grapheme cluster: a cluster (a letter with its marks, an emoji sequence) comes
whole from the first face of the chain that has every character of it: the requested family
(bundled or registered), Noto Sans, Noto Sans SC and TC (TC first for `lang` zh-Hant, zh-TW,
zh-HK, zh-MO; Noto Sans JP before both for `ja`), Noto Sans Arabic, Hebrew, KR, JP and Thai, then
the Twemoji colour emoji. Emoji-presentation clusters go to Twemoji first. KR, JP and Thai come
last so that they only draw what no earlier family has (Hangul, Thai): Han ideographs stay with
SC/TC unless the `lang` is Japanese. Whether a face is slanted for italic is decided per face:
a fallback family without an italic gets the synthesized oblique even when the primary has one.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import os
import re
import struct
import threading
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uharfbuzz as hb

from .data import data_dir
from .errors import FontError, FontLoadError, Issue
from .memory import collector_paused

if TYPE_CHECKING:
    from .fontfiles import FontFile

StrPath = str | os.PathLike[str]

__all__ = [
    "EMOJI_VIEWBOX",
    "FALLBACK_FAMILIES",
    "FONT_SUFFIXES",
    "IGNORABLE",
    "OBLIQUE_SLANT",
    "FaceInfo",
    "FontFace",
    "FontLibrary",
    "FontSource",
    "UnicodeRange",
    "covers",
    "face_infos",
    "fallback_chain",
    "han_preference",
    "library",
    "as_library",
    "match_weight",
    "register",
]

FALLBACK_FAMILIES = (
    "Noto Sans",
    "Noto Sans SC",
    "Noto Sans TC",
    "Noto Sans Arabic",
    "Noto Sans Hebrew",
    "Noto Sans KR",
    "Noto Sans JP",
    "Noto Sans Thai",
)
OBLIQUE_SLANT = math.tan(math.radians(14))  # synthesized oblique shear: CSS's default angle
EMOJI_VIEWBOX = 36.0  # Twemoji SVGs are drawn on a 36 × 36 canvas
_TRADITIONAL = re.compile(r"^zh[-_](hant|tw|hk|mo)\b", re.IGNORECASE)
_JAPANESE = re.compile(r"^ja\b", re.IGNORECASE)
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


class UnicodeRange:
    """A face's unicode-range, inclusive [first, last] pairs as the manifest lists them, sorted
    the first time a character is looked up: a text asks a handful of the 580 bundled faces,
    so a start does not sort and split 36,000 pairs it will not read. Equal by its pairs."""

    __slots__ = ("_parsed", "pairs")

    def __init__(self, pairs: Sequence[Sequence[int]]) -> None:
        self.pairs = pairs
        self._parsed: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def _sorted(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        spans = sorted(map(tuple, self.pairs))
        starts, ends = zip(*spans, strict=True) if spans else ((), ())
        parsed = self._parsed = (starts, ends)  # one store: a racing thread makes the same
        return parsed

    def spans(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The starts and the matching inclusive ends, sorted by start."""
        return self._parsed or self._sorted()

    def __contains__(self, cp: int) -> bool:
        starts, ends = self.spans()
        i = bisect.bisect_right(starts, cp) - 1
        return i >= 0 and cp <= ends[i]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UnicodeRange) and self.spans() == other.spans()

    def __hash__(self) -> int:
        return hash(self.spans())

    def __repr__(self) -> str:
        return f"UnicodeRange({self.pairs!r})"


ALL_CODEPOINTS = UnicodeRange(((0, 0x10FFFF),))


@dataclass(frozen=True, slots=True)
class FaceInfo:
    """One face of a font file: a bundled slice as the manifest describes it, or a registered
    face as its tables (or its registration) describe it."""

    family: str
    path: Path  # the file (for a face given as bytes, a name for messages only)
    subset: str  # the bundled slice's unicode-range subset; "all" for a registered face
    italic: bool
    weight: tuple[int, int]  # [min, max] CSS weight the face covers
    variable: bool  # has a `wght` axis, set to the matched weight
    ranges: UnicodeRange  # the characters it serves (bundled: its slice; registered: all)
    index: int = 0  # the face in a collection (TTC)
    data: bytes | None = field(default=None, repr=False, compare=False)  # sfnt, else `path`
    coords: tuple[tuple[str, float], ...] = ()  # other axes set for this face (ital, slnt)
    ident: str = ""  # unique identity of a registered face; "" = the bundled file's stem
    origin: str = ""  # the file as the user named it; "" for a bundled face
    digest: str = ""  # sha256 of a registered face's file ("" for a bundled one)

    @property
    def id(self) -> str:
        return self.ident or self.path.stem

    def in_range(self, cp: int) -> bool:
        return cp in self.ranges


@dataclass(frozen=True, slots=True, eq=False)
class FontFace:
    """A face at one weight: what shaping, metrics and outlines read. Immutable once made."""

    key: str  # unique: file identity and weight, used for caches and SVG determinism
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
    # font units: the underline's position (y up, negative below the baseline) and thickness,
    # and the strikeout's (`post` and `OS/2`, as browsers read them)
    underline: tuple[float, float] = (0.0, 0.0)
    strikeout: tuple[float, float] = (0.0, 0.0)

    @property
    def name(self) -> str:
        style = "Italic" if self.info.italic else ""
        return f"{self.info.family} {int(self.weight)}{(' ' + style) if style else ''}"

    @property
    def file(self) -> str:
        """The file that drew it, as the user named it (a bundled slice: its file name)."""
        return self.info.origin or self.info.path.name


@dataclass(frozen=True, slots=True)
class FontSource:
    """A font to register, and what to call it. `src`: a TTF, OTF, TTC, WOFF or WOFF2 file, a
    folder of them, or the bytes of one. `family`, `weight` (one CSS weight or a [min, max]
    range) and `style` ("normal" or "italic") default to what the file's own tables say."""

    src: str | os.PathLike[str] | bytes
    family: str | None = None
    weight: int | tuple[int, int] | None = None
    style: str | None = None


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


_Candidates = tuple[tuple[FaceInfo, ...], int, bool]
_INDEXED = 8  # candidate faces from which a code point is looked up in a `_Coverage`


class _Coverage:
    """Which faces of one candidate list serve a code point, in the list's order, by one
    bisection over all their ranges: a CJK family is ~100 slices, and a character not seen
    before was looked for in each in turn (3.5 ms a card of 36 new Han characters).

    The ranges of all the faces are sorted by start; `reach[j]` is the furthest end among the
    first j + 1, so the ranges holding `cp` are found walking left from the last start at or
    before it while the reach still gets to `cp` (one or two steps: slices hardly overlap)."""

    __slots__ = ("ends", "owners", "reach", "starts")

    def __init__(self, faces: Sequence[FaceInfo]) -> None:
        spans = sorted(
            (start, end, i)
            for i, face in enumerate(faces)
            for start, end in zip(*face.ranges.spans(), strict=True)
        )
        self.starts = [start for start, _, _ in spans]
        self.ends = [end for _, end, _ in spans]
        self.owners = [i for _, _, i in spans]
        self.reach = list(itertools.accumulate(self.ends, max))

    def faces(self, cp: int) -> list[int]:
        """Indices of the faces whose ranges hold `cp`, ascending."""
        j = bisect.bisect_right(self.starts, cp) - 1
        found = []
        while j >= 0 and self.reach[j] >= cp:
            if self.ends[j] >= cp:
                found.append(self.owners[j])
            j -= 1
        return sorted(found)


_CLUSTER_CACHE = 65_536  # clusters remembered per library; emptied when full


class FontLibrary:
    """Font families by name: the bundled collection, and the faces registered over it.

    `FontLibrary(["brand/", "Brand-Bold.otf", FontSource(data, family="Brand")])` registers every
    font in those files and folders (the operator's own: trusted, not sanitized); a registered
    family of a bundled family's name replaces it. Immutable once made, so one library can serve
    many threads and renders: its faces and lookups are cached for its lifetime. `library()` is
    the bundled collection alone. The fallback chain after any family is the bundled one, so a
    Latin brand font still draws CJK, Arabic, Hebrew, Thai and emoji."""

    def __init__(self, fonts: Iterable[StrPath | FontSource | bytes] = ()) -> None:
        from .limits import DEFAULT_LIMITS

        base = library()
        faces = register(
            fonts, DEFAULT_LIMITS.max_font_bytes, DEFAULT_LIMITS.max_font_decoded_bytes
        )
        self._setup(merge_families(base.families, faces), base.emoji, faces)

    def _setup(
        self,
        families: dict[str, tuple[FaceInfo, ...]],
        emoji: EmojiSet,
        registered: Iterable[FaceInfo] = (),
    ) -> None:
        self.families = families
        self._names = tuple(families)
        self.registered = tuple(dict.fromkeys(f.family for f in registered))
        self.emoji = emoji
        self._lock = threading.Lock()
        self._candidates: dict[tuple[str, int, bool], _Candidates] = {}
        self._coverage: dict[tuple[str, int, bool], _Coverage] = {}
        self._clusters: dict[tuple[str, str, int, bool, str], tuple[FontFace, bool] | None] = {}
        self._derived: dict[tuple[str, ...], FontLibrary] = {}

    @classmethod
    def from_manifest(cls, root: Path) -> FontLibrary:
        """The bundled collection in `root` (its `manifest.json`)."""
        with collector_paused():  # 580 faces, kept for the life of the process
            try:
                manifest: dict[str, Any] = json.loads((root / "manifest.json").read_text("utf-8"))
            except (OSError, ValueError) as e:
                msg = f"Cannot read the font manifest in {root}: {e}"
                raise FontError([Issue("", msg)]) from e
            families: dict[str, tuple[FaceInfo, ...]] = {}
            for family, entry in manifest["families"].items():
                faces = [cls._info(root, family, f) for f in entry["faces"]]
                # Latin slices first: they serve most text and settle overlaps between subsets.
                faces.sort(key=lambda f: (f.subset != "latin", f.subset != "latin-ext"))
                families[family] = tuple(faces)
        lib = cls.__new__(cls)
        lib._setup(families, EmojiSet(root / manifest["emoji"]["archive"]))
        return lib

    @staticmethod
    def _info(root: Path, family: str, f: dict[str, Any]) -> FaceInfo:
        return FaceInfo(
            family=family,
            path=root / f["file"],
            subset=f["subset"],
            italic=f["style"] == "italic",
            weight=(f["weight"][0], f["weight"][1]),
            variable="wght" in f.get("axes", {}),
            ranges=UnicodeRange(f["ranges"]),
        )

    def with_faces(self, faces: Sequence[FaceInfo]) -> FontLibrary:
        """This library with `faces` registered over it (a spec's own fonts). The same faces
        give the same library object, so a batch of cards sharing a brand font shares its
        caches too."""
        if not faces:
            return self
        key = tuple(f.id for f in faces) + tuple(f"{f.family}|{f.weight}|{f.italic}" for f in faces)
        with self._lock:
            found = self._derived.get(key)
            if found is None:
                if len(self._derived) >= 64:
                    self._derived.clear()
                found = self._derived[key] = FontLibrary.__new__(FontLibrary)
                registered = [f for f in self.faces_registered()] + list(faces)
                found._setup(merge_families(self.families, faces), self.emoji, registered)
        return found

    def faces_registered(self) -> list[FaceInfo]:
        return [f for name in self.registered for f in self.families.get(name, ())]

    def candidates(self, family: str, weight: int, italic: bool) -> _Candidates:
        """The slices that serve (family, weight, style), the matched weight, and whether an
        oblique must be synthesized because the family has no italic."""
        key = (family, weight, italic)
        found = self._candidates.get(key)
        if found is None:  # at most families x 2 styles x weights in use: small
            found = self._candidates[key] = self._find_candidates(family, weight, italic)
        return found

    def _find_candidates(self, family: str, weight: int, italic: bool) -> _Candidates:
        faces = self.families[family]
        styled = [f for f in faces if f.italic == italic] or list(faces)
        synthetic = italic and not any(f.italic for f in styled)
        matched = match_weight(weight, sorted({f.weight for f in styled}))
        chosen = tuple(f for f in styled if f.weight[0] <= matched <= f.weight[1])
        return chosen, matched, synthetic

    def face(self, info: FaceInfo, weight: float) -> FontFace:
        """The face of `info` at `weight`, created on first use (shared by every library)."""
        return _face(info, weight if info.variable else info.weight[0])

    def primary(self, family: str, weight: int, italic: bool) -> tuple[FontFace, bool]:
        """The face whose metrics set the line box (the first slice), and the oblique flag."""
        faces, matched, synthetic = self.candidates(family, weight, italic)
        return self.face(faces[0], matched), synthetic

    def face_for_cluster(
        self, cluster: str, family: str, weight: int, italic: bool, han: str | bool
    ) -> FontFace | None:
        """The face `face_and_slant_for_cluster` picks. Kept in its older form, a bool `han`
        (`is_traditional`) included, for the peer harness's fair comparison, which calls it."""
        if isinstance(han, bool):
            han = "tc" if han else "sc"
        found = self.face_and_slant_for_cluster(cluster, family, weight, italic, han)
        return None if found is None else found[0]

    def face_and_slant_for_cluster(
        self, cluster: str, family: str, weight: int, italic: bool, han: str
    ) -> tuple[FontFace, bool] | None:
        """The first face of the chain with a glyph for every visible character of `cluster`;
        failing that, the first with its first character; None when no face has that. With it,
        whether that face's family has no italic, so the face is slanted (an oblique) when
        italic is asked for. `han`: "sc", "tc" or "ja" (`han_preference`)."""
        key = (cluster, family, weight, italic, han)
        try:
            return self._clusters[key]
        except KeyError:
            pass
        found = self._find_for_cluster(cluster, family, weight, italic, han)
        if len(self._clusters) >= _CLUSTER_CACHE:
            self._clusters.clear()
        self._clusters[key] = found
        return found

    def _find_for_cluster(
        self, cluster: str, family: str, weight: int, italic: bool, han: str
    ) -> tuple[FontFace, bool] | None:
        needed, composed = _needs(cluster)
        needed = needed or [ord(cluster[0])]
        fallback: tuple[FontFace, bool] | None = None
        for fam in fallback_chain(family, han):
            faces, matched, synthetic = self.candidates(fam, weight, italic)
            for info in self._covering(fam, weight, italic, faces, needed[0]):
                face = self.face(info, matched)
                if _has_all(face, needed):
                    return face, synthetic
                if fallback is None and needed[0] in face.cmap:
                    fallback = face, synthetic
            # A letter and its combining marks (NFD text: macOS file names, some CMSs) that no
            # slice holds together: the slice with the precomposed letter, which HarfBuzz
            # composes them into when it shapes.
            if composed is None:
                continue
            for info in self._covering(fam, weight, italic, faces, composed[0]):
                face = self.face(info, matched)
                if _has_all(face, composed):
                    return face, synthetic
        return fallback

    def _covering(
        self, family: str, weight: int, italic: bool, faces: tuple[FaceInfo, ...], cp: int
    ) -> Iterable[FaceInfo]:
        """The faces of (family, weight, italic)'s candidates `faces` that serve `cp`, in order."""
        if len(faces) < _INDEXED:
            return (info for info in faces if info.in_range(cp))
        key = (family, weight, italic)
        coverage = self._coverage.get(key)
        if coverage is None:
            coverage = self._coverage[key] = _Coverage(faces)
        return (faces[i] for i in coverage.faces(cp))

    def names(self) -> tuple[str, ...]:
        """Every family a `fontFamily` may name."""
        return self._names


def _needs(cluster: str) -> tuple[list[int], list[int] | None]:
    """The visible characters of `cluster` a face must have, and their NFC form when it
    differs (a face with that draws the cluster too: HarfBuzz composes it)."""
    visible = IGNORABLE.sub("", cluster)
    nfc = unicodedata.normalize("NFC", visible)
    return [ord(c) for c in visible], None if nfc == visible else [ord(c) for c in nfc]


def _has_all(face: FontFace, codepoints: list[int]) -> bool:
    return all(cp in face.cmap for cp in codepoints)


def covers(face: FontFace, cluster: str) -> bool:
    """Whether `face` draws every visible character of `cluster` (as they are, or composed
    into one of its precomposed letters), so no part of it is a `.notdef` box: the test
    `face_and_slant_for_cluster` chooses by."""
    needed, composed = _needs(cluster)
    return _has_all(face, needed) or (composed is not None and _has_all(face, composed))


def merge_families(
    base: dict[str, tuple[FaceInfo, ...]], faces: Iterable[FaceInfo]
) -> dict[str, tuple[FaceInfo, ...]]:
    """`base` with `faces` registered over it: a registered family replaces a bundled one of
    the same name; faces registered under one name join each other."""
    added: dict[str, list[FaceInfo]] = {}
    for f in faces:
        added.setdefault(f.family, []).append(f)
    merged = dict(base)
    for family, found in added.items():
        merged[family] = tuple(found)
    return merged


def han_preference(lang: str | None) -> str:
    """Which Han glyph forms `lang` asks for: "tc" (Traditional Chinese: zh-Hant, zh-TW, zh-HK,
    zh-MO), "ja" (Japanese) or "sc" (Simplified Chinese, and the default)."""
    if lang and _TRADITIONAL.match(lang):
        return "tc"
    if lang and _JAPANESE.match(lang):
        return "ja"
    return "sc"


def is_traditional(lang: str | None) -> bool:
    """Whether `lang` asks for Traditional Chinese glyphs: the older question, kept because the
    peer harness's fair comparison (`../shared/peers/fair`) imports it; `han_preference` says
    more (Japanese too)."""
    return han_preference(lang) == "tc"


def fallback_chain(family: str, han: str = "sc") -> tuple[str, ...]:
    """The families tried for a character, in order: the requested one, then the bundled
    fallbacks (Han from SC, TC or JP first as `han` says)."""
    return _chain(family, han)


@cache
def _chain(family: str, han: str) -> tuple[str, ...]:
    first = {
        "sc": ("Noto Sans SC", "Noto Sans TC"),
        "tc": ("Noto Sans TC", "Noto Sans SC"),
        "ja": ("Noto Sans JP", "Noto Sans SC", "Noto Sans TC"),
    }[han]
    order = ("Noto Sans", *first, "Noto Sans Arabic", "Noto Sans Hebrew", "Noto Sans KR")
    order += tuple(f for f in ("Noto Sans JP", "Noto Sans Thai") if f not in order)
    return (family, *(f for f in order if f != family))


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


_faces: dict[tuple[str, str, bool, tuple[tuple[str, float], ...], float], FontFace] = {}
_faces_lock = threading.Lock()


def _face(info: FaceInfo, weight: float) -> FontFace:
    """The face of `info` at `weight`, made once per process: every library shares it (a file
    registered under two names is two faces, so each reports its own name)."""
    key = (info.id, info.family, info.italic, info.coords, weight)
    found = _faces.get(key)
    if found is not None:
        return found
    with _faces_lock:
        found = _faces.get(key)
        if found is None:
            if info.data is not None:
                _bound_data_faces()
            found = _faces[key] = _load(info, weight)
    return found


_DATA_FACES = 256  # faces of fonts held in memory (cards' own fonts) kept at most


def _bound_data_faces() -> None:
    """Forget the faces of fonts given as bytes once there are many: a long-lived server that
    draws many cards' own fonts must not keep every one (the files' faces are few and stay).
    Called with `_faces_lock` held; a face still in use elsewhere lives on there."""
    held = [k for k, face in _faces.items() if face.info.data is not None]
    if len(held) >= _DATA_FACES:
        for k in held:
            del _faces[k]
        _data_faces.clear()


def _load(info: FaceInfo, weight: float) -> FontFace:
    try:
        hb_face = _hb_face_of(info)
    except Exception as e:
        raise FontError([Issue("", f"Cannot load font {info.path.name}: {e}")]) from e
    font = hb.Font(hb_face)
    variations = dict(info.coords)
    if info.variable:
        variations["wght"] = weight
    if variations:
        font.set_variations(variations)
    extents = font.get_font_extents("ltr")
    coords = "".join(f",{tag}={value:g}" for tag, value in info.coords)
    return FontFace(
        key=f"{info.id}{coords}@{weight:g}",
        info=info,
        weight=weight,
        font=font,
        upem=hb_face.upem,
        ascender=float(extents.ascender),
        descender=float(-extents.descender),
        cmap=_cmap_of(info),
        bbox=_bbox(hb_face),
        underline=_line_metrics(hb_face, "post"),
        strikeout=_line_metrics(hb_face, "OS/2"),
    )


def _hb_face_of(info: FaceInfo) -> hb.Face:
    if info.data is None:
        return _hb_face(info.path, info.index)
    return _hb_face_data(info.id, info)


@cache
def _hb_face(path: Path, index: int = 0) -> hb.Face:
    return hb.Face(hb.Blob.from_file_path(str(path)), index)


_data_faces: dict[str, hb.Face] = {}


def _hb_face_data(ident: str, info: FaceInfo) -> hb.Face:
    found = _data_faces.get(ident)
    if found is None:
        assert info.data is not None
        found = _data_faces[ident] = hb.Face(hb.Blob(info.data), info.index)
    return found


def _bbox(face: hb.Face) -> tuple[float, float, float, float]:
    head = bytes(face.reference_table("head").data)
    if len(head) < 44:  # no usable head table: assume glyphs reach far
        return (-4.0 * face.upem, -4.0 * face.upem, 4.0 * face.upem, 4.0 * face.upem)
    x0, y0, x1, y1 = struct.unpack_from(">hhhh", head, 36)
    m = face.upem / 4
    return (x0 - m, y0 - m, x1 + m, y1 + m)


def _line_metrics(face: hb.Face, table: str) -> tuple[float, float]:
    """(position, thickness) in font units of the underline (`post`) or strikeout (`OS/2`),
    y up; a face without them gets CSS's usual fallbacks (1/20 em thick, the underline 1/10 em
    below the baseline, the strikeout at 0.3 em)."""
    data = bytes(face.reference_table(table).data)
    upem = face.upem
    if table == "post" and len(data) >= 12:
        position, thickness = struct.unpack_from(">hh", data, 8)
        if thickness > 0:
            return float(position), float(thickness)
        return float(position or -upem / 10), upem / 20
    if table == "OS/2" and len(data) >= 30:
        thickness, position = struct.unpack_from(">hh", data, 26)
        if thickness > 0:
            return float(position), float(thickness)
    return (-upem / 10, upem / 20) if table == "post" else (0.3 * upem, upem / 20)


def _cmap_of(info: FaceInfo) -> frozenset[int]:
    if info.data is None:
        return _cmap(info.path, info.index)
    return frozenset(_hb_face_of(info).unicodes)


@cache
def _cmap(path: Path, index: int = 0) -> frozenset[int]:
    """The code points a file maps, read once per file (every weight of a variable slice is a
    face of its own, and they share it)."""
    return frozenset(_hb_face(path, index).unicodes)


# --- registering the operator's fonts -------------------------------------------------------

FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2")
OBLIQUE_ANGLE = 14.0  # degrees: CSS's default oblique, also what a `slnt` axis is set to


def register(
    fonts: Iterable[StrPath | FontSource | bytes], max_bytes: int, max_decoded: int
) -> list[FaceInfo]:
    """Every face of the operator's fonts (files, folders of them, bytes), described by their
    own tables unless a `FontSource` says otherwise; FontLoadError names a file that cannot be
    used. A folder contributes its font files (by suffix, recursively, in name order; hidden
    ones skipped)."""
    from .fontfiles import read_font_bytes, read_font_path

    faces: list[FaceInfo] = []
    for item in fonts:
        source = item if isinstance(item, FontSource) else FontSource(item)
        src = source.src
        try:
            if isinstance(src, bytes):
                name = f"<{len(src)} bytes>"
                files = read_font_bytes(
                    src, name, trusted=True, max_bytes=max_bytes, max_decoded=max_decoded
                )
                faces += [f for file in files for f in face_infos(file, source)]
                continue
            for path in _font_paths(Path(src)):
                name = str(path)
                files = read_font_path(path, max_bytes=max_bytes, max_decoded=max_decoded)
                faces += [f for file in files for f in face_infos(file, source)]
        except ValueError as e:
            raise FontLoadError([Issue("", f"Cannot use font {name}: {e}.")]) from None
    return faces


def _font_paths(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(  # hidden files and folders skipped: macOS's "._x.ttf" is no font
            p
            for p in path.rglob("*")
            if p.suffix.lower() in FONT_SUFFIXES
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not found:
            raise FontLoadError(
                [Issue("", f"No font files (TTF, OTF, TTC, WOFF, WOFF2) in {path}.")]
            )
        return found
    if not path.exists():
        raise FontLoadError([Issue("", f"Cannot use font {path}: no such file or folder.")])
    return [path]


def face_infos(file: FontFile, source: FontSource | None = None) -> list[FaceInfo]:
    """The faces one font file contributes to its family: one, or, for a variable font with an
    `ital` axis (or only a `slnt` axis), an upright and an italic one (an oblique is set on the
    `slnt` axis, not synthesized)."""
    family = (source.family if source else None) or file.family
    weight = file.weight
    if source is not None and source.weight is not None:
        w = source.weight
        weight = (w, w) if isinstance(w, int) else (int(w[0]), int(w[1]))
    path = file.path or Path(file.origin)
    ident = f"{file.digest[:20]}{file.digest[64:]}#{file.index}"  # a sanitized one: "…:sN"
    base = FaceInfo(
        family=family,
        path=path,
        subset="all",
        italic=file.italic,
        weight=weight,
        variable=file.axis("wght") is not None,
        ranges=ALL_CODEPOINTS,
        index=file.index,
        data=file.data,
        ident=ident,
        origin=file.origin,
        digest=file.digest,
    )
    style = source.style if source else None
    if style is not None:
        return [_styled(base, style == "italic", file)]
    ital, slnt = file.axis("ital"), file.axis("slnt")
    if ital is not None and ital[0] <= 0 < 1 <= ital[2]:
        return [_styled(base, False, file), _styled(base, True, file)]
    if slnt is not None and slnt[0] < 0 and not file.italic:
        return [_styled(base, False, file), _styled(base, True, file)]
    return [base]


def _styled(base: FaceInfo, italic: bool, file: FontFile) -> FaceInfo:
    """`base` as its upright or italic face: the `ital` axis set to 0 or 1, or the `slnt` axis
    to the oblique angle (clamped to the axis) for italic."""
    coords: list[tuple[str, float]] = []
    ital, slnt = file.axis("ital"), file.axis("slnt")
    if ital is not None:
        coords.append(("ital", 1.0 if italic else 0.0))
    elif slnt is not None:
        lo, _, hi = slnt
        coords.append(
            ("slnt", max(lo, min(hi, -OBLIQUE_ANGLE)) if italic else max(lo, min(hi, 0.0)))
        )
    suffix = "".join(f",{t}={v:g}" for t, v in coords)
    return replace(base, italic=italic, coords=tuple(coords), ident=base.ident + suffix)


FontsArg = FontLibrary | Iterable[StrPath | FontSource | bytes] | None
_registered: dict[tuple[object, ...], FontLibrary] = {}


def as_library(fonts: FontsArg) -> FontLibrary:
    """What a `fonts=` argument means: the bundled library (None), a library as it is, or a
    library of the files and folders named, made once per process while they stay unchanged
    (the key holds each file's size and modification time)."""
    if fonts is None:
        return library()
    if isinstance(fonts, FontLibrary):
        return fonts
    items = tuple(fonts)
    key = tuple(_stamp(item) for item in items)
    found = _registered.get(key)
    if found is None:
        if len(_registered) >= 32:
            _registered.clear()
        found = _registered[key] = FontLibrary(items)
    return found


def _stamp(item: StrPath | FontSource | bytes) -> object:
    source = item if isinstance(item, FontSource) else FontSource(item)
    if isinstance(source.src, bytes):
        return (hash(source.src), len(source.src), source.family, source.weight, source.style)
    path = Path(source.src)
    try:
        files = [path] if not path.is_dir() else sorted(path.rglob("*"))
        stamps = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    except OSError:
        stamps = ()
    return (str(path), stamps, source.family, source.weight, source.style)


_library: FontLibrary | None = None
_library_lock = threading.Lock()


def library() -> FontLibrary:
    """The process-wide bundled library, read from the bundled `fonts/` on first use."""
    global _library
    if _library is None:
        with _library_lock:
            if _library is None:
                _library = FontLibrary.from_manifest(data_dir("fonts"))
    return _library
