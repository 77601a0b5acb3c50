"""The cost model: what a card may make the engine do is bounded before the work is done, and
what cannot be seen costs nothing (issue 11, the engine's rows)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import time
from typing import Any

import pytest
from PIL import Image

import renderer
from renderer import LimitError, Limits, RenderTimeout, SpecError
from renderer.layout import PlacedRun, TextBox

LOREM = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 80  # 4,560 characters


def _card(*components: dict[str, Any], width: int = 400, height: int = 200) -> dict[str, Any]:
    return {"width": width, "height": height, "background": "#ffffff", "components": components}


def _text(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "fontSize": 20, **props}


def _glyphs(box: Any) -> int:
    return sum(
        len(run.glyphs)
        for line in box.text.lines
        for run in line.runs
        if isinstance(run, PlacedRun)
    )


# --- what cannot be seen costs nothing ----------------------------------------------------------


def test_lines_below_the_canvas_place_no_glyphs_but_are_still_listed() -> None:
    spec = _card(_text(LOREM, x=10, y=10, frameWidth=380))
    (box,) = renderer.lay_out_spec(spec).boxes
    assert isinstance(box, TextBox)
    lines = box.text.lines
    assert len(lines) > 100  # every line is laid out, for the report
    assert all(line.runs for line in lines if line.baseline < 200)  # ink above the edge
    assert not any(line.runs for line in lines if line.baseline > 230)  # a line below it
    assert sum(1 for line in lines if line.runs) == 8


def test_culling_changes_no_pixel() -> None:
    """The text cut to the lines that can be seen draws exactly the same card."""
    long = _card(_text(LOREM, x=10, y=-7, frameWidth=380))
    (box,) = renderer.lay_out_spec(long).boxes
    assert isinstance(box, TextBox)
    shown = [line.text for line in box.text.lines if line.runs]
    short = _card(_text(" ".join(shown), x=10, y=-7, frameWidth=380))
    a = Image.open(io.BytesIO(renderer.render(long, "png")))
    b = Image.open(io.BytesIO(renderer.render(short, "png")))
    assert a.tobytes() == b.tobytes()
    assert len(renderer.render(long, "svg")) < 3 * len(renderer.render(short, "svg"))


def test_a_glyph_across_the_edge_is_drawn() -> None:
    """Culling keeps every glyph that reaches into the canvas, here one cut by the right edge."""
    spec = _card(_text("W", x=390, y=50, fontSize=60), width=400, height=200)
    im = Image.open(io.BytesIO(renderer.render(spec, "png"))).convert("L")
    darkest = im.crop((390, 50, 400, 120)).getextrema()[0]
    assert not isinstance(darkest, tuple)  # one band
    assert darkest < 100  # ink in the last columns


def test_glyphs_right_of_the_canvas_are_not_placed() -> None:
    spec = _card(_text("x" * 4000, x=0, y=10, fontSize=10))
    (box,) = renderer.lay_out_spec(spec).boxes
    assert 60 < _glyphs(box) < 120  # about 400 px of 5.5 px glyphs, not 4,000


def test_components_off_the_canvas_are_not_loaded_or_laid_out() -> None:
    """An image wholly off the canvas is never read (a missing file is no error) and a text
    there is not shaped; the report says so."""
    spec = _card(
        {"type": "image", "src": "no-such-file.png", "x": 500, "y": 0, "width": 50, "height": 50},
        _text(LOREM, x=0, y=260, frameWidth=300),
        _text("Shown", x=10, y=10),
        {"type": "tag", "text": "gone", "x": -40, "y": 0, "anchor": "top-right"},
    )
    png, report = renderer.render(spec, "png", report=True)
    entries = report.to_dict()["components"]
    assert [e["pointer"] for e in entries] == [f"/components/{i}" for i in range(4)]
    assert [e.get("offCanvas", False) for e in entries] == [True, True, False, True]
    assert entries[0]["box"] == {"x": 500, "y": 0, "width": 50, "height": 50}
    assert entries[2]["lines"] == ["Shown"]


def test_ink_reach_keeps_text_just_off_its_box() -> None:
    """A text anchored just outside the canvas keeps what its ink may reach (2 em)."""
    spec = _card(_text("Edge", x=-20, y=50, anchor="top-right", fontSize=40))
    _, report = renderer.render(spec, "png", report=True)
    assert "offCanvas" not in report.to_dict()["components"][0]


# --- the budget ---------------------------------------------------------------------------------


def test_too_many_shaped_characters_is_a_limit_error_naming_the_component() -> None:
    spec = _card(*[_text(LOREM, x=0, y=10 * i, frameWidth=380) for i in range(30)])
    with pytest.raises(LimitError) as caught:
        renderer.render(spec, "png")
    (issue,) = caught.value.issues
    # 4,561 characters each (the ellipsis counts): the 22nd component crosses 100,000
    assert issue.pointer == "/components/21/text"
    assert "Limits.max_shaped_chars" in issue.message


def test_auto_size_counts_every_size_it_tries() -> None:
    auto = _text(LOREM[:900], fontSize="auto", frameWidth=380, frameHeight=150)
    with pytest.raises(LimitError, match="max_shaped_chars"):
        renderer.validate(_card(auto), limits=Limits(max_shaped_chars=5_000))
    renderer.validate(_card({**auto, "fontSize": 20}), limits=Limits(max_shaped_chars=5_000))


def test_glyph_and_painted_area_bounds() -> None:
    spec = _card(_text("a" * 40, x=0, y=0), _text("b" * 40, x=0, y=50))
    with pytest.raises(LimitError) as caught:
        renderer.render(spec, "png", limits=Limits(max_glyphs=50))
    assert caught.value.issues[0].pointer == "/components/1"
    assert "Limits.max_glyphs" in str(caught.value)
    big = _card(_text("W" * 30, x=0, y=0, fontSize=150, letterSpacing=-150), width=300, height=300)
    with pytest.raises(LimitError, match="max_painted_area"):
        renderer.render(big, "png", limits=Limits(max_painted_area=500_000))
    renderer.render(big, "png")  # within the default bound


def _png_uri(width: int, height: int) -> str:
    import base64

    buf = io.BytesIO()
    Image.new("RGB", (width, height), "#336699").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_image_area_and_decoded_pixels_bounds() -> None:
    tiny = _png_uri(2, 2)
    full = {"type": "image", "src": tiny, "x": 0, "y": 0, "width": 4096, "height": 4096}
    spec = {"width": 4096, "height": 4096, "components": [full] * 4}
    with pytest.raises(LimitError) as caught:
        renderer.lay_out_spec(spec)  # on the layout, before anything is resampled
    assert caught.value.issues[0].pointer == "/components/3"
    assert "Limits.max_image_area" in str(caught.value)
    sources = [_png_uri(300, 300 + i) for i in range(3)]  # three distinct 90 kpx sources
    small = [
        {"type": "image", "src": s, "x": 0, "y": 0, "width": 30, "height": 30} for s in sources
    ]
    with pytest.raises(LimitError) as caught:
        renderer.render(_card(*small), "png", limits=Limits(max_decoded_pixels=200_000))
    assert caught.value.issues[0].pointer == "/components/2/src"
    assert "Limits.max_decoded_pixels" in str(caught.value)
    renderer.render(_card(*small), "png", limits=Limits(max_decoded_pixels=300_000))


# --- linear algorithms on hostile input (issue 11, rows 3 and 4) ---------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a" + "\u0301" * 4999,  # one cluster of 5,000 characters (14 s before)
        "\u2764" + "\ufe0f" * 4999,
        "\U0001f44b" + "\U0001f3fb" * 4999,
        "a" + " " * 4998 + "b",  # 34 s in line breaking before
    ],
    ids=["combining-marks", "variation-selectors", "skin-tones", "spaces"],
)
def test_pathological_clusters_render_quickly(text: str) -> None:
    started = time.monotonic()
    renderer.render(_card(_text(text, frameWidth=300)), "png")
    assert time.monotonic() - started < 10  # seconds; linear work takes well under one


def test_thousands_of_unknown_keys_are_reported_quickly_and_briefly() -> None:
    keys = {f"k{i}": i for i in range(8000)}
    spec = {"width": 100, "height": 100, "components": [_text("x")], **keys}
    started = time.monotonic()
    with pytest.raises(SpecError) as caught:
        renderer.validate(json.dumps(spec))
    assert time.monotonic() - started < 10
    issues = caught.value.issues
    assert len(issues) == 101
    assert issues[0].pointer == "/k0"
    assert "Unknown property 'k0'" in issues[0].message
    assert issues[-1].message.startswith("… and 7900 more problem(s)")


def test_a_document_of_too_many_items_is_refused_before_parsing() -> None:
    doc = json.dumps({"width": 10, "height": 10, "components": [], "x": [0] * 200_000})
    with pytest.raises(LimitError, match="Limits.max_json_items"):
        renderer.validate(doc)
    text = {"type": "text", "text": "a, b: c, " * 500}  # commas inside strings do not count
    renderer.validate(json.dumps(_card(*[text] * 20)))


# --- deadlines and memory -------------------------------------------------------------------


def test_a_render_past_its_timeout_stops() -> None:
    spec = _card(*[_text("Lorem ipsum", x=0, y=10 * i) for i in range(20)])
    with pytest.raises(RenderTimeout, match="timeout of 1e-09 s"):
        renderer.render(spec, "png", timeout=1e-9)
    assert isinstance(RenderTimeout("x"), TimeoutError)
    assert renderer.render(spec, "png", timeout=30).startswith(b"\x89PNG")


def test_render_async_honours_its_timeout() -> None:
    spec = _card(*[_text("Lorem ipsum", x=0, y=10 * i) for i in range(20)])
    with pytest.raises(RenderTimeout):
        asyncio.run(renderer.render_async(spec, "png", timeout=1e-9))
    assert asyncio.run(renderer.render_async(spec, "png", timeout=30)).startswith(b"\x89PNG")


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "5"])
def test_a_bad_timeout_is_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="timeout must be"):
        renderer.render(_card(_text("x")), "png", timeout=bad)


_OOM = """
import resource, renderer
spec = {"width": 4096, "height": 4096, "components": [{"type": "text", "text": "Hi"}]}
renderer.render({"width": 10, "height": 10, "components": [{"type": "text", "text": "x"}]}, "png")
with open("/proc/self/statm") as f:
    vm = int(f.read().split()[0]) * 4096
resource.setrlimit(resource.RLIMIT_AS, (vm + 40 * 2**20, vm + 40 * 2**20))
try:
    renderer.render(spec, "png")
except renderer.OutOfMemory as e:
    print("OutOfMemory", isinstance(e, renderer.RenderError), isinstance(e, MemoryError))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS and /proc are Linux's")
def test_running_out_of_memory_is_a_render_error() -> None:
    """A process capped 40 MB above its size cannot hold a 64 MB canvas: the error is ours."""
    out = subprocess.run([sys.executable, "-c", _OOM], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "OutOfMemory True True", out.stderr


def _defaults_with(env: str) -> subprocess.CompletedProcess[str]:
    code = "import renderer; print(renderer.DEFAULT_LIMITS.max_shaped_chars)"
    environ = {k: v for k, v in os.environ.items() if k != "RENDERER_LIMITS"}
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, "RENDERER_LIMITS": env},
        check=False,
    )


def test_renderer_limits_sets_a_process_defaults() -> None:
    assert _defaults_with('{"max_shaped_chars": 250000}').stdout.strip() == "250000"
    assert _defaults_with("").stdout.strip() == "100000"
    bad = _defaults_with('{"max_shaped_char": 5}')
    assert bad.returncode != 0
    assert "RENDERER_LIMITS must be an object of Limits fields" in bad.stderr
    assert "max_shaped_char'" in bad.stderr
    assert "must be positive numbers" in _defaults_with('{"max_glyphs": -1}').stderr
