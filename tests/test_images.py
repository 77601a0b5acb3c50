"""Image components: sources (data URI, raw base64 as AI services return it, files, SVG), every
`fit` and `position`, radius, border, opacity and alpha, limits and hostile input.

Each test renders a card and reads the pixels where the image belongs (or the error a user gets,
which names `/components/N/src` and the cause). Remote sources are in `test_net.py`.
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import re
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageCms
from pngs import SRGB_BLUE, SRGB_RED, icc_rgb_profile, png_declaring

import renderer
from renderer.api import prepare
from renderer.model import ImageComponent
from renderer.policy import DEFAULT_POLICY, ImagePolicy
from renderer.resources import classify_source, clear_caches, load_resources
from renderer.spec import parse_card

RED, GREEN, BLUE, YELLOW = (230, 20, 30), (20, 200, 40), (30, 40, 230), (240, 220, 20)
BG = (255, 255, 255)
EVERY_FILE = ImagePolicy(allow_paths=("/",))  # for tests that read special files by path


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    clear_caches()


def encode(im: Image.Image, fmt: str = "PNG", **kw: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def data_uri(data: bytes, media: str = "image/png") -> str:
    return f"data:{media};base64,{base64.b64encode(data).decode()}"


def stripes(width: int = 100, height: int = 50) -> Image.Image:
    """Four vertical stripes, red | green | blue | yellow, so a crop shows which part is kept."""
    im = Image.new("RGB", (width, height))
    for i, color in enumerate((RED, GREEN, BLUE, YELLOW)):
        im.paste(color, (i * width // 4, 0, (i + 1) * width // 4, height))
    return im


def card(*images: dict[str, Any], size: tuple[int, int] = (120, 100), **top: Any) -> dict[str, Any]:
    comps = [{"type": "image", "x": 10, "y": 10, **i} for i in images]
    return {
        "width": size[0],
        "height": size[1],
        "background": "#ffffff",
        "components": comps,
        **top,
    }


def render(spec: dict[str, Any], policy: ImagePolicy = DEFAULT_POLICY, **kw: Any) -> Image.Image:
    png = renderer.render(spec, "png", image_policy=policy, **kw)
    return Image.open(io.BytesIO(png)).convert("RGB")


def near(a: object, b: tuple[int, ...], tol: int = 16) -> bool:
    """`a` (a pixel, as Pillow's getpixel gives it) within `tol` of `b` in every channel."""
    assert isinstance(a, tuple), a
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


def error_of(spec: dict[str, Any], policy: ImagePolicy = DEFAULT_POLICY, **kw: Any) -> str:
    with pytest.raises(renderer.ImageLoadError) as info:
        renderer.render(spec, "png", image_policy=policy, **kw)
    (issue,) = info.value.issues
    assert issue.pointer == "/components/0/src"
    return issue.message


# --- sources --------------------------------------------------------------------------------------


def craiyon_response() -> dict[str, Any]:
    """Shaped like Craiyon's marketplace API answer: raw base64 WEBP, no `data:` prefix."""
    webp = encode(Image.new("RGB", (64, 64), RED), "WEBP", lossless=True)
    return {
        "image": {
            "id": "b7e1c0de",
            "width": 64,
            "height": 64,
            "content_type": "image/webp",
            "base64_data": base64.b64encode(webp).decode(),
            "categories": ["illustration"],
        }
    }


def openai_response() -> dict[str, Any]:
    """Shaped like an OpenAI-style `/v1/images/generations` answer with `b64_json` PNG."""
    png = encode(Image.new("RGB", (64, 64), BLUE))
    return {"created": 1_700_000_000, "data": [{"b64_json": base64.b64encode(png).decode()}]}


def test_craiyon_base64_data_just_works() -> None:
    src = craiyon_response()["image"]["base64_data"]
    assert src.startswith("UklGR")
    assert classify_source(src) == "base64"
    im = render(card({"src": src, "width": 40, "height": 40}))
    assert near(im.getpixel((30, 30)), RED)
    assert im.getpixel((80, 80)) == BG


def test_openai_b64_json_just_works() -> None:
    src = openai_response()["data"][0]["b64_json"]
    assert src.startswith("iVBOR")
    im = render(card({"src": src, "width": 40, "height": 40}))
    assert near(im.getpixel((30, 30)), BLUE)


def test_base64_wrapped_and_url_safe_forms() -> None:
    raw = encode(Image.new("RGB", (8, 8), GREEN))
    wrapped = "\n".join(re.findall(".{1,76}", base64.b64encode(raw).decode()))
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for src in (wrapped, urlsafe):
        assert near(render(card({"src": src, "width": 20, "height": 20})).getpixel((20, 20)), GREEN)


def test_format_is_sniffed_not_trusted_from_the_label() -> None:
    png = encode(Image.new("RGB", (8, 8), GREEN))
    im = render(card({"src": data_uri(png, "image/jpeg"), "width": 20, "height": 20}))
    assert near(im.getpixel((20, 20)), GREEN)


def test_percent_encoded_svg_data_uri() -> None:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" fill="#1428e6"/></svg>'
    )
    src = "data:image/svg+xml," + svg.replace("#", "%23")
    im = render(card({"src": src, "width": 40, "height": 40}))
    assert near(im.getpixel((30, 30)), (20, 40, 230))


def test_text_that_is_not_an_image() -> None:
    src = data_uri(b"hello, world", "image/png")
    message = error_of(card({"src": src, "width": 20, "height": 20}))
    assert (
        "not an image in an allowed format (PNG, JPEG, WEBP, GIF, AVIF, TIFF, BMP, ICO" in message
    )


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    spec = card({"src": "no/such/logo.png", "width": 20, "height": 20})
    message = error_of(spec, base_dir=tmp_path)
    assert "cannot read file 'no/such/logo.png'" in message


# --- fit and position (stripes: red | green | blue | yellow, 100 × 50) ----------------------------


def row(im: Image.Image, y: int, xs: list[int]) -> list[tuple[int, ...]]:
    pixels = [im.getpixel((x, y)) for x in xs]
    assert all(isinstance(p, tuple) for p in pixels)
    return pixels  # type: ignore[return-value]  # RGB(A) images: tuples, checked above


def stripes_card(**props: Any) -> dict[str, Any]:
    src = data_uri(encode(stripes()))
    return card({"src": src, "width": 48, "height": 48, **props})


@pytest.mark.parametrize(
    ("props", "left", "right"),
    [
        ({}, GREEN, BLUE),
        ({"fit": "cover", "position": "left"}, RED, GREEN),
        ({"fit": "cover", "position": "right"}, BLUE, YELLOW),
        ({"fit": "cover", "position": "0% 50%"}, RED, GREEN),
        ({"fit": "cover", "position": "100% 50%"}, BLUE, YELLOW),
    ],
)
def test_cover_keeps_the_focal_point(
    props: dict[str, Any], left: tuple[int, ...], right: tuple[int, ...]
) -> None:
    im = render(stripes_card(**props))
    assert near(im.getpixel((16, 34)), left)
    assert near(im.getpixel((50, 34)), right)
    assert im.getpixel((9, 34)) == BG
    assert im.getpixel((59, 34)) == BG


def test_fill_stretches_all_four_stripes() -> None:
    im = render(stripes_card(fit="fill"))
    assert [
        near(p, c)
        for p, c in zip(row(im, 20, [14, 26, 38, 50]), (RED, GREEN, BLUE, YELLOW), strict=True)
    ] == [True] * 4
    assert near(im.getpixel((30, 12)), GREEN), "fill covers the whole box height"


@pytest.mark.parametrize(
    ("position", "band"), [("center", (22, 46)), ("top", (10, 34)), ("bottom", (34, 58))]
)
def test_contain_letterboxes_at_the_position(position: str, band: tuple[int, int]) -> None:
    im = render(stripes_card(fit="contain", position=position))
    top, bottom = band  # the 48 × 24 image lies in rows [top, bottom)
    assert near(im.getpixel((14, top + 2)), RED)
    assert near(im.getpixel((52, bottom - 2)), YELLOW)
    if top > 10:
        assert im.getpixel((30, top - 2)) == BG
    if bottom < 58:
        assert im.getpixel((30, bottom + 1)) == BG


def test_none_shows_natural_size_cropped_to_the_box() -> None:
    # 100 × 50 source in a 48 × 80 box, centred: x from -26 (green/blue visible), y 15..65.
    src = data_uri(encode(stripes()))
    im = render(card({"src": src, "width": 48, "height": 80, "fit": "none"}))
    assert near(im.getpixel((12, 50)), GREEN)
    assert near(im.getpixel((56, 50)), BLUE)
    assert im.getpixel((30, 20)) == BG, "above the image, inside the box"
    assert near(im.getpixel((30, 30)), GREEN)
    assert im.getpixel((5, 50)) == BG


def test_none_with_position_top_left() -> None:
    src = data_uri(encode(stripes()))
    im = render(
        card({"src": src, "width": 48, "height": 80, "fit": "none", "position": "top left"})
    )
    assert near(im.getpixel((12, 12)), RED)
    assert near(im.getpixel((50, 12)), GREEN)
    assert im.getpixel((30, 70)) == BG


def test_fitting_gives_the_content_rectangle() -> None:
    from renderer.api import prepare
    from renderer.spec import parse_card as parse

    src = data_uri(encode(stripes()))
    prepared = prepare(parse(card({"src": src, "width": 48, "height": 48, "fit": "contain"})))
    (box,) = prepared.layout.boxes
    assert (box.box.x, box.box.y, box.box.width, box.box.height) == (10, 10, 48, 48)
    content = prepared.images[box.component.pointer].content
    assert (content.x, content.y, content.width, content.height) == (10, 22, 48, 24)


# --- radius, border, opacity, alpha ---------------------------------------------------------------


def solid(color: tuple[int, ...], size: tuple[int, int] = (64, 64), mode: str = "RGB") -> str:
    return data_uri(encode(Image.new(mode, size, color)))


def test_radius_of_half_the_side_is_a_circle() -> None:
    im = render(card({"src": solid(RED), "width": 60, "height": 60, "radius": 30}))
    assert near(im.getpixel((40, 40)), RED)
    assert im.getpixel((12, 12)) == BG, "the corner is cut"
    assert near(im.getpixel((40, 11)), RED), "the top of the circle is kept"


def test_border_is_drawn_inside_the_rounded_outline() -> None:
    spec = card(
        {
            "src": solid(RED),
            "width": 60,
            "height": 60,
            "radius": 30,
            "borderWidth": 6,
            "borderColor": "#1428e6",
        }
    )
    im = render(spec)
    assert near(im.getpixel((40, 13)), (20, 40, 230)), "the ring, inside the box"
    assert near(im.getpixel((40, 40)), RED)
    assert im.getpixel((40, 9)) == BG, "nothing outside the box"
    assert im.getpixel((12, 12)) == BG, "the ring follows the circle"


def test_border_with_opacity_fades_with_the_image() -> None:
    spec = card(
        {
            "src": solid(RED),
            "width": 60,
            "height": 60,
            "borderWidth": 6,
            "borderColor": "#000000",
            "opacity": 0.5,
        }
    )
    im = render(spec)
    assert near(im.getpixel((12, 40)), (128, 128, 128), 3)
    assert near(im.getpixel((40, 40)), (242, 138, 142), 3)


def test_opacity_blends_with_the_background() -> None:
    im = render(card({"src": solid((0, 0, 0)), "width": 40, "height": 40, "opacity": 0.25}))
    assert near(im.getpixel((30, 30)), (191, 191, 191), 2)


def test_alpha_is_preserved_over_a_coloured_background() -> None:
    src = solid((0, 0, 255, 128), mode="RGBA")
    spec = card({"src": src, "width": 40, "height": 40}, background="#ff0000")
    im = render(spec)
    assert near(im.getpixel((30, 30)), (127, 0, 128), 3)
    assert im.getpixel((80, 80)) == (255, 0, 0)


def test_downscaling_is_high_quality_and_embedded_at_display_size() -> None:
    """A 1000 px checkerboard shown at 50 px averages to grey (no aliasing), and the SVG carries a
    50 × 50 PNG, not the 1000 px source."""
    board = Image.new("L", (1000, 1000))
    board.putdata([255 * ((x + y) % 2) for y in range(1000) for x in range(1000)])
    src = data_uri(encode(board))
    spec = card({"src": src, "width": 50, "height": 50})
    im = render(spec)
    assert near(im.getpixel((35, 35)), (128, 128, 128), 6)
    svg = renderer.render(spec, "svg")
    embedded = re.search(rb'href="data:image/png;base64,([^"]+)"', svg)
    assert embedded
    assert Image.open(io.BytesIO(base64.b64decode(embedded.group(1)))).size == (50, 50)
    at2 = renderer.render(spec, "svg", scale=2)
    embedded2 = re.search(rb'href="data:image/png;base64,([^"]+)"', at2)
    assert embedded2
    assert Image.open(io.BytesIO(base64.b64decode(embedded2.group(1)))).size == (100, 100)


def test_metadata_is_stripped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x8825] = {2: (1.0, 2.0, 3.0)}  # GPSInfo
    jpeg = encode(Image.new("RGB", (32, 32), RED), "JPEG", exif=exif, icc_profile=b"\0" * 128)
    svg = renderer.render(
        card({"src": data_uri(jpeg, "image/jpeg"), "width": 32, "height": 32}), "svg"
    )
    embedded = base64.b64decode(re.search(rb'base64,([^"]+)"', svg).group(1))  # type: ignore[union-attr]
    assert b"SecretCam" not in embedded
    assert b"eXIf" not in embedded
    assert b"iCCP" not in embedded


def test_exif_orientation_is_applied() -> None:
    im = Image.new("RGB", (40, 20), RED)
    im.paste(BLUE, (20, 0, 40, 20))  # stored: red left, blue right
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise: red on top, blue below
    src = data_uri(encode(im, "JPEG", exif=exif, quality=95), "image/jpeg")
    out = render(card({"src": src, "width": 20, "height": 40, "fit": "fill"}))
    assert near(out.getpixel((20, 15)), RED, 40)
    assert near(out.getpixel((20, 45)), BLUE, 40)


def test_gif_first_frame_only() -> None:
    frames = [Image.new("RGB", (16, 16), c) for c in (RED, BLUE)]
    gif = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    im = render(card({"src": data_uri(gif, "image/gif"), "width": 30, "height": 30}))
    assert near(im.getpixel((25, 25)), RED, 30)


# --- limits and hostile input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height"),
    [(7_000, 7_000), (10_000, 10_000), (20_000, 20_000)],
    ids=["over-our-cap", "over-pillow-warning", "over-pillow-error"],
)
def test_png_bombs_are_our_error_not_pillows(width: int, height: int) -> None:
    """Between Pillow's warning and error thresholds Pillow only warns (and pytest turns warnings
    into errors here): our check must run first, thread-safely, whatever the size."""
    message = error_of(
        card({"src": data_uri(png_declaring(width, height)), "width": 20, "height": 20})
    )
    assert f"{width}×{height}" in message
    assert "Limits.max_image_pixels" in message


def test_the_pixel_cap_is_configurable() -> None:
    src = data_uri(encode(Image.new("RGB", (100, 100), RED)))
    message = error_of(
        card({"src": src, "width": 20, "height": 20}), limits=renderer.Limits(max_image_pixels=5000)
    )
    assert "the limit is 5000 pixels" in message


def test_max_side_is_enforced() -> None:
    src = data_uri(encode(Image.new("1", (3000, 2))))
    message = error_of(
        card({"src": src, "width": 20, "height": 20}), ImagePolicy(max_image_side=2048)
    )
    assert "2048 px per side (ImagePolicy.max_image_side)" in message


def gif_with_frame_extent(width: int, height: int) -> bytes:
    """A GIF whose screen is 10 × 10 but whose first frame claims `width` × `height`."""
    header = b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0, 0, 0)
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return header + descriptor + b"\x02\x02\x44\x01\x00\x3b"


def test_gif_frame_bomb_is_refused() -> None:
    message = error_of(
        card({"src": data_uri(gif_with_frame_extent(60_000, 60_000)), "width": 20, "height": 20})
    )
    assert "60000×60000" in message


def test_ico_with_a_png_bomb_inside_is_refused() -> None:
    png = png_declaring(12_000, 12_000)
    ico = (
        struct.pack("<HHH", 0, 1, 1)
        + struct.pack("<BBBBHHII", 0, 0, 0, 0, 1, 32, len(png), 22)
        + png
    )
    message = error_of(card({"src": data_uri(ico), "width": 20, "height": 20}))
    assert "12000×12000" in message


def test_webp_canvas_bomb_is_refused_before_libwebp_allocates() -> None:
    """libwebp allocates the declared canvas when the file is opened: check the header first."""
    w, h = 16_000, 12_000
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0"
    vp8x += (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    webp = b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x
    started = time.monotonic()
    message = error_of(card({"src": data_uri(webp), "width": 20, "height": 20}))
    assert time.monotonic() - started < 0.5
    assert f"{w}×{h}" in message


def test_truncated_png_is_refused() -> None:
    png = encode(Image.effect_noise((200, 200), 50).convert("RGB"))
    message = error_of(card({"src": data_uri(png[: len(png) // 2]), "width": 20, "height": 20}))
    assert "truncated" in message


def test_fuzzed_sources_never_crash() -> None:
    """Random damage to every format ends in a picture or an ImageLoadError, never anything else."""
    rng = random.Random(4)
    seeds = [
        encode(Image.new("RGBA", (24, 24), (*RED, 200)), fmt)
        for fmt in ("PNG", "WEBP", "GIF", "TIFF", "ICO", "AVIF")
    ] + [encode(Image.new("RGB", (24, 24), RED), fmt) for fmt in ("JPEG", "BMP")]
    for i in range(160):
        data = bytearray(seeds[i % len(seeds)])
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(8, len(data))] = rng.randrange(256)
        if rng.random() < 0.3:
            data = data[: rng.randrange(8, len(data))]
        pointers = []
        try:
            renderer.render(card({"src": data_uri(bytes(data)), "width": 20, "height": 20}), "svg")
        except renderer.ImageLoadError as e:
            pointers = [i.pointer for i in e.issues]
        assert pointers in ([], ["/components/0/src"])


# --- SVG sources ----------------------------------------------------------------------------------

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 20 10" width="20" height="10">'
    '<rect width="10" height="10" fill="#e6141e"/>'
    '<circle cx="15" cy="5" r="5" fill="#1e28e6"/></svg>'
)


def test_svg_logo_in_png_and_svg_output() -> None:
    spec = card(
        {
            "src": data_uri(LOGO.encode(), "image/svg+xml"),
            "width": 80,
            "height": 40,
            "fit": "contain",
        }
    )
    im = render(spec)
    assert near(im.getpixel((30, 30)), RED)
    assert near(im.getpixel((70, 30)), (30, 40, 230))
    svg = renderer.render(spec, "svg")
    assert b"<circle" not in svg, "the user's SVG is embedded as a PNG, never as markup"


def test_svg_source_is_sharp_at_scale_2() -> None:
    spec = card({"src": data_uri(LOGO.encode()), "width": 80, "height": 40})
    im = Image.open(io.BytesIO(renderer.render(spec, "png", scale=2))).convert("RGB")
    assert near(im.getpixel((2 * 79, 2 * 30)), (30, 40, 230))


def test_svg_is_off_in_the_server_policy() -> None:
    message = error_of(
        card({"src": data_uri(LOGO.encode()), "width": 20, "height": 20}), ImagePolicy.server()
    )
    assert "ImagePolicy.allow_svg" in message


def test_billion_laughs_is_refused() -> None:
    lol = (
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "lol">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><svg xmlns="http://www.w3.org/2000/svg"><text>&c;</text></svg>'
    )
    started = time.monotonic()
    assert "<!ENTITY" in error_of(card({"src": data_uri(lol.encode()), "width": 20, "height": 20}))
    assert time.monotonic() - started < 0.5


def use_bomb(levels: int = 12) -> bytes:
    """Each level draws the previous one 10 times: 10^levels shapes from a 2 KB document."""
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="100" height="100"><defs>'
    ]
    parts.append('<path id="l0" d="M0 0L10 10L0 10Z" fill="red"/>')
    for i in range(1, levels + 1):
        uses = "".join(f'<use xlink:href="#l{i - 1}" x="{j}"/>' for j in range(10))
        parts.append(f'<g id="l{i}">{uses}</g>')
    parts.append(f'</defs><use xlink:href="#l{levels}"/></svg>')
    return "".join(parts).encode()


def test_use_amplification_bomb_is_cut_at_the_svg_timeout() -> None:
    """The deadline runs from when the sandbox has the document (its start-up, slow on a loaded
    machine, is not the document's); a bomb is killed there."""
    policy = ImagePolicy(allow_svg=True, svg_timeout=0.5)
    started = time.monotonic()
    message = error_of(card({"src": data_uri(use_bomb()), "width": 20, "height": 20}), policy)
    assert time.monotonic() - started < 10  # start-up + 0.5 s, with room for a loaded machine
    assert "longer than 0.5 s to draw (ImagePolicy.svg_timeout)" in message


def test_svg_timeout_defaults_fit_the_two_second_promise() -> None:
    assert DEFAULT_POLICY.svg_timeout <= 1.5


class _Counting(BaseHTTPRequestHandler):
    hits: Counter[str] = Counter()

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        _Counting.hits[self.path] += 1
        self.send_response(200)
        self.end_headers()


@pytest.fixture
def counting_server() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_svg_references_are_never_fetched(counting_server: int, tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(encode(Image.new("RGB", (10, 10), GREEN)))
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'width="20" height="20">'
        '<rect width="20" height="20" fill="#ffffff"/>'
        f'<image xlink:href="http://127.0.0.1:{counting_server}/leak.png" width="10" height="10"/>'
        f'<image xlink:href="file://{secret}" x="10" width="10" height="10"/>'
        '<style>@import url("http://127.0.0.1:%d/leak.css");</style></svg>' % counting_server
    )
    im = render(card({"src": data_uri(svg.encode()), "width": 40, "height": 40}))
    assert _Counting.hits == Counter()
    assert not near(im.getpixel((40, 20)), GREEN), "the local file was not read"


# --- paths and the server policy ------------------------------------------------------------------


def _red_png(path: Path) -> Path:
    path.write_bytes(encode(Image.new("RGB", (8, 8), RED)))
    return path


def test_a_dict_reads_no_file_unless_given_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The safe default for a spec from a request: no file, not even one in the working folder,
    and the refusal says what to pass."""
    _red_png(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    spec = card({"src": "a.png", "width": 20, "height": 20})
    for policy in (DEFAULT_POLICY, ImagePolicy.server()):
        message = error_of(spec, policy)
        for hint in ("base_dir=", "ImagePolicy(allow_paths=", "--allow-image-dir"):
            assert hint in message, (hint, message)
        for text in (json.dumps(spec), json.dumps(spec).encode()):
            with pytest.raises(renderer.ImageLoadError, match="base_dir="):
                renderer.render(text, "png", image_policy=policy)
    for kw in ({"base_dir": tmp_path}, {"base_dir": "."}, {"base_dir": str(tmp_path)}):
        assert near(render(spec, **kw).getpixel((20, 20)), RED), kw
    # A policy folder alone allows it too (relative to the working folder, as there is no base).
    assert near(render(spec, ImagePolicy(allow_paths=(".",))).getpixel((20, 20)), RED)
    lone = ImagePolicy(allow_paths=str(tmp_path))  # type: ignore[arg-type]  # one str: one folder
    assert near(render(spec, lone).getpixel((20, 20)), RED)


@pytest.mark.parametrize("form", ["absolute", "dotdot", "symlink"])
def test_leaving_the_base_folder_needs_a_policy_folder(tmp_path: Path, form: str) -> None:
    """Absolute paths, `..` and symlinks out of the base folder are refused, whether the spec
    is a file (its own folder) or a dict with base_dir, until a policy folder contains them."""
    cards, private = tmp_path / "cards", tmp_path / "private"
    cards.mkdir()
    private.mkdir()
    secret = _red_png(private / "secret.png")
    if form == "symlink":
        (cards / "link.png").symlink_to(secret)
    src = {"absolute": str(secret), "dotdot": "../private/secret.png", "symlink": "link.png"}[form]
    spec = card({"src": src, "width": 20, "height": 20})
    spec_file = cards / "card.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    for message in (
        error_of(spec, base_dir=cards),
        _file_error(spec_file, DEFAULT_POLICY),
        error_of(spec, ImagePolicy(allow_paths=(cards,)), base_dir=cards),
    ):
        assert "outside the folders images may be read from" in message
        assert "ImagePolicy(allow_paths=" in message
        assert "--allow-image-dir" in message
    allowed = ImagePolicy(allow_paths=(private,))
    assert near(render(spec, allowed, base_dir=cards).getpixel((20, 20)), RED)
    png = renderer.render(spec_file, "png", image_policy=allowed)
    assert near(Image.open(io.BytesIO(png)).convert("RGB").getpixel((20, 20)), RED)


def _file_error(path: Path, policy: ImagePolicy) -> str:
    with pytest.raises(renderer.ImageLoadError) as info:
        renderer.render(path, "png", image_policy=policy)
    (issue,) = info.value.issues
    return issue.message


def test_a_spec_file_reads_files_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What CI users rely on: a card file names its logo relative to itself, run from anywhere;
    a template given as a path keeps its folder when filled."""
    (tmp_path / "assets").mkdir()
    _red_png(tmp_path / "assets" / "a.png")
    spec = card({"src": "assets/a.png", "width": 20, "height": 20})
    spec["components"].append({"type": "text", "text": "{{ t }}", "x": 0, "y": 60})
    (tmp_path / "card.json").write_text(json.dumps(spec), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for png in (
        renderer.render(tmp_path / "card.json", "png"),
        renderer.render(str(tmp_path / "card.json"), "png", variables={"t": "x"}),
        renderer.render("../card.json", "png", variables={"t": "x"}),
    ):
        assert near(Image.open(io.BytesIO(png)).convert("RGB").getpixel((20, 20)), RED)


def test_allowed_folders(tmp_path: Path) -> None:
    inside = tmp_path / "assets"
    inside.mkdir()
    (inside / "a.png").write_bytes(encode(Image.new("RGB", (8, 8), RED)))
    (tmp_path / "b.png").write_bytes(encode(Image.new("RGB", (8, 8), RED)))
    policy = ImagePolicy.server(allow_paths=(inside,))
    im = render(card({"src": "a.png", "width": 20, "height": 20}), policy, base_dir=inside)
    assert near(im.getpixel((20, 20)), RED)
    message = error_of(
        card({"src": "../b.png", "width": 20, "height": 20}), policy, base_dir=inside
    )
    assert "outside the folders images may be read from" in message


def test_allow_paths_none_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="allow_paths must name folders"):
        ImagePolicy(allow_paths=None)  # type: ignore[arg-type]


def test_device_files_are_refused() -> None:
    message = error_of(card({"src": "/dev/zero", "width": 20, "height": 20}), EVERY_FILE)
    assert "not a regular file" in message


# --- onImageError --------------------------------------------------------------------------------


def test_placeholder_draws_and_records_the_error(tmp_path: Path) -> None:
    spec = card({"src": "missing.png", "width": 60, "height": 40, "onImageError": "placeholder"})
    im = render(spec, base_dir=tmp_path)
    assert im.getpixel((12, 12)) == (229, 231, 235)
    c = parse_card(spec, base_dir=tmp_path)
    resources = load_resources(c)
    assert list(resources.errors) == ["/components/0/src"]
    assert "cannot read file 'missing.png'" in resources.errors["/components/0/src"]
    component = c.components[0]
    assert isinstance(component, ImageComponent)
    assert resources.sources[component.pointer].error == resources.errors["/components/0/src"]


def test_error_is_the_default() -> None:
    assert "missing.png" in error_of(card({"src": "missing.png", "width": 20, "height": 20}))


def test_every_failing_source_is_named() -> None:
    spec = card(
        {"src": "a.png", "width": 20, "height": 20}, {"src": "b.png", "width": 20, "height": 20}
    )
    with pytest.raises(renderer.ImageLoadError) as info:
        renderer.render(spec)
    assert [i.pointer for i in info.value.issues] == ["/components/0/src", "/components/1/src"]


def test_svg_logo_case_in_svg_output_matches_its_golden(golden: Any) -> None:
    """The SVG output of the SVG-logo case, rasterized on its own, matches the PNG golden, and
    carries the logo as a PNG, never as the user's markup."""
    from renderer.raster import rasterize

    case = Path(__file__).parent / "cases" / "image-src-svg.json"
    svg = renderer.render(case, "svg")
    assert b"<image" in svg
    assert svg.count(b"<svg") == 1
    buf = io.BytesIO()
    rasterize(svg, 1.0).to_image().save(buf, "PNG")
    golden("image-src-svg", buf.getvalue())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_fifo_source_is_refused_without_blocking(tmp_path: Path) -> None:
    """Opening a FIFO for reading blocks until a writer comes: it must be refused before that."""
    fifo = tmp_path / "logo.png"
    os.mkfifo(fifo)
    spec = {
        "width": 20,
        "height": 20,
        "components": [{"type": "image", "src": str(fifo), "width": 10, "height": 10}],
    }
    with pytest.raises(renderer.ImageLoadError, match="not a regular file"):
        renderer.render(spec, "png", base_dir=tmp_path)


# --- the fitted-image cache ----------------------------------------------------------------------


def test_a_fitted_image_is_converted_for_cairo_once() -> None:
    """A card drawn again with an image already fitted for its box and scale reuses the painter's
    premultiplied copy (a photo's conversion is ~1-10 ms): the second render converts nothing and
    draws the same bytes."""
    half = Image.new("RGBA", (100, 50), (0, 0, 255, 128))
    half.paste(stripes().convert("RGBA").crop((0, 0, 50, 50)))
    spec = card({"src": data_uri(encode(half)), "width": 60, "height": 40, "radius": 8})
    first = renderer.render(spec, "png")
    (fitted,) = prepare(parse_card(spec)).images.values()
    loaded = fitted.for_raster(1.0)

    def again(_: Image.Image) -> bytearray:
        pytest.fail("the painter's copy was made again")

    converted = loaded.for_painter(again)
    assert isinstance(converted, bytearray)
    assert len(converted) == loaded.width * loaded.height * 4
    assert renderer.render(spec, "png") == first
    (again_fitted,) = prepare(parse_card(spec)).images.values()
    cached = again_fitted.for_raster(1.0)
    assert cached is loaded
    assert cached.for_painter(again) is converted


def test_svg_output_leaves_the_cairo_copy_unmade() -> None:
    spec = card({"src": data_uri(encode(stripes())), "width": 60, "height": 40})
    renderer.render(spec, "svg")
    (fitted,) = prepare(parse_card(spec)).images.values()
    assert fitted.for_svg(1.0).for_painter(lambda _: "made now") == "made now"


# --- colour profiles ------------------------------------------------------------------------------


def _tagged(color: tuple[int, ...], icc: bytes, mode: str = "RGB") -> str:
    buf = io.BytesIO()
    Image.new(mode, (40, 40), color).save(buf, "PNG", icc_profile=icc)
    return data_uri(buf.getvalue())


SWAPPED = icc_rgb_profile(red=SRGB_BLUE, blue=SRGB_RED)  # the file's red is sRGB blue


def test_embedded_profile_is_converted_to_srgb() -> None:
    """A file tagged with a colour profile shows its colours as the profile says (a browser does
    this), not its raw numbers read as sRGB. The test profile swaps red and blue, so skipping the
    conversion cannot pass for a small tint."""
    image = render(card({"src": _tagged((255, 0, 0), SWAPPED), "width": 40, "height": 40}))
    assert near(image.getpixel((30, 30)), (0, 0, 255), tol=8)


def test_profile_conversion_keeps_alpha() -> None:
    src = _tagged((255, 0, 0, 128), SWAPPED, mode="RGBA")
    image = render(card({"src": src, "width": 40, "height": 40}, size=(60, 60)))
    assert near(image.getpixel((30, 30)), (127, 127, 255), tol=8)  # blue at half over white


@pytest.mark.parametrize(
    "icc",
    [
        pytest.param(b"not a profile at all", id="unreadable"),
        pytest.param(icc_rgb_profile(gamma=1.0)[:60], id="truncated"),
        pytest.param(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(), id="srgb"),
    ],
)
def test_srgb_or_unusable_profiles_leave_the_pixels_alone(icc: bytes) -> None:
    image = render(card({"src": _tagged((200, 100, 50), icc), "width": 40, "height": 40}))
    assert image.getpixel((30, 30)) == (200, 100, 50)
