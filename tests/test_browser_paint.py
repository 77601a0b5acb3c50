"""Paint (issue 14) against Chromium: the SVG and the raster stay one picture, and both are the
picture CSS draws.

CairoSVG draws no blur, so it cannot judge shadows and blurred images; a browser can. Two
comparisons, each a mean |difference| per channel (0-255) over the card, printed per case, with
a tolerance per feature (a different rasterizer anti-aliases edges, resamples images and
quantizes blurs and gradients its own way; a wrong offset, radius, angle, blur or colour costs
far more than these):

- every golden case of the paint features, and the two reference cards in `examples/`: our
  SVG drawn by Chromium against our PNG;
- small cards against the same picture written as CSS (`linear-gradient`, `radial-gradient`,
  `border-radius`, `box-shadow`, `text-shadow`, `filter`, `transform: rotate`), in HTML that
  uses the same font files (`browser.font_face_css`).

Cost: one Chromium for the module, a page per case; about 4 s on the 2-core CI machine.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import _css_family, font_face_css
from golden import CASES_DIR
from numpy.typing import NDArray
from pages import chromium
from PIL import Image
from playwright.sync_api import Page

import renderer

# Tolerance by the golden case's family (its name before the first "-"): our SVG in Chromium
# against our PNG (see `_distance`); measured today 0.0-1.1 except where said. Edges at
# fractional pixels are covered by Skia's sampling, not cairo's exact area: QR modules
# (qr-levels 2.48), stroked and gradient-filled glyph outlines (stroke-text 1.61, paint-text
# 1.82); Chromium resamples embedded photos again (image-src-base64 2.81). Blurs (Skia's
# Gaussian against our three box blurs) stay under 0.9.
SVG_TOLERANCE = {
    "shape": 0.5,
    "paint": 2.5,
    "shadow": 1.2,
    "rotate": 1.2,
    "stroke": 2.5,
    "image": 3.5,
    "qr": 3.0,
    "example": 1.5,  # the full-size reference cards in examples/ (hero 0.57, photo-card 0.65)
}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SVG_CASES = {
    p.stem: p for p in sorted(CASES_DIR.glob("*.json")) if p.stem.split("-")[0] in SVG_TOLERANCE
} | {f"example-{name}": EXAMPLES / f"{name}.json" for name in ("hero", "photo-card")}


@dataclass(frozen=True)
class Tab:
    """One Chromium tab and the folder its pages are written to: a page loaded from a file may
    load the font files (`file:` URLs); one set from `about:blank` may not."""

    page: Page
    folder: Path

    def shoot(self, body: str, width: int, height: int) -> NDArray[np.float64]:
        """Chromium's picture of `body` in a page of the card's size, white behind it."""
        file = self.folder / "page.html"
        file.write_text(
            "<!doctype html><html><head><meta charset='utf-8'><style>"
            f"{font_face_css()} html, body {{ margin: 0; background: #ffffff; overflow: hidden }}"
            "</style></head><body>" + body + "</body></html>",
            encoding="utf-8",
        )
        self.page.set_viewport_size({"width": width, "height": height})
        self.page.goto(file.as_uri())
        self.page.evaluate("document.fonts.ready.then(() => new Promise(r => setTimeout(r, 20)))")
        shot = self.page.screenshot(clip={"x": 0, "y": 0, "width": width, "height": height})
        return _pixels(shot)


@pytest.fixture(scope="module")
def tab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tab]:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 400, "height": 300})
        page.set_default_timeout(15_000)
        yield Tab(page, tmp_path_factory.mktemp("paint"))
        page.close()


def _pixels(png: bytes) -> NDArray[np.float64]:
    """An image over white, RGB, as floats."""
    with Image.open(io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float64)


def _distance(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Mean |difference| per channel over the pixels either picture paints (not white in
    both): a whole-card mean would let a wrong corner or blur hide in the empty canvas."""
    assert a.shape == b.shape
    painted = (a < 250).any(axis=2) | (b < 250).any(axis=2)
    return float(np.abs(a - b)[painted].mean()) if painted.any() else 0.0


@pytest.mark.parametrize("case", list(SVG_CASES))
def test_our_svg_in_chromium_is_our_png(tab: Tab, case: str) -> None:
    path = SVG_CASES[case]
    svg, png = renderer.render(path, "svg"), _pixels(renderer.render(path, "png"))
    height, width = png.shape[:2]
    uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    img = f'<img src="{uri}" width="{width}" height="{height}" style="display: block">'
    distance = _distance(tab.shoot(img, width, height), png)
    tolerance = SVG_TOLERANCE[case.split("-")[0]]
    print(f"{case}: mean distance {distance:.3f} (tolerance {tolerance})")
    assert distance <= tolerance


# --- against the equivalent CSS ------------------------------------------------------------------

W, H = 240, 160
PHOTO = CASES_DIR / "assets" / "photo.png"  # 64 × 40: shown at 160 × 100, the same ratio


def _photo_uri() -> str:
    return "data:image/png;base64," + base64.b64encode(PHOTO.read_bytes()).decode("ascii")


def _div(style: str, inner: str = "") -> str:
    return f'<div style="position: absolute; box-sizing: border-box; {style}">{inner}</div>'


def _shape(**props: Any) -> dict[str, Any]:
    return {"type": "shape", "x": 40, "y": 30, "width": 160, "height": 100, **props}


def _box(style: str, inner: str = "") -> str:
    """An element where `_shape` puts the component."""
    return _div("left: 40px; top: 30px; width: 160px; height: 100px; " + style, inner)


_TEXT_FONT = (
    f"font-family: {html.escape(_css_family('Inter'))}; font-weight: 700; font-size: 56px; "
    "line-height: 1.2; white-space: pre; font-kerning: normal;"
)


def _text(**props: Any) -> dict[str, Any]:
    return {
        "type": "text",
        "text": "Paint",
        "fontFamily": "Inter",
        "fontWeight": "700",
        "fontSize": 56,
        "x": 40,
        "y": 40,
        **props,
    }


def _image(**props: Any) -> dict[str, Any]:
    return {**_shape(), "type": "image", "src": _photo_uri(), **props}


_IMG = f'<img src="{_photo_uri()}" style="display: block; width: 160px; height: 100px; '

# name -> (feature, our component, the same picture as CSS)
CSS_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    "linear-135": (
        "gradient",
        _shape(
            fill={
                "gradient": "linear",
                "angle": 135,
                "stops": [
                    {"color": "#ef4444", "offset": 0},
                    {"color": "#facc15", "offset": 0.4},
                    {"color": "#2563eb", "offset": 1},
                ],
            }
        ),
        _box("background: linear-gradient(135deg, #ef4444 0%, #facc15 40%, #2563eb 100%)"),
    ),
    "radial-ellipse": (
        "gradient",
        _shape(
            fill={
                "gradient": "radial",
                "center": [0.3, 0.4],
                "stops": [{"color": "#f0abfc"}, {"color": "#1e1b4b"}],
            }
        ),
        _box("background: radial-gradient(ellipse farthest-corner at 30% 40%, #f0abfc, #1e1b4b)"),
    ),
    "radial-circle-side": (
        "gradient",
        _shape(
            fill={
                "gradient": "radial",
                "shape": "circle",
                "extent": "closest-side",
                "stops": [{"color": "#22c55e"}, {"color": "#0f172a", "offset": 0.8}],
            }
        ),
        _box("background: radial-gradient(circle closest-side, #22c55e, #0f172a 80%)"),
    ),
    "radii-four": (
        "radius",
        _shape(fill="#0ea5e9", radius=[40, 8, 60, 0]),
        _box("background: #0ea5e9; border-radius: 40px 8px 60px 0"),
    ),
    "radii-overlap": (
        "radius",
        _shape(fill="#7c3aed", radius=[100, 100, 20, 20], borderWidth=6, borderColor="#fde047"),
        _box(
            "background: #7c3aed; border-radius: 100px 100px 20px 20px; border: 6px solid #fde047"
        ),
    ),
    "box-shadow": (
        "shadow",
        _shape(
            fill="#ffffff",
            radius=16,
            shadow={"x": 6, "y": 10, "blur": 16, "spread": 2, "color": "#0f172a80"},
        ),
        _box("background: #fff; border-radius: 16px; box-shadow: 6px 10px 16px 2px #0f172a80"),
    ),
    "box-shadows-hard": (
        "shadow",
        _shape(
            fill="#fde68a",
            radius=24,
            shadow=[
                {"x": 8, "y": 8, "color": "#1e293b"},
                {"x": -4, "y": -4, "blur": 8, "spread": 4, "color": "#ec489980"},
            ],
        ),
        _box(
            "background: #fde68a; border-radius: 24px; "
            "box-shadow: 8px 8px 0 0 #1e293b, -4px -4px 8px 4px #ec489980"
        ),
    ),
    "text-shadow": (
        "shadow",
        _text(color="#f8fafc", textShadow={"x": 3, "y": 4, "blur": 6, "color": "#1e293bcc"}),
        _div(
            "left: 40px; top: 40px; color: #f8fafc; text-shadow: 3px 4px 6px #1e293bcc; "
            + _TEXT_FONT,
            "Paint",
        ),
    ),
    "filter-tones": (
        "filter",
        _image(filter={"brightness": 1.2, "contrast": 1.3, "saturate": 1.6}),
        _box("", _IMG + 'filter: brightness(1.2) contrast(1.3) saturate(1.6)">'),
    ),
    "filter-grayscale": (
        "filter",
        _image(filter={"grayscale": 1}, radius=20),
        _box("border-radius: 20px; overflow: hidden", _IMG + 'filter: grayscale(1)">'),
    ),
    "rotate-shape": (
        "rotate",
        _shape(fill="#f97316", radius=12, rotate=30),
        _box(
            "background: #f97316; border-radius: 12px; transform: rotate(30deg); "
            "transform-origin: 0 0"
        ),
    ),
    "rotate-gradient-centre": (
        "rotate",
        _shape(
            x=120,
            y=80,
            anchor="center",
            rotate=-20,
            fill={
                "gradient": "linear",
                "angle": 90,
                "stops": [{"color": "#06b6d4"}, {"color": "#a855f7"}],
            },
        ),
        _box(
            "background: linear-gradient(90deg, #06b6d4, #a855f7); "
            "transform: rotate(-20deg); transform-origin: 50% 50%"
        ),
    ),
}
# Mean distance allowed per feature against CSS (see `_distance`; measured today: gradients
# 0.08-0.25, radii 0.09-0.78, shadows 0.28-1.74, filters 1.04-1.51, rotation 0.12-0.48; Chromium
# resamples the photo with its own filter). What a mistake costs, measured: a linear angle 3
# degrees off 2.1, a radial centre 3 % off 2.2, a rotation 3 degrees off 6.3-9.6, a text-shadow
# blur of 4 px for 6 px 8.8, saturate 1.4 for 1.6 4.9, grayscale 0.8 for 1 6.2. (A box-shadow
# blur 2 px off is 1.67, within the noise of Skia's own Gaussian: the golden case holds that.)
CSS_TOLERANCE = {
    "gradient": 0.6,
    "radius": 1.0,
    "shadow": 2.0,
    "filter": 2.0,
    "rotate": 0.8,
}


@pytest.mark.parametrize("name", list(CSS_CASES))
def test_paint_matches_chromiums_css(tab: Tab, name: str) -> None:
    feature, component, css = CSS_CASES[name]
    spec = {"width": W, "height": H, "background": "#ffffff", "components": [component]}
    ours = _pixels(renderer.render(spec, "png", base_dir=Path(CASES_DIR)))
    theirs = tab.shoot(css, W, H)
    distance = _distance(ours, theirs)
    tolerance = CSS_TOLERANCE[feature]
    print(f"{name} ({feature}): mean distance {distance:.3f} (tolerance {tolerance})")
    assert distance <= tolerance


@pytest.mark.parametrize("blur", [3, 6])
def test_image_blur_matches_css_inside_its_edges(tab: Tab, blur: float) -> None:
    """`filter.blur` is CSS `blur()` of the same length, away from the edges: there CSS fades
    into the transparent outside and ours extends the edge pixels (the schema says so), so the
    comparison leaves out a band of three standard deviations inside the box. Measured: 0.76
    (3 px) and 0.96 (6 px); half the deviation (CSS's box-shadow rule, blur / 2, taken by
    mistake) measures 3.3 and 5.3."""
    image = _image(filter={"blur": blur})
    spec = {"width": W, "height": H, "background": "#ffffff", "components": [image]}
    ours = _pixels(renderer.render(spec, "png"))
    theirs = tab.shoot(_box("overflow: hidden", _IMG + f'filter: blur({blur}px)">'), W, H)
    inset = 3 * blur
    inside = (slice(30 + inset, 130 - inset), slice(40 + inset, 200 - inset))
    distance = float(np.abs(ours[inside] - theirs[inside]).mean())
    sharp = float(np.abs(ours[inside] - tab.shoot(_box("", _IMG + '">'), W, H)[inside]).mean())
    print(f"blur {blur}: mean distance {distance:.3f} inside (unblurred: {sharp:.3f})")
    assert distance <= CSS_TOLERANCE["filter"]
    assert sharp > 2 * distance  # the comparison sees a blur at all
