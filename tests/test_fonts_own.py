"""Fonts of one's own (issue 15) through every way in: the Python API (`fonts=`, `FontLibrary`),
`--font-dir` on the CLI, a card's own `fonts` list (sanitized), the server (`--font-dir`,
`--allow-spec-fonts`) and batch manifests; CSS weight matching over registered faces; variable
axes; collections; and broken fonts, each a clear error, never a crash or a hang.

The fonts are made at test time from the bundled OFL fonts (`tests/fontmaker.py`).
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fontmaker import BAD, GOOD, cff_copy, ensure_fonts
from PIL import Image
from server_process import ServerProcess, serve

import renderer
from renderer.errors import FontLoadError, SpecError
from renderer.fonts import FontLibrary, FontSource
from renderer.layout import TextBox

ensure_fonts()
BROKEN = ["truncated", "png", "bad-cmap", "bomb", "bomb-directory", "bomb-stream"]
WHY = {
    "truncated": "truncated",
    "png": "PNG image",
    "bad-cmap": "cmap",
    "bomb": "declares 300000000 bytes",
    "bomb-directory": "table directory declares",
    "bomb-stream": "decompressed",
}


def _font(name: str) -> Path:
    found = [p for p in (*GOOD.iterdir(), *BAD.iterdir()) if p.stem == name and p.is_file()]
    assert found, name
    return found[0]


def _card(*components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"width": 400, "height": 120, "components": list(components), **extra}


def _text(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "x": 10, "y": 10, "fontSize": 24, **props}


def _faces(spec: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    _, report = renderer.render(spec, "png", report=True, **kwargs)
    faces = report.components[0].faces
    assert faces is not None
    return faces


def _pixels(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.int16)


# --- registering: the Python API -------------------------------------------------------------


def test_a_folder_registers_every_family_by_its_name_table() -> None:
    lib = FontLibrary([GOOD])
    assert set(lib.registered) == {
        "Brand Sans",
        "Brand Variable",
        "Brand Web",
        "Brand Serif",
        "Brand Ital",
        "Brand Slnt",
    }
    sans = lib.families["Brand Sans"]
    assert sorted(f.weight for f in sans) == [(400, 400), (700, 700)]
    serif = lib.families["Brand Serif"]  # a collection: both faces, upright and italic
    assert sorted(f.italic for f in serif) == [False, True]
    assert {f.index for f in serif} == {0, 1}
    assert "Inter" in lib.families, "the bundled families stay"


def test_render_draws_a_registered_family_and_falls_back_to_the_bundled_ones() -> None:
    spec = _card(_text("Brand 中文 شكرا", fontFamily="Brand Sans"))
    faces = _faces(spec, fonts=[GOOD])
    assert faces["Brand Sans 400"] == "Brand"
    assert faces["Noto Sans SC 400"] == "中文"
    assert "Noto Sans Arabic 400" in faces
    inter = _pixels(renderer.render(_card(_text("Brand 中文 شكرا")), "png"))
    brand = _pixels(renderer.render(spec, "png", fonts=FontLibrary([GOOD])))
    assert (np.abs(inter - brand).max(axis=2) > 64).sum() > 100, "the brand font drew the Latin"


def test_a_woff_file_and_a_woff_data_uri_draw_as_the_ttf_does(tmp_path: Path) -> None:
    """WOFF 1.0 (zlib tables) both ways in: the operator's file (decoded by fontTools) and a
    card's own (decoded by OTS); each draws the same pixels as the TTF it was made from."""
    from fontTools.ttLib import TTFont

    woff = tmp_path / "brand.woff"
    with TTFont(_font("brand-regular")) as font:
        font.flavor = "woff"
        font.save(woff)
    assert woff.read_bytes()[:4] == b"wOFF"
    spec = _card(_text("Hamburg AV", fontFamily="Brand Sans"))
    ttf = renderer.render(spec, "png", fonts=[_font("brand-regular")])
    assert renderer.render(spec, "png", fonts=[woff]) == ttf
    data = base64.b64encode(woff.read_bytes()).decode()
    own = _card(spec["components"][0], fonts=[{"src": f"data:font/woff;base64,{data}"}])
    assert (np.abs(_pixels(renderer.render(own, "png")) - _pixels(ttf)) > 8).sum() == 0


def test_an_otf_with_cff_outlines_draws_as_its_ttf_does(tmp_path: Path) -> None:
    """CFF outlines (an OTF made from the TTF's glyphs), registered and as a card's own."""
    otf = cff_copy(_font("brand-regular"), tmp_path / "brand-cff.otf", "Brand CFF")
    assert otf.read_bytes()[:4] == b"OTTO"
    ttf = _pixels(
        renderer.render(
            _card(_text("Hamburg AV", fontFamily="Brand Sans")),
            "png",
            fonts=[_font("brand-regular")],
        )
    )
    spec = _card(_text("Hamburg AV", fontFamily="Brand CFF"))
    assert (np.abs(_pixels(renderer.render(spec, "png", fonts=[otf])) - ttf) > 32).sum() == 0
    data = base64.b64encode(otf.read_bytes()).decode()
    own = _card(spec["components"][0], fonts=[{"src": f"data:font/otf;base64,{data}"}])
    assert (np.abs(_pixels(renderer.render(own, "png")) - ttf) > 32).sum() == 0


@pytest.mark.parametrize(
    ("weight", "face"),
    [
        (300, "Brand Sans 400"),
        (500, "Brand Sans 400"),
        (600, "Brand Sans 700"),
        (900, "Brand Sans 700"),
    ],
)
def test_weights_match_across_registered_faces_as_css_does(weight: int, face: str) -> None:
    """CSS Fonts 4 §5.2 over the two static files: 500 falls back below first, 600 above."""
    spec = _card(_text("Weight", fontFamily="Brand Sans", fontWeight=weight))
    assert list(_faces(spec, fonts=[GOOD])) == [face]


def test_a_variable_font_is_drawn_at_the_asked_weight() -> None:
    widths = {}
    for weight in (100, 500, 900):
        spec = _card(_text("Variable weight", fontFamily="Brand Variable", fontWeight=weight))
        layout = renderer.lay_out_spec(spec, fonts=[GOOD])
        box = layout.boxes[0]
        assert isinstance(box, TextBox)
        widths[weight] = box.text.lines[0].width
        assert list(box.text.faces) == [f"Brand Variable {weight}"]
    assert widths[100] < widths[500] < widths[900], widths


def test_italic_comes_from_the_collection_face_and_fallback_is_slanted_per_face() -> None:
    spec = _card(_text("Serif 中", fontFamily="Brand Serif", fontStyle="italic"))
    _, report = renderer.render(spec, "png", report=True, fonts=[GOOD])
    runs = report.components[0].runs
    assert runs is not None
    by_text = {str(run["text"]).strip(): run for run in runs[0] if str(run["text"]).strip()}
    assert by_text["Serif"]["face"] == "Brand Serif 400 Italic"
    assert by_text["Serif"]["oblique"] is False  # a real italic
    assert by_text["中"]["oblique"] is True  # Noto Sans SC has none: slanted


@pytest.mark.parametrize(
    ("family", "axis", "wider"), [("Brand Ital", "ital", True), ("Brand Slnt", "slnt", False)]
)
def test_an_ital_or_slnt_axis_gives_the_family_its_italic(
    family: str, axis: str, wider: bool
) -> None:
    """Italic is the `ital` axis at 1, or the `slnt` axis at the oblique angle (here -10, the
    axis's end): no synthesized slant. The test fonts' far ends are heavier (ital) and lighter
    (slnt) than their upright, so the line's width shows which end was drawn."""
    widths = {}
    for style in ("normal", "italic"):
        spec = _card(_text("Hamburg", fontFamily=family, fontStyle=style))
        _, report = renderer.render(spec, "png", report=True, fonts=[GOOD])
        (entry,) = report.components
        assert entry.runs is not None
        (run,) = entry.runs[0]
        assert run["oblique"] is False
        assert run["face"] == f"{family} 400" + (" Italic" if style == "italic" else "")
        widths[style] = entry.box.width
    assert (widths["italic"] > widths["normal"]) is wider, widths
    faces = FontLibrary([GOOD]).families[family]
    assert sorted((f.italic, f.coords[0][0]) for f in faces) == [(False, axis), (True, axis)]


def test_font_source_names_family_weight_and_style() -> None:
    data = _font("brand-regular").read_bytes()
    lib = FontLibrary([FontSource(data, family="House", weight=300, style="italic")])
    (face,) = lib.families["House"]
    assert (face.weight, face.italic) == ((300, 300), True)
    spec = _card(_text("House", fontFamily="House", fontWeight=300, fontStyle="italic"))
    assert list(_faces(spec, fonts=lib)) == ["House 300 Italic"]


def test_an_unknown_family_names_its_pointer_and_the_closest_registered_name() -> None:
    spec = _card(_text("x"), _text("y", fontFamily="Brand Sanz"))
    with pytest.raises(SpecError) as e:
        renderer.render(spec, "png", fonts=[GOOD])
    (issue,) = e.value.issues
    assert issue.pointer == "/components/1/fontFamily"
    assert "Did you mean 'Brand Sans'?" in issue.message
    with pytest.raises(SpecError, match="Brand Sanz"):
        renderer.validate(spec, fonts=[GOOD])


def test_a_span_family_is_checked_at_its_own_pointer() -> None:
    spec = _card({"type": "text", "spans": [{"text": "a"}, {"text": "b", "fontFamily": "Nope"}]})
    with pytest.raises(SpecError) as e:
        renderer.validate(spec)
    assert [i.pointer for i in e.value.issues] == ["/components/0/spans/1/fontFamily"]


# --- a card's own fonts ------------------------------------------------------------------------


def test_a_card_brings_its_font_as_a_data_uri_family_from_its_name_table() -> None:
    data = base64.b64encode(_font("brand-web").read_bytes()).decode()
    spec = _card(
        _text("Web font", fontFamily="Brand Web", fontWeight=700),
        fonts=[{"src": f"data:font/woff2;base64,{data}"}],
    )
    assert list(_faces(spec)) == ["Brand Web 700"]


def test_a_card_font_file_is_read_beside_the_spec(tmp_path: Path) -> None:
    (tmp_path / "brand.ttf").write_bytes(_font("brand-bold").read_bytes())
    spec = _card(
        _text("Bold", fontFamily="Mine", fontWeight=700),
        fonts=[{"family": "Mine", "src": "brand.ttf", "weight": 700}],
    )
    path = tmp_path / "card.json"
    path.write_text(json.dumps(spec))
    _, report = renderer.render(path, "png", report=True)
    assert report.components[0].faces == {"Mine 700": "Bold"}


def test_card_fonts_are_refused_where_the_policy_takes_none() -> None:
    data = base64.b64encode(_font("brand-regular").read_bytes()).decode()
    spec = _card(
        _text("x", fontFamily="Brand Sans"), fonts=[{"src": f"data:font/ttf;base64,{data}"}]
    )
    with pytest.raises(FontLoadError, match="--allow-spec-fonts") as e:
        renderer.render(spec, "png", image_policy=renderer.ImagePolicy.server())
    assert e.value.issues[0].pointer == "/fonts/0/src"


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_card_font_is_a_clear_error(name: str) -> None:
    data = base64.b64encode(_font(name).read_bytes()).decode()
    spec = _card(_text("x"), fonts=[{"family": "B", "src": f"data:font/ttf;base64,{data}"}])
    started = time.monotonic()
    with pytest.raises(FontLoadError) as e:
        renderer.render(spec, "png")
    assert time.monotonic() - started < 10  # a bomb is refused, not decoded
    (issue,) = e.value.issues
    assert issue.pointer == "/fonts/0/src"
    assert WHY[name] in issue.message, issue.message


@pytest.mark.parametrize("name", BROKEN)
def test_a_broken_registered_font_is_a_clear_error(name: str) -> None:
    with pytest.raises(FontLoadError) as e:
        FontLibrary([_font(name)])
    assert _font(name).name in str(e.value)
    assert WHY[name] in str(e.value), str(e.value)


def test_a_card_s_fonts_are_bounded_in_number_and_bytes() -> None:
    data = base64.b64encode(_font("brand-regular").read_bytes()).decode()
    entry = {"src": f"data:font/ttf;base64,{data}"}
    spec = _card(_text("x"), fonts=[entry, entry, entry])
    with pytest.raises(renderer.LimitError) as e:
        renderer.render(spec, "png", limits=renderer.Limits(max_spec_fonts=2))
    assert e.value.issues[0].pointer == "/fonts"
    with pytest.raises(renderer.LimitError, match="max_spec_font_bytes") as e:
        renderer.render(spec, "png", limits=renderer.Limits(max_spec_font_bytes=1000))
    assert e.value.issues[0].pointer == "/fonts/0/src"


def test_a_card_s_copy_of_a_registered_file_is_its_own_sanitized_face() -> None:
    """OTS rewrites the tables it passes, so a card's copy of the operator's file is never drawn
    with the operator's face (the report names where each came from)."""
    path = _font("brand-regular")
    spec = _card(_text("AV", fontFamily="Brand Sans"))
    _, registered = renderer.render(spec, "png", fonts=[path], report=True)
    data = base64.b64encode(path.read_bytes()).decode()
    _, own = renderer.render(
        {**spec, "fonts": [{"src": f"data:font/ttf;base64,{data}"}]}, "png", report=True
    )
    assert registered.components[0].runs is not None
    assert own.components[0].runs is not None
    assert registered.components[0].runs[0][0]["file"] == str(path)
    assert own.components[0].runs[0][0]["file"] == "/fonts/0"


def _own(raw: bytes, pad: int) -> list[dict[str, str]]:
    """A card's own font: `raw` padded by `pad` bytes (another file, the same glyphs)."""
    return [{"src": f"data:font/ttf;base64,{base64.b64encode(raw + bytes(pad)).decode()}"}]


def test_faces_of_many_cards_own_fonts_are_not_all_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most `_DATA_FACES` faces of fonts given as bytes are kept. A card's library keeps
    the faces it found before they were forgotten, so a text drawn after that from old and
    new faces of one font is still shaped as one run (kerned across them)."""
    from renderer import fonts

    monkeypatch.setattr(fonts, "_DATA_FACES", 3)
    raw = _font("brand-regular").read_bytes()
    title = _text("AV, Hamburg 400", fontFamily="Brand Sans")
    expected = renderer.render(_card(title, fonts=_own(raw, 400)), "png")  # a fresh library
    renderer.render(_card(_text("A", fontFamily="Brand Sans"), fonts=_own(raw, 0)), "png")
    for i in range(6):  # six different files (padded differently): six faces made
        spec = _card(_text("x", fontFamily="Brand Sans"), fonts=_own(raw, 4 * (i + 1)))
        renderer.render(spec, "png")
        assert sum(f.info.data is not None for f in fonts._faces.values()) <= 3
    assert renderer.render(_card(title, fonts=_own(raw, 0)), "png") == expected


# --- spans ------------------------------------------------------------------------------------


def test_placeholders_fill_spans() -> None:
    spec = _card(
        {
            "type": "text",
            "frameWidth": 380,
            "spans": [{"text": "Hello "}, {"text": "{{ name }}", "fontSize": "{{ size }}"}],
        }
    )
    _, report = renderer.render(spec, "png", report=True, variables={"name": "Ada", "size": "40"})
    (entry,) = report.components
    assert entry.lines == ("Hello Ada",)
    assert entry.runs is not None
    assert [run["fontSize"] for run in entry.runs[0]] == [16.0, 40.0]


def test_spans_wrap_in_a_stack_and_push_what_follows() -> None:
    spans = [{"text": "A title in spans "}, {"text": "that wraps in its stack", "fontWeight": 800}]
    spec = {
        "width": 300,
        "height": 200,
        "components": [
            {
                "type": "stack",
                "width": 200,
                "children": [{"type": "text", "fontSize": 20, "spans": spans}, _text("after")],
            }
        ],
    }
    _, report = renderer.render(spec, "png", report=True)
    title, after = report.components[1], report.components[2]
    assert title.lines is not None
    assert len(title.lines) >= 2
    assert after.box.y >= title.box.y + title.box.height - 0.01
    assert title.pushed


def test_a_larger_span_makes_its_line_taller() -> None:
    plain = renderer.lay_out_spec(_card(_text("one line")))
    spans = [{"text": "one "}, {"text": "big", "fontSize": 48}]
    mixed = renderer.lay_out_spec(
        _card({"type": "text", "x": 10, "y": 10, "fontSize": 24, "spans": spans})
    )
    a, b = plain.boxes[0], mixed.boxes[0]
    assert isinstance(a, TextBox)
    assert isinstance(b, TextBox)
    assert a.box.height == pytest.approx(24 * 1.2)
    assert b.box.height > a.box.height
    assert b.text.lines[0].baseline > a.text.lines[0].baseline


def test_vertical_align_places_the_lines_in_the_frame() -> None:
    tops = {}
    for align in ("top", "middle", "bottom"):
        spec = _card(_text("x", frameWidth=100, frameHeight=100, verticalAlign=align))
        box = renderer.lay_out_spec(spec).boxes[0]
        assert isinstance(box, TextBox)
        tops[align] = box.text.lines[0].top - box.box.y
    line = 24 * 1.2
    assert tops == pytest.approx({"top": 0.0, "middle": (100 - line) / 2, "bottom": 100 - line})


def test_balance_evens_the_lines_and_keeps_their_number() -> None:
    text = "Balanced headlines keep their lines about as long as each other"

    def widths(mode: str) -> list[float]:
        box = renderer.lay_out_spec(_card(_text(text, frameWidth=360, textWrap=mode))).boxes[0]
        assert isinstance(box, TextBox)
        return [line.width for line in box.text.lines]

    greedy, balanced = widths("wrap"), widths("balance")
    assert len(greedy) == len(balanced) == 3
    assert max(balanced) - min(balanced) < max(greedy) - min(greedy)


def test_lang_ja_draws_han_from_noto_sans_jp() -> None:
    assert list(_faces(_card(_text("漢字", lang="ja")))) == ["Noto Sans JP 400"]
    assert list(_faces(_card(_text("漢字")))) == ["Noto Sans SC 400"]


# --- the command line --------------------------------------------------------------------------


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "renderer", *args], capture_output=True, text=True, cwd=cwd
    )


def test_cli_font_dir_renders_and_fonts_lists_the_files(tmp_path: Path) -> None:
    spec = tmp_path / "card.json"
    spec.write_text(json.dumps(_card(_text("Brand", fontFamily="Brand Serif"))))
    done = _cli("render", str(spec), "-o", str(tmp_path / "out.png"), "--font-dir", str(GOOD))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.png").stat().st_size > 0
    listed = _cli("fonts", "--font-dir", str(GOOD))
    assert listed.returncode == 0, listed.stderr
    assert "Brand Serif" in listed.stdout
    assert "(registered)" in listed.stdout
    assert "brand-serif.ttc #1" in listed.stdout
    plain = _cli("render", str(spec), "-o", str(tmp_path / "plain.png"))
    assert plain.returncode == 2
    assert "Brand Serif" in plain.stderr  # unknown without the folder


@pytest.mark.parametrize("name", ["truncated", "png", "bomb", "bad-cmap"])
def test_cli_broken_fonts_exit_with_a_message(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / _font(name).name).write_bytes(_font(name).read_bytes())
    spec = tmp_path / "card.json"
    spec.write_text(json.dumps(_card(_text("x"))))
    done = _cli("render", str(spec), "-o", str(tmp_path / "o.png"), "--font-dir", str(folder))
    assert done.returncode == 2
    assert WHY[name] in done.stderr
    assert "Traceback" not in done.stderr
    own = tmp_path / "own.json"
    own.write_text(json.dumps(_card(_text("x"), fonts=[{"src": f"fonts/{_font(name).name}"}])))
    done = _cli("render", str(own), "-o", str(tmp_path / "o.png"))
    assert done.returncode == 1, done.stderr
    assert "/fonts/0/src" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("batch", "{specs}", "-o", "{out}"),
        ("serve", "--host", "127.0.0.1", "--port", "0"),
        ("fonts",),
    ],
)
def test_batch_serve_and_fonts_refuse_a_broken_font_dir_at_start(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    folder = tmp_path / "fonts"
    folder.mkdir()
    (folder / "bad-cmap.ttf").write_bytes(_font("bad-cmap").read_bytes())
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.json").write_text(json.dumps(_card(_text("x"))))
    args = [a.format(specs=tmp_path / "specs", out=tmp_path / "out") for a in command]
    done = subprocess.run(
        [sys.executable, "-m", "renderer", *args, "--font-dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "bad-cmap.ttf" in done.stderr
    assert WHY["bad-cmap"] in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_preflight_lists_a_card_s_font_sources_and_the_preview_watches_font_files(
    tmp_path: Path,
) -> None:
    from renderer.preview.session import Session, View

    doc = _card(_text("x"), fonts=[{"src": "own.ttf"}, {"src": "https://fonts.example/a.woff2"}])
    asked = renderer.preflight(doc)
    assert [(f.pointer, f.kind) for f in asked.fonts] == [
        ("/fonts/0/src", "path"),
        ("/fonts/1/src", "url"),
    ]
    spec = tmp_path / "card.json"
    spec.write_text(json.dumps(doc))
    (tmp_path / "own.ttf").write_bytes(_font("brand-regular").read_bytes())
    session = Session(spec, [], (str(GOOD),))
    session.frame(View())
    watched = session.watched()
    assert tmp_path / "own.ttf" in watched
    assert {p for p in GOOD.iterdir() if p.suffix in (".ttf", ".ttc", ".woff2")} <= watched


# --- batch: a changed font redraws its cards ----------------------------------------------------


def test_batch_redraws_when_a_font_file_changes(tmp_path: Path) -> None:
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    font = fonts / "brand.ttf"
    font.write_bytes(_font("brand-regular").read_bytes())
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.json").write_text(json.dumps(_card(_text("a", fontFamily="Brand Sans"))))
    own = _card(_text("b", fontFamily="Own"), fonts=[{"family": "Own", "src": "own.ttf"}])
    (specs / "b.json").write_text(json.dumps(own))
    (specs / "own.ttf").write_bytes(_font("brand-bold").read_bytes())
    out = tmp_path / "out"

    def batch() -> dict[str, Any]:
        done = _cli("batch", str(specs), "-o", str(out), "--font-dir", str(fonts), "--json")
        assert done.returncode == 0, done.stderr
        summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return summary

    assert batch()["rendered"] == 2
    assert batch()["rendered"] == 0  # nothing changed
    font.write_bytes(_font("brand-bold").read_bytes())  # the operator's font changed
    assert batch()["rendered"] == 2
    (specs / "own.ttf").write_bytes(_font("brand-regular").read_bytes())  # the card's own
    assert batch()["rendered"] == 1


# --- the server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Any:
    d = tmp_path_factory.mktemp("font-server")
    plain = ServerProcess(serve("--font-dir", str(GOOD)), d / "plain.log")
    allowing = ServerProcess(serve("--allow-spec-fonts"), d / "allowing.log")
    with plain, allowing:
        yield plain, allowing


def _post(server: ServerProcess, spec: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        server.url + "/api/v1/image",
        content=json.dumps(spec),
        headers={"Content-Type": "application/json", "Accept": "image/png"},
        timeout=60,
    )


def test_server_draws_its_font_dir_and_refuses_card_fonts_unless_allowed(servers: Any) -> None:
    plain, allowing = servers
    assert _post(plain, _card(_text("Brand", fontFamily="Brand Sans"))).status_code == 200
    data = base64.b64encode(_font("brand-regular").read_bytes()).decode()
    own = _card(
        _text("Own", fontFamily="Brand Sans"), fonts=[{"src": f"data:font/ttf;base64,{data}"}]
    )
    refused = _post(plain, own)
    assert refused.status_code == 400
    assert "--allow-spec-fonts" in refused.text
    assert "/fonts/0/src" in refused.text
    assert _post(allowing, own).status_code == 200


@pytest.mark.parametrize("name", BROKEN)
def test_server_answers_400_for_a_broken_card_font(servers: Any, name: str) -> None:
    _, allowing = servers
    data = base64.b64encode(_font(name).read_bytes()).decode()
    spec = _card(_text("x"), fonts=[{"family": "B", "src": f"data:font/ttf;base64,{data}"}])
    answer = _post(allowing, spec)
    assert answer.status_code == 400, answer.text
    assert "/fonts/0/src" in answer.text
    assert httpx.get(allowing.url + "/healthz").status_code == 200


def test_server_refuses_a_card_font_file_path(servers: Any) -> None:
    _, allowing = servers
    answer = _post(allowing, _card(_text("x"), fonts=[{"src": "/etc/fonts/x.ttf"}]))
    assert answer.status_code == 400
    assert "/fonts/0/src" in answer.text
