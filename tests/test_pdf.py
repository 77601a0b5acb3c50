"""PDF output (issue 14): the scene on cairo's PDF surface. The document must open in a real
reader (PDFium, through pypdfium2), rasterize to what our PNG shows, keep text and shapes as
vectors, embed images at no more than their displayed resolution × scale, and be the same bytes
every time."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from golden import CASES_DIR
from PIL import Image

import renderer

# Mean |difference| per channel (0-255) between PDFium's rasterization of the page and our PNG:
# the same cairo geometry, rasterized by another library (its anti-aliasing, its image
# filtering, its shading of gradients). A case over it draws something else.
TOLERANCE = 1.5
CASES = [
    "og-blog",
    "paint-linear",
    "paint-radial",
    "paint-text",
    "rotate-components",
    "stroke-text",
    "shadow-box",
    "shadow-text",
    "image-filter-overlay-radius",
    "qr-levels",
    "text-emoji",
    "shape-kinds",
]


def _page(pdf: bytes, scale: float = 1.0) -> np.ndarray:
    doc = pdfium.PdfDocument(pdf)
    try:
        image = doc[0].render(scale=scale / 0.75).to_pil().convert("RGB")
    finally:
        doc.close()
    return np.asarray(image, dtype=np.float64)


def _png(path: Path, scale: float = 1.0) -> np.ndarray:
    with Image.open(io.BytesIO(renderer.render(path, "png", scale=scale))) as image:
        rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"), dtype=np.float64)


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PATHS = {case: CASES_DIR / f"{case}.json" for case in CASES} | {
    f"example-{name}": EXAMPLES / f"{name}.json" for name in ("hero", "photo-card")
}


@pytest.mark.parametrize("case", list(PATHS))
def test_the_page_shows_what_the_png_shows(case: str) -> None:
    path = PATHS[case]
    page, png = _page(renderer.render(path, "pdf")), _png(path)
    assert page.shape == png.shape
    distance = float(np.abs(page - png).mean())
    print(f"{case}: mean distance {distance:.3f}")
    assert distance <= TOLERANCE


def test_two_renders_are_the_same_bytes_and_undated() -> None:
    path = CASES_DIR / "shadow-text.json"
    first, second = renderer.render(path, "pdf"), renderer.render(path, "pdf")
    assert first == second
    assert first.startswith(b"%PDF-")
    assert re.findall(rb"/CreationDate \(([^)]*)\)", first) == [b"20000101000000Z"]
    assert b"/ModDate" not in first


def test_the_page_is_the_card_at_three_quarters_of_a_point_per_px() -> None:
    doc = pdfium.PdfDocument(renderer.render(CASES_DIR / "og-blog.json", "pdf"))
    assert len(doc) == 1
    assert doc[0].get_size() == (1200 * 0.75, 630 * 0.75)
    doc.close()


def test_text_and_shapes_stay_vectors() -> None:
    pdf = renderer.render(CASES_DIR / "paint-text.json", "pdf")
    doc = pdfium.PdfDocument(pdf)
    kinds = {obj.type for obj in doc[0].get_objects()}
    doc.close()
    assert pdfium.raw.FPDF_PAGEOBJ_PATH in kinds
    assert pdfium.raw.FPDF_PAGEOBJ_IMAGE not in kinds  # no text was rasterized
    assert b"/FontFile" not in pdf  # glyph outlines (Type 3 glyph drawings), no font file


def test_a_face_s_glyphs_are_written_once_however_often_the_page_draws_them() -> None:
    """Glyphs are shown from a Type 3 font of their outlines (`renderer/pdftext.py`): 300
    repetitions of a word cost a few hundred bytes more than one, not 300 outlines each (as a
    path per glyph did: 780 KB against 3.7 KB)."""

    def card(text: str) -> dict[str, Any]:
        component = {"type": "text", "text": text, "fontSize": 20, "frameWidth": 1180}
        return {"width": 1200, "height": 1200, "components": [{**component, "x": 10, "y": 10}]}

    one = renderer.render(card("Hamburg"), "pdf")
    many = renderer.render(card("Hamburg " * 300), "pdf")
    assert b"/Type3" in many
    assert len(many) < 2 * len(one)


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_images_embed_no_more_than_their_displayed_pixels_times_scale(scale: float) -> None:
    spec: dict[str, Any] = {
        "width": 200,
        "height": 100,
        "components": [
            {"type": "image", "src": "assets/photo.png", "width": 80, "height": 50},
            {"type": "image", "src": "assets/avatar.png", "x": 100, "width": 40, "height": 40},
        ],
    }
    pdf = renderer.render(spec, "pdf", scale=scale, base_dir=CASES_DIR)
    doc = pdfium.PdfDocument(pdf)
    sizes = sorted(
        tuple(obj.get_px_size())
        for obj in doc[0].get_objects()
        if obj.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE
    )
    doc.close()
    assert sizes == sorted(
        [(round(40 * scale), round(40 * scale)), (round(80 * scale), round(50 * scale))]
    )


@pytest.mark.parametrize("scale", [1.0, 2.0])
def test_a_qr_code_decodes_from_the_page(scale: float) -> None:
    spec = {
        "width": 140,
        "height": 140,
        "components": [
            {"type": "qr", "data": "https://pdf.example/1", "size": 120, "x": 10, "y": 10}
        ],
    }
    page = _page(renderer.render(spec, "pdf"), scale)
    found = zxingcpp.read_barcodes(Image.fromarray(page.astype(np.uint8)))
    assert [r.text for r in found] == ["https://pdf.example/1"]


def test_the_cli_writes_a_pdf_by_its_extension(tmp_path: Path) -> None:
    from renderer.cli import main

    out = tmp_path / "card.pdf"
    assert main(["render", str(CASES_DIR / "qr-levels.json"), "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")
