"""Font matching as CSS Fonts Level 4 specifies it, fallback per character, bundled files only."""

from __future__ import annotations

import subprocess
import sys
import unicodedata

import pytest

import renderer
from renderer.data import data_dir
from renderer.fonts import library, match_weight
from renderer.text.shaping import ShapedText, shape

FAMILIES = [
    "Inter",
    "Noto Sans",
    "Noto Sans SC",
    "Noto Sans TC",
    "Poppins",
    "Roboto",
    "Playfair Display",
]


@pytest.mark.parametrize(
    ("desired", "available", "expected"),
    [
        (400, [(100, 100), (300, 300), (500, 500), (900, 900)], 500),  # 400: try 500 first
        (500, [(100, 100), (300, 300), (900, 900)], 300),  # 500: then lighter, descending
        (450, [(100, 100), (700, 700)], 100),  # 400-500: lighter before heavier
        (300, [(400, 900)], 400),  # lighter than any: nearest heavier
        (200, [(100, 100), (300, 300)], 100),  # < 400: lighter first
        (600, [(400, 400), (800, 800)], 800),  # > 500: heavier first
        (900, [(400, 400), (700, 700)], 700),  # nothing heavier: heaviest lighter
        (650, [(100, 900)], 650),  # inside a variable range: exact
    ],
)
def test_css_weight_matching(desired: int, available: list[tuple[int, int]], expected: int) -> None:
    assert match_weight(desired, available) == expected


def test_playfair_300_draws_400() -> None:
    _, matched, synthetic = library().candidates("Playfair Display", 300, False)
    assert (matched, synthetic) == (400, False)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("weight", [100, 400, 700, 900])
def test_every_family_serves_every_weight(family: str, weight: int) -> None:
    faces, matched, _ = library().candidates(family, weight, False)
    assert faces
    assert all(f.family == family and f.weight[0] <= matched <= f.weight[1] for f in faces)
    shaped = shape("Hamburgefonstiv 123", family, weight, False, 20.0, 0.0)
    assert not shaped.missing
    assert all(g.gid != 0 for item in shaped.items for g in item.glyphs)


def test_heavier_weight_is_wider() -> None:
    """The wght axis really moves: the same text is wider in Inter 900 than in Inter 100."""
    thin = sum(shape("Weight", "Inter", 100, False, 40.0, 0.0).char_advance)
    black = sum(shape("Weight", "Inter", 900, False, 40.0, 0.0).char_advance)
    assert black > thin * 1.05


@pytest.mark.parametrize(
    ("family", "has_italic"),
    [
        ("Inter", True),
        ("Roboto", True),
        ("Poppins", True),
        ("Playfair Display", True),
        ("Noto Sans", True),
        ("Noto Sans SC", False),
        ("Noto Sans TC", False),
    ],
)
def test_italic_real_or_synthesized(family: str, has_italic: bool) -> None:
    faces, _, synthetic = library().candidates(family, 400, True)
    assert synthetic is not has_italic
    assert all(f.italic for f in faces) is has_italic


def test_fallback_per_character() -> None:
    """A CJK character in an Inter title comes from Noto Sans SC; the Latin stays Inter."""
    shaped = shape("Hi 你好 Ωμέγα Привет", "Inter", 400, False, 20.0, 0.0)
    families = {
        shaped.text[g.cluster]: item.face.info.family
        for item in shaped.items
        if item.face is not None
        for g in item.glyphs
    }
    assert families["H"] == "Inter"
    assert families["你"] == "Noto Sans SC"
    assert families["Ω"] == "Inter"
    assert families["П"] == "Inter"
    assert not shaped.missing


def test_character_no_font_has_is_reported_missing() -> None:
    """No bundled font has Ethiopic: it is drawn as .notdef and reported; invisible format
    characters (a language tag) and emoji are not missing."""
    shaped = shape("a ሰ b \U000e0001 \U0001f9ff", "Inter", 400, False, 20.0, 0.0)
    assert shaped.missing == ("ሰ",)


@pytest.mark.parametrize("family", ["Inter", "Roboto", "Noto Sans", "Playfair Display"])
def test_decomposed_letters_draw_as_their_precomposed_forms(family: str) -> None:
    """NFD text (a letter, then its combining marks: macOS file names, some CMSs) draws the
    same glyphs as NFC: the bundled slices hold the precomposed letters (latin-ext) apart
    from the bare letters (latin), and no slice has every mark, so the cluster comes from the
    slice of its composed form, which HarfBuzz composes it into."""
    composed = "Dvořák Ǧ ṡċż İzmir Ångström"
    nfc = shape(composed, family, 400, False, 30.0, 0.0)
    nfd = shape(unicodedata.normalize("NFD", composed), family, 400, False, 30.0, 0.0)
    assert not nfd.missing
    assert _glyphs(nfd) == _glyphs(nfc)
    png = [
        renderer.render(
            {
                "width": 500,
                "height": 60,
                "components": [
                    {"type": "text", "text": text, "fontFamily": family, "fontSize": 30}
                ],
            },
            "png",
        )
        for text in (composed, unicodedata.normalize("NFD", composed))
    ]
    assert png[0] == png[1]


def _glyphs(shaped: ShapedText) -> list[tuple[str, int, float]]:
    return [
        (item.face.info.path.name if item.face else "", g.gid, round(g.advance, 3))
        for item in shaped.items
        for g in item.glyphs
    ]


def test_a_mark_no_face_has_is_reported_missing() -> None:
    """i + combining dot above (what İ lowercases to) has no precomposed form, and no Inter
    slice has the mark: the cluster is drawn in the face of its letter, the mark as .notdef,
    and reported, so `--strict` catches it."""
    shaped = shape("i\u0307stanbul", "Inter", 400, False, 20.0, 0.0)
    assert shaped.missing == ("i\u0307",)


@pytest.mark.parametrize("lang", [None, "ko", "zh-Hant"])
def test_hangul_and_thai_come_from_the_last_fallbacks(lang: str | None) -> None:
    """Noto Sans KR and Thai draw Hangul and Thai; they come after every other family, so Han
    ideographs stay with Noto Sans SC/TC (as `lang` picks) and Latin with the requested family."""
    shaped = shape("Hi 한국어 สวัสดี 字", "Inter", 700, False, 20.0, 0.0, lang)
    families = {
        shaped.text[g.cluster]: item.face.info.family
        for item in shaped.items
        if item.face is not None
        for g in item.glyphs
    }
    assert families["H"] == "Inter"
    assert families["한"] == families["국"] == "Noto Sans KR"
    assert families["ส"] == families["ด"] == "Noto Sans Thai"
    assert families["字"] == ("Noto Sans TC" if lang == "zh-Hant" else "Noto Sans SC")
    assert not shaped.missing
    assert all(g.gid != 0 for item in shaped.items for g in item.glyphs)


def test_korean_loads_only_the_slices_it_needs() -> None:
    """`import renderer` reads no font; a Korean title then opens a few of Noto Sans KR's 124
    slices, not the family (a fresh process, so nothing is loaded yet)."""
    code = (
        "import renderer\n"
        "from renderer import fonts\n"
        "assert fonts._library is None and fonts._hb_face.cache_info().currsize == 0\n"
        "renderer.render({'width': 300, 'height': 60, 'components': "
        "[{'type': 'text', 'text': '안녕하세요 한국어'}]}, 'png')\n"
        "print(sum(f.info.path.parent.name == 'NotoSansKR' for f in fonts._faces.values()))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert 1 <= int(result.stdout) <= 6


def test_only_bundled_fonts_are_read() -> None:
    root = data_dir("fonts").resolve()
    lib = library()
    for faces in lib.families.values():
        for info in faces:
            assert info.path.resolve().is_relative_to(root)
            assert info.path.is_file()


def test_the_older_traditional_flag_still_picks_the_han_forms() -> None:
    """`../shared/peers/fair` asks `face_for_cluster(..., is_traditional(lang))` (a bool)."""
    from renderer.fonts import is_traditional, library

    lib = library()
    for lang, han in (("zh-TW", "tc"), ("zh-CN", "sc"), (None, "sc")):
        old = lib.face_for_cluster("語", "Inter", 400, False, is_traditional(lang))
        new = lib.face_for_cluster("語", "Inter", 400, False, han)
        assert old is not None
        assert new is not None
        assert old.key == new.key


@pytest.mark.parametrize("family", ["Noto Sans SC", "Noto Sans JP", "Inter", "Noto Sans"])
def test_coverage_index_finds_the_faces_a_scan_finds(family: str) -> None:
    """The bisection index over a family's slices names the same faces, in the same order, as
    asking every slice in turn, for code points across the planes the slices cover."""
    from renderer.fonts import _INDEXED, _Coverage

    lib = library()
    faces, _, _ = lib.candidates(family, 400, False)
    coverage = _Coverage(faces)
    points = [*range(0x3000), *range(0x3000, 0xA000, 3), *range(0xA000, 0x30000, 11)]
    found = 0
    for cp in points:
        expected = [f for f in faces if f.in_range(cp)]
        assert [faces[i] for i in coverage.faces(cp)] == expected, hex(cp)
        found += bool(expected)
    assert found > 1000
    if family.startswith("Noto Sans ") and len(family) == 13:  # the CJK families: indexed
        assert len(faces) >= _INDEXED
