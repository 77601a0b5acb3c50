"""The Python API as a caller uses it: threads, asyncio, every spec form, image sources, errors.

Covers `render`, `render_async`, `validate` and `lay_out_spec`: concurrent renders give the same
bytes as serial ones, `render_async` keeps the event loop running, dict / JSON text / bytes / path
specs are interchangeable, untrusted strings cannot inject markup into the SVG, every image source
form is decoded, and bad images fail fast with an `ImageLoadError` naming the component.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import inspect
import io
import json
import random
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pngs import png_declaring

from renderer import (
    ImageLoadError,
    ImagePolicy,
    Report,
    SpecError,
    lay_out_spec,
    render,
    render_async,
    render_many,
    validate,
)
from renderer.layout import TextBox
from renderer.model import (
    Anchor,
    Color,
    DividerComponent,
    ImageComponent,
    TagComponent,
    TextComponent,
)

COLOUR = (200, 30, 90)
BOX = (10, 20, 40, 30)  # x, y, width, height of the image in the image tests


def encoded(
    fmt: str, colour: tuple[int, int, int] = COLOUR, size: tuple[int, int] = (16, 16)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def rgba(data: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGBA"))


def image_card(src: str, index_offset: int = 0) -> dict[str, Any]:
    x, y, w, h = BOX
    components: list[dict[str, Any]] = [{"type": "divider", "length": 5}] * index_offset
    components.append({"type": "image", "src": src, "x": x, "y": y, "width": w, "height": h})
    return {"width": 100, "height": 80, "components": components}


def assert_image_colour_in_box(png: bytes, colour: tuple[int, int, int] = COLOUR) -> None:
    """The box is filled with `colour` (±3 for lossy sources) and the rest stays white."""
    px = rgba(png).astype(int)
    x, y, w, h = BOX
    inside = px[y : y + h, x : x + w, :3]
    assert (np.abs(inside - np.array(colour)) <= 3).all()
    outside = px.copy()
    outside[y : y + h, x : x + w] = 255
    assert (outside == 255).all()


# --- six specs for the concurrency tests -----------------------------------------------------

SPECS: list[dict[str, Any]] = [
    {
        "width": 240,
        "height": 120,
        "components": [{"type": "text", "text": "Hello, world", "fontSize": 28, "x": 10, "y": 10}],
    },
    {
        "width": 240,
        "height": 120,
        "background": "#101820",
        "components": [
            {
                "type": "text",
                "text": "你好，世界。漢字とかな",
                "fontFamily": "Noto Sans SC",
                "fontSize": 24,
                "color": "#ffffff",
                "x": 8,
                "y": 8,
            },
            {
                "type": "text",
                "text": "繁體中文測試",
                "fontFamily": "Noto Sans TC",
                "x": 8,
                "y": 60,
                "fontSize": 22,
                "color": "#ffcc00",
            },
        ],
    },
    {
        "width": 200,
        "height": 100,
        "components": [
            {
                "type": "image",
                "src": b64(encoded("PNG", (0, 140, 70))),
                "x": 10,
                "y": 10,
                "width": 80,
                "height": 80,
                "radius": 40,
            },
            {"type": "tag", "text": "Image", "x": 100, "y": 40},
        ],
    },
    {
        "width": 260,
        "height": 140,
        "components": [
            {
                "type": "text",
                "text": "A paragraph that wraps inside a narrow frame, centred.",
                "frameWidth": 180,
                "textAlign": "center",
                "fontFamily": "Playfair Display",
                "fontStyle": "italic",
                "x": 40,
                "y": 10,
            },
        ],
    },
    {
        "width": 160,
        "height": 160,
        "background": "transparent",
        "components": [
            {
                "type": "divider",
                "x": 80,
                "y": 80,
                "length": 120,
                "anchor": "center",
                "width": "thick",
                "color": "#3366ff80",
            },
            {
                "type": "tag",
                "text": "Ω Привет",
                "x": 80,
                "y": 80,
                "anchor": "center",
                "fontFamily": "Roboto",
                "fontWeight": "700",
                "opacity": 0.6,
            },
        ],
    },
    {
        "width": 300,
        "height": 90,
        "components": [
            {
                "type": "text",
                "text": "Poppins 900 with spacing",
                "fontFamily": "Poppins",
                "fontWeight": 900,
                "letterSpacing": 2,
                "lineHeight": 1.6,
                "x": 5,
                "y": 5,
            },
            {"type": "divider", "x": 5, "y": 60, "length": 290, "width": "thin"},
        ],
    },
]
FORMATS = ("png", "svg", "webp")


def test_concurrent_renders_equal_serial_renders() -> None:
    serial = {(i, f): render(spec, f) for i, spec in enumerate(SPECS) for f in FORMATS}
    assert len(set(serial.values())) == len(serial)  # six genuinely different cards
    jobs = [(i, f) for i in range(len(SPECS)) for f in FORMATS] * 4
    random.Random(7).shuffle(jobs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {pool.submit(render, SPECS[i], f): (i, f) for i, f in jobs}
        for future in concurrent.futures.as_completed(futures):
            assert future.result() == serial[futures[future]], futures[future]


def test_concurrent_errors_do_not_disturb_good_renders() -> None:
    good = render(SPECS[0], "png")
    bad: dict[str, Any] = {**SPECS[0], "components": [{"type": "text", "text": "x", "fontSize": 0}]}
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        goods = [pool.submit(render, SPECS[0], "png") for _ in range(8)]
        bads = [pool.submit(render, bad, "png") for _ in range(8)]
        assert all(f.result() == good for f in goods)
        for f in bads:
            with pytest.raises(SpecError):
                f.result()


# --- asyncio ----------------------------------------------------------------------------------

SLOW_SPEC: dict[str, Any] = {
    "width": 600,
    "height": 600,
    "background": "#123456",
    "components": [
        {
            "type": "text",
            "text": "Lorem ipsum dolor sit amet " * 60,
            "frameWidth": 560,
            "fontSize": 24,
            "color": "#ffffff",
            "x": 20,
            "y": 20,
        },
    ],
}


async def _loop_ran_during(render_call: Any) -> tuple[bool, bytes]:
    """Whether another task got to run while `render_call()` was awaited. Deterministic: a
    render that hands its work to a thread frees the loop at once; one that blocks never does."""
    ran = asyncio.Event()

    async def other() -> None:
        ran.set()

    task = asyncio.create_task(other())
    data: bytes = await render_call()
    ran_during = ran.is_set()
    await task
    return ran_during, data


def test_render_async_returns_render_bytes_and_keeps_the_loop_running() -> None:
    expected = render(SLOW_SPEC, "png")

    async def via_async() -> bytes:
        return await render_async(SLOW_SPEC, "png")

    ran, data = asyncio.run(_loop_ran_during(via_async))
    assert data == expected
    assert ran


def test_blocking_render_starves_the_loop() -> None:
    """Control for the test above: a plain `render` in a coroutine blocks every other task."""

    async def blocking() -> bytes:
        return render(SLOW_SPEC, "png")

    ran, _ = asyncio.run(_loop_ran_during(blocking))
    assert not ran


def test_render_async_gather_and_errors() -> None:
    async def main() -> list[bytes]:
        return await asyncio.gather(
            *(render_async(spec, "svg") for spec in SPECS),
            render_async(SPECS[0], "jpeg", quality=50),
        )

    results = asyncio.run(main())
    assert results[:-1] == [render(spec, "svg") for spec in SPECS]
    assert results[-1] == render(SPECS[0], "jpeg", quality=50)

    async def bad() -> bytes:
        return await render_async({"width": 1}, "png")

    with pytest.raises(SpecError) as info:
        asyncio.run(bad())
    assert {i.pointer for i in info.value.issues} == {"/height", "/components"}


def test_render_async_has_every_parameter_of_render() -> None:
    """One signature: names, kinds, order, defaults and annotations all the same."""
    plain, in_thread = inspect.signature(render), inspect.signature(render_async)
    assert list(in_thread.parameters.values()) == list(plain.parameters.values())
    assert inspect.iscoroutinefunction(render_async)
    assert render_async.__name__ == "render_async"


def test_render_async_takes_variables_report_and_compression(tmp_path: Path) -> None:
    """What the issue's FastAPI app called: a template path with variables, then a report."""
    template = tmp_path / "card.json"
    spec = {"width": 200, "height": 60, "components": [{"type": "text", "text": "{{ t }}"}]}
    template.write_text(json.dumps(spec), encoding="utf-8")

    async def main() -> tuple[bytes, tuple[bytes, Report], bytes]:
        webp = await render_async(template, "webp", variables={"t": "Hi"}, quality=80)
        both = await render_async(template, "png", variables={"t": "Hi"}, report=True)
        small = await render_async(template, "png", variables={"t": "Hi"}, compression="small")
        return webp, both, small

    webp, (png, report), small = asyncio.run(main())
    assert webp == render(template, "webp", variables={"t": "Hi"}, quality=80)
    assert png == render(template, "png", variables={"t": "Hi"})
    assert (
        report.to_dict() == render(template, "png", variables={"t": "Hi"}, report=True)[1].to_dict()
    )
    assert rgba(small).tobytes() == rgba(png).tobytes()


# --- spec forms -------------------------------------------------------------------------------


def _write_logo(folder: Path, name: str = "logo.png") -> None:
    (folder / name).write_bytes(encoded("PNG"))


def test_every_spec_form_gives_identical_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_logo(tmp_path)
    spec = image_card("logo.png")
    spec["components"].append({"type": "text", "text": "Forms — ünïcødé", "x": 2, "y": 55})
    text = json.dumps(spec, ensure_ascii=False)
    path = tmp_path / "card.json"
    path.write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    # A dict or JSON text reads files only from the base_dir it is given (a str works); a spec
    # file reads them from its own folder.
    given = {"base_dir": "."}
    forms: dict[str, tuple[Any, dict[str, Any]]] = {
        "dict": (spec, given),
        "str": (text, given),
        "str-indented": (json.dumps(spec, indent=2), given),
        "bytes": (text.encode("utf-8"), given),
        "dict-pathlike-base": (spec, {"base_dir": _PathLike(str(tmp_path))}),
        "path": (path, {}),
        "str-path": (str(path), {}),
        "relative-str-path": ("card.json", {}),
        "pathlike": (_PathLike(str(path)), {}),
    }
    for fmt in ("png", "svg"):
        results = {name: render(form, fmt, **kw) for name, (form, kw) in forms.items()}
        assert len(set(results.values())) == 1, {k: len(v) for k, v in results.items()}
    assert_image_colour_in_box(render(image_card("logo.png"), "png", base_dir="."))


class _PathLike:
    """An `os.PathLike` that is not a `pathlib.Path`, as other libraries hand out."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


def test_spec_file_with_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(SPECS[0]).encode())
    assert render(path, "svg") == render(SPECS[0], "svg")


def test_spec_bytes_with_bom_are_accepted_like_the_file() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(SPECS[0]).encode()
    assert render(data, "svg") == render(SPECS[0], "svg")


def test_relative_image_resolves_against_the_spec_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cards = tmp_path / "cards"
    (cards / "assets").mkdir(parents=True)
    _write_logo(cards / "assets")
    spec = image_card("assets/logo.png")
    path = cards / "card.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert_image_colour_in_box(render(path, "png"))
    assert_image_colour_in_box(render(str(path), "png"))
    # A dict has no folder: it resolves against the cwd (fails here) or an explicit base_dir.
    with pytest.raises(ImageLoadError) as info:
        render(spec, "png")
    assert [i.pointer for i in info.value.issues] == ["/components/0/src"]
    assert_image_colour_in_box(render(spec, "png", base_dir=cards))


# --- injection --------------------------------------------------------------------------------

INJECTION = '</text><image href="file:///etc/passwd"/><script>alert(1)</script>'
CONTROL = "".join(chr(c) for c in range(9))  # U+0000 … U+0008


@pytest.mark.parametrize("kind", ["text", "tag"])
def test_svg_injection_is_inert(kind: str) -> None:
    spec = {
        "width": 400,
        "height": 80,
        "components": [
            {
                "type": kind,
                "text": "Hi" + CONTROL + INJECTION + "\ufffe\uffff",
                "x": 5,
                "y": 5,
                "fontSize": 12,
            },
        ],
    }
    svg = render(spec, "svg")
    for needle in (b"<script", b"file:///", b"etc/passwd", b"alert", b"\x00", b"\x08"):
        assert needle not in svg, needle
    root = ET.fromstring(svg)  # still well-formed XML
    tags = {el.tag.split("}")[1] for el in root.iter()}
    assert "script" not in tags
    assert "image" not in tags  # the injected <image> did not become an element
    assert "path" in tags  # …but the text itself was drawn as outlines
    png = render(spec, "png")
    assert rgba(png).min() < 128  # visible ink


def test_control_characters_are_dropped_from_layout() -> None:
    (box,) = lay_out_spec(
        {"width": 200, "height": 50, "components": [{"type": "text", "text": "a" + CONTROL + "b"}]}
    ).boxes
    assert isinstance(box, TextBox)
    assert [line.text for line in box.text.lines] == ["ab"]


# --- image sources ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        pytest.param("data:image/png;base64," + b64(encoded("PNG")), id="data-uri-png"),
        pytest.param("data:image/jpeg;base64," + b64(encoded("JPEG")), id="data-uri-jpeg"),
        pytest.param("data:image/webp;base64," + b64(encoded("WEBP")), id="data-uri-webp"),
        pytest.param("DATA:image/png;base64," + b64(encoded("PNG")), id="data-uri-upper"),
        pytest.param(b64(encoded("PNG")), id="raw-base64-png"),
        pytest.param(b64(encoded("WEBP")), id="raw-base64-webp"),
        pytest.param(b64(encoded("JPEG")), id="raw-base64-jpeg"),
        pytest.param(b64(encoded("GIF")), id="raw-base64-gif"),
        pytest.param(b64(encoded("PNG")) + "\n", id="raw-base64-trailing-newline"),
    ],
)
def test_image_source_forms(src: str) -> None:
    if src.startswith("UklGR"):
        assert base64.b64decode(src)[8:12] == b"WEBP"  # as Craiyon returns base64_data
    assert_image_colour_in_box(render(image_card(src), "png"))


def test_image_from_file_path(tmp_path: Path) -> None:
    _write_logo(tmp_path)
    absolute = image_card(str(tmp_path / "logo.png"))
    with pytest.raises(ImageLoadError, match="ImagePolicy\\(allow_paths="):
        render(absolute, "png")
    assert_image_colour_in_box(
        render(absolute, "png", image_policy=ImagePolicy(allow_paths=(tmp_path,)))
    )
    assert_image_colour_in_box(render(image_card("logo.png"), "png", base_dir=tmp_path))


def test_image_is_cropped_to_cover_not_stretched() -> None:
    """A 2:1 source, left half red and right half blue, in a square box: cover crops the sides."""
    im = Image.new("RGB", (40, 20), (255, 0, 0))
    im.paste((0, 0, 255), (20, 0, 40, 20))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    spec = {
        "width": 40,
        "height": 40,
        "components": [
            {"type": "image", "src": b64(buf.getvalue()), "width": 40, "height": 40},
        ],
    }
    px = rgba(render(spec, "png")).astype(int)
    assert tuple(px[20, 2, :3]) == (255, 0, 0)
    assert tuple(px[20, 37, :3]) == (0, 0, 255)
    # The colour boundary stays in the middle: the source was scaled 2×, not squeezed.
    assert abs(int(np.argmax(px[20, :, 2] > 128)) - 20) <= 1


def _truncated_png() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((300, 300), 60).save(buf, "PNG")
    return buf.getvalue()[: len(buf.getvalue()) // 2]


@pytest.mark.parametrize(
    ("make_src", "fragment", "fast"),
    [
        pytest.param(lambda d: str(d / "missing.png"), "No such file", False, id="missing-file"),
        pytest.param(lambda d: "missing.png", "No such file", False, id="missing-relative"),
        pytest.param(
            lambda d: _file(d, "notes.png", b"hello, not an image"),
            "not an image in an allowed format",
            False,
            id="not-an-image",
        ),
        pytest.param(
            lambda d: _file(d, "cut.png", _truncated_png()), "truncated", True, id="truncated-png"
        ),
        pytest.param(
            lambda d: "data:image/png;base64," + b64(_truncated_png()),
            "truncated",
            True,
            id="truncated-png-data-uri",
        ),
        pytest.param(
            lambda d: _file(d, "bomb.png", png_declaring(20000, 20000)),
            "decompression bomb",
            True,
            id="huge-png-file",
        ),
        pytest.param(
            lambda d: b64(png_declaring(20000, 20000)),
            "decompression bomb",
            True,
            id="huge-png-base64",
        ),
        pytest.param(
            lambda d: "data:image/png;base64," + b64(png_declaring(8000, 8000)),
            "Limits.max_image_pixels",
            True,
            id="over-max-image-pixels",
        ),
        pytest.param(
            lambda d: "data:image/png;base64,!!!notbase64",
            "base64",
            False,
            id="bad-data-uri-payload",
        ),
    ],
)
def test_image_errors_name_the_component(
    tmp_path: Path, make_src: Any, fragment: str, fast: bool
) -> None:
    spec = image_card(make_src(tmp_path), index_offset=2)
    start = time.perf_counter()
    with pytest.raises(ImageLoadError) as info:
        render(spec, "png", base_dir=tmp_path)
    elapsed = time.perf_counter() - start
    issues = info.value.issues
    assert [i.pointer for i in issues] == ["/components/2/src"]
    assert fragment in issues[0].message
    if fast:
        assert elapsed < 1.0
    # Nothing is left broken: the next render works.
    assert_image_colour_in_box(render(image_card(b64(encoded("PNG"))), "png"))


def _file(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return str(folder / name)


def test_every_bad_image_is_reported_at_once(tmp_path: Path) -> None:
    good = b64(encoded("PNG"))
    spec = {
        "width": 100,
        "height": 100,
        "components": [
            {"type": "image", "src": "nope-1.png", "width": 10, "height": 10},
            {"type": "image", "src": good, "width": 10, "height": 10},
            {"type": "image", "src": "nope-2.png", "width": 10, "height": 10},
        ],
    }
    with pytest.raises(ImageLoadError) as info:
        render(spec, "svg", base_dir=tmp_path)
    assert [i.pointer for i in info.value.issues] == ["/components/0/src", "/components/2/src"]
    assert not isinstance(info.value, SpecError)


# --- validate() and defaults ------------------------------------------------------------------


def test_validate_applies_documented_defaults() -> None:
    card = validate(
        {
            "width": 300,
            "height": 200,
            "components": [
                {"type": "text", "text": "t"},
                {"type": "tag", "text": "g", "fontSize": 20},
                {"type": "divider", "length": 50},
                {"type": "image", "src": "x.png", "width": 10, "height": 10},
            ],
        }
    )
    assert (card.width, card.height) == (300, 200)
    assert card.background == Color(255, 255, 255, 255)
    text, tag, divider, image = card.components
    assert isinstance(text, TextComponent)
    assert text.style.family == "Inter"
    assert text.style.weight == 400
    assert text.style.italic is False
    assert text.style.size == 16
    assert text.style.color == Color(0, 0, 0, 255)
    assert text.style.line_height == pytest.approx(1.2)
    assert text.style.letter_spacing == 0
    assert text.frame_width is None
    assert text.align in ("left", None)  # None: by text direction, left for Latin text
    assert (text.x, text.y, text.anchor, text.opacity) == (0, 0, Anchor.TOP_LEFT, 1)
    assert isinstance(tag, TagComponent)
    assert tag.style.color == Color(255, 255, 255, 255)
    assert tag.background == Color(0, 0, 0, 255)
    assert tag.padding_x == pytest.approx(0.6 * 20)
    assert tag.padding_y == pytest.approx(0.3 * 20)
    assert tag.radius is None  # a pill
    assert isinstance(divider, DividerComponent)
    assert divider.thickness == 3  # medium
    assert divider.vertical is False
    assert divider.color == Color(0, 0, 0, 255)
    assert isinstance(image, ImageComponent)
    assert image.radius == 0
    assert image.opacity == 1


def test_validate_resolves_values() -> None:
    card = validate(
        {
            "width": 10,
            "height": 10,
            "background": "transparent",
            "components": [
                {
                    "type": "text",
                    "text": "a\r\nb\tc",
                    "fontWeight": "700",
                    "color": "#abc",
                    "fontStyle": "italic",
                    "frameWidth": 120,
                    "anchor": "bottom-right",
                },
                {
                    "type": "divider",
                    "length": 5,
                    "width": "thick",
                    "direction": "vertical",
                    "color": "#11223380",
                    "opacity": 0.25,
                },
                {"type": "divider", "length": 5, "width": "thin"},
            ],
        }
    )
    assert card.background is None
    text, thick, thin = card.components
    assert isinstance(text, TextComponent)
    assert text.text == "a\nb c"
    assert text.style.weight == 700
    assert text.style.italic is True
    assert text.style.color == Color(0xAA, 0xBB, 0xCC, 255)
    assert text.frame_width == 120
    assert text.anchor is Anchor.BOTTOM_RIGHT
    assert isinstance(thick, DividerComponent)
    assert (thick.thickness, thick.vertical, thick.opacity) == (5, True, 0.25)
    assert thick.color == Color(0x11, 0x22, 0x33, 0x80)
    assert isinstance(thin, DividerComponent)
    assert thin.thickness == 1


def test_schema_defaults_agree_with_validate() -> None:
    """Every `default` the schema documents is what validate() resolves an omitted field to."""
    schema = json.loads(
        (Path(__file__).resolve().parents[1] / "schemas" / "card.schema.json").read_text("utf-8")
    )
    defs = schema["$defs"]

    def default(kind: str, prop: str) -> Any:
        sub = defs[kind]["properties"][prop]
        if "default" in sub:
            return sub["default"]
        return defs[sub["$ref"].rsplit("/", 1)[-1]]["default"]

    card = validate(
        {
            "width": 10,
            "height": 10,
            "components": [
                {"type": "text", "text": "t"},
                {"type": "divider", "length": 1},
            ],
        }
    )
    text, divider = card.components
    assert isinstance(text, TextComponent)
    assert isinstance(divider, DividerComponent)
    assert schema["properties"]["background"]["default"] == "#ffffff"
    assert card.background == Color.parse(schema["properties"]["background"]["default"])
    assert text.style.family == default("text", "fontFamily")
    assert text.style.weight == int(default("text", "fontWeight"))
    assert text.style.size == default("text", "fontSize")
    assert text.style.color == Color.parse(default("text", "color"))
    assert text.style.line_height == default("text", "lineHeight")
    assert text.style.letter_spacing == default("text", "letterSpacing")
    assert text.opacity == default("text", "opacity")
    assert text.anchor.value == default("text", "anchor")
    assert default("text", "frameWidth") == "fit"
    assert text.frame_width is None
    assert divider.thickness == {"thin": 1, "medium": 3, "thick": 5}[default("divider", "width")]
    assert divider.vertical is (default("divider", "direction") == "vertical")
    assert (divider.x, divider.y) == (default("divider", "x"), default("divider", "y"))


def test_latin_text_is_left_aligned_by_default() -> None:
    spec = {
        "width": 400,
        "height": 200,
        "components": [
            {
                "type": "text",
                "text": "Short line\nA noticeably longer second line",
                "x": 20,
                "y": 10,
                "frameWidth": 350,
            },
        ],
    }
    (box,) = lay_out_spec(spec).boxes
    assert isinstance(box, TextBox)
    assert [line.x for line in box.text.lines] == [20, 20]


def test_lay_out_spec_matches_what_is_drawn() -> None:
    spec = {
        "width": 120,
        "height": 60,
        "components": [{"type": "divider", "x": 7, "y": 9, "length": 30, "width": 4}],
    }
    (box,) = lay_out_spec(spec).boxes
    assert (box.box.x, box.box.y, box.box.width, box.box.height) == (7, 9, 30, 4)
    px = rgba(render(spec, "png"))
    ys, xs = np.nonzero(px[..., 0] < 128)
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (7, 9, 37, 13)


def test_report_names_an_image_placeholder() -> None:
    spec = {
        "width": 60,
        "height": 40,
        "components": [
            {
                "type": "image",
                "src": "no-such-file.png",
                "width": 20,
                "height": 20,
                "onImageError": "placeholder",
            },
        ],
    }
    png, report = render(spec, "png", report=True)
    entry = report.to_dict()["components"][0]
    assert png.startswith(b"\x89PNG")
    assert entry["placeholder"] is True
    assert entry["error"]["pointer"] == "/components/0/src"
    assert "no-such-file.png" in entry["error"]["message"]
    assert report.problems == [
        f"/components/0/src: a placeholder was drawn: {entry['error']['message']}"
    ]


def test_report_names_the_korean_and_thai_faces() -> None:
    """Hangul and Thai are drawn by the bundled Noto Sans KR and Thai, so nothing is missing;
    a script no bundled font covers (Ethiopic) still is."""
    spec = {
        "width": 400,
        "height": 120,
        "components": [
            {"type": "text", "text": "안녕하세요, 세계!", "fontWeight": 700},
            {"type": "text", "text": "สวัสดีชาวโลก", "y": 40},
            {"type": "text", "text": "ሰላም", "y": 80},
        ],
    }
    _, report = render(spec, "png", report=True)
    korean, thai, ethiopic = report.to_dict()["components"]
    assert korean["missing"] == []
    assert korean["faces"] == {"Noto Sans KR 700": "안녕하세요계", "Inter 700": ",!"}
    assert thai["missing"] == []
    assert thai["faces"] == {"Noto Sans Thai 400": "สวัดีชาโลก"}
    assert ethiopic["missing"] == ["ሰ", "ላ", "ም"]
    assert report.problems == ["/components/2: no bundled font has 'ሰ ላ ም'"]


def test_render_many_keeps_each_folder_and_takes_the_policy(tmp_path: Path) -> None:
    """A template read from a path keeps its folder (and so does each spec read from a path) on
    worker processes; a dict reads no file unless base_dir or the policy names a folder."""
    cards, shared = tmp_path / "cards", tmp_path / "shared"
    cards.mkdir()
    shared.mkdir()
    _write_logo(cards)
    _write_logo(shared)
    template = cards / "template.json"
    template.write_text(json.dumps(image_card("logo.png")), encoding="utf-8")
    outside = image_card(str(shared / "logo.png"))
    results = list(render_many([{}, {}], template=template, jobs=2))
    for data in results:
        assert isinstance(data, bytes)
        assert_image_colour_in_box(data)
    dict_spec = image_card("logo.png")
    plain, given, refused = render_many([dict_spec, template, outside], jobs=1)
    assert isinstance(plain, ImageLoadError)
    assert "base_dir=" in str(plain)
    assert isinstance(given, bytes)
    assert_image_colour_in_box(given)
    assert isinstance(refused, ImageLoadError)
    policy = ImagePolicy(allow_paths=(shared,))
    (allowed,) = render_many([outside], jobs=2, image_policy=policy)
    assert isinstance(allowed, bytes)
    assert_image_colour_in_box(allowed)
    (with_base,) = render_many([dict_spec], jobs=1, base_dir=str(cards))
    assert isinstance(with_base, bytes)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp", "svg", "pdf"])
def test_a_card_of_no_components_is_its_background(fmt: str) -> None:
    """A background-only card (a placeholder, a gradient backdrop) is a valid card."""
    gradient = {
        "gradient": "linear",
        "angle": 90,
        "stops": [{"color": "#ff0000"}, {"color": "#0000ff"}],
    }
    card = {"width": 120, "height": 60, "background": gradient, "components": []}
    assert validate(card).components == ()
    data = render(card, fmt)
    if fmt in ("svg", "pdf"):
        assert data.startswith(b"<svg " if fmt == "svg" else b"%PDF")
        return
    px = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert px.shape == (60, 120, 3)
    left, right = px[30, 2], px[30, 117]
    assert left[0] > 200, left  # red on the left
    assert left[2] < 60, left
    assert right[2] > 200, right  # blue on the right
    assert right[0] < 60, right
