"""Golden-image comparison: a rendered PNG against `golden_images/<case>.png`.

Tolerance (the resvg and typst rule, see STYLE.md "Golden-image tests"):

* Both images are compared as 8-bit RGBA. A pixel **differs** when any of its four channels is
  off by more than 1 (|expected - actual| > 1), which absorbs last-bit rounding in compositing and
  unpremultiplying but nothing a person could see.
* Two fully transparent pixels (alpha 0 in both) are equal whatever their colour channels hold:
  the colour of an invisible pixel is not part of the picture.
* A case passes at **zero** differing pixels. A case may declare a wider tolerance (a larger
  per-channel difference and/or a number of pixels allowed to differ) with the marker
  `@pytest.mark.golden_tolerance(channel=..., pixels=..., reason="...")`; the reason is required.
* Images of different sizes never match.

On a mismatch the actual image is written to `tests/output/<case>.actual.png` and a three-panel
diff (expected | red mask of the differing pixels | actual) to `tests/output/<case>.diff.png`;
the failure names the count and both paths. `tests/output/` is git-ignored.

A missing golden fails with a hint. With `pytest --update-goldens`, a golden that is missing or
fails is rewritten (PNG, `optimize=True`), a golden that passes is left byte-for-byte alone, and
each rewritten path and its size are listed at the end of the run.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# The rule in this module's docstring; `renderer diff` judges template changes by it too.
from renderer.diff import differing_mask

__all__ = [
    "CASES_DIR",
    "GOLDEN_DIR",
    "GoldenCheck",
    "OUTPUT_DIR",
    "Tolerance",
    "case_names",
    "check_golden",
    "diff_image",
    "differing_mask",
]

TESTS_DIR = Path(__file__).resolve().parent
CASES_DIR = TESTS_DIR / "cases"
GOLDEN_DIR = TESTS_DIR.parent / "golden_images"
OUTPUT_DIR = TESTS_DIR / "output"

GoldenCheck = Callable[[str, bytes], None]  # the `golden` fixture: golden(case, png)

_MASK_RED = (255, 0, 0, 255)
_GAP = 8  # px between the diff panels


@dataclass(frozen=True, slots=True)
class Tolerance:
    channel: int = 1  # a pixel differs when a channel is off by more than this (0–255)
    pixels: int = 0  # how many differing pixels still pass
    reason: str = ""  # why a case needs more than the default; required when wider

    @classmethod
    def from_marker(cls, marker: pytest.Mark | None) -> Tolerance:
        if marker is None:
            return cls()
        reason = marker.kwargs.get("reason", "")
        if not reason:
            msg = "golden_tolerance needs a reason='...' saying why the case needs it"
            raise pytest.UsageError(msg)
        return cls(marker.kwargs.get("channel", 1), marker.kwargs.get("pixels", 0), reason)


def case_names() -> list[str]:
    """Every `tests/cases/*.json`, by name without the extension, sorted."""
    return sorted(p.stem for p in CASES_DIR.glob("*.json"))


def _checkerboard(size: tuple[int, int], cell: int = 8) -> Image.Image:
    """A light checkerboard, so transparent areas show as such in the diff panels."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    light = ((xs // cell + ys // cell) % 2 == 0)[..., None]
    board = np.where(light, [255, 255, 255, 255], [229, 229, 229, 255]).astype(np.uint8)
    return Image.fromarray(board, "RGBA")


def _on_board(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    return Image.alpha_composite(_checkerboard(rgba.size), rgba)


def diff_image(expected: Image.Image, actual: Image.Image, mask: np.ndarray | None) -> Image.Image:
    """Three panels side by side: expected | red mask on a faded actual | actual.

    `mask` is None when the sizes differ; the middle panel then stays blank.
    """
    w = max(expected.width, actual.width)
    h = max(expected.height, actual.height)
    out = Image.new("RGBA", (3 * w + 2 * _GAP, h), (255, 255, 255, 255))
    out.paste(_on_board(expected), (0, 0))
    out.paste(_on_board(actual), (2 * (w + _GAP), 0))
    middle = Image.new("RGBA", (w, h), (255, 255, 255, 255))
    if mask is not None:
        faded = Image.blend(_on_board(actual), Image.new("RGBA", actual.size, "white"), 0.8)
        middle.paste(faded, (0, 0))
        red = np.zeros((*mask.shape, 4), dtype=np.uint8)
        red[mask] = _MASK_RED
        red_image = Image.fromarray(red, "RGBA")
        middle.paste(red_image, (0, 0), red_image)
    out.paste(middle, (w + _GAP, 0))
    return out


def _compact(image: Image.Image) -> Image.Image:
    """The same pixels in the smallest PNG colour type that holds them exactly.

    Grey images become L/LA; images of at most 256 distinct RGBA colours become a palette image
    (alpha in the palette's tRNS); anything else stays RGB/RGBA. Goldens of flat cards shrink
    two- to threefold this way, with no change to a single pixel.
    """
    rgba = np.asarray(image.convert("RGBA"))
    opaque = bool((rgba[..., 3] == 255).all())
    r, g, b = rgba[..., 0], rgba[..., 1], rgba[..., 2]
    if bool(((r == g) & (g == b)).all()):
        return image.convert("L" if opaque else "LA")
    packed = np.ascontiguousarray(rgba).view(np.uint32).reshape(rgba.shape[:2])
    colors, index = np.unique(packed, return_inverse=True)
    if len(colors) > 256:
        return image.convert("RGB" if opaque else "RGBA")
    palette = colors.view(np.uint8).reshape(-1, 4)
    out = Image.fromarray(index.reshape(packed.shape).astype(np.uint8), "P")
    out.putpalette(palette[:, :3].tobytes(), "RGB")
    if not opaque:
        out.info["transparency"] = palette[:, 3].tobytes()
    return out


def _save_optimized(image: Image.Image, path: Path) -> None:
    """Save losslessly and small (`optimize=True`); checked by decoding the file again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    compact = _compact(image)
    extra = {"transparency": compact.info["transparency"]} if "transparency" in compact.info else {}
    compact.save(path, "PNG", optimize=True, **extra)
    with Image.open(path) as saved:
        exact = np.array_equal(np.asarray(saved.convert("RGBA")), np.asarray(image.convert("RGBA")))
    if not exact:  # never trade a pixel for bytes
        image.save(path, "PNG", optimize=True)


def _clear_outputs(case: str) -> None:
    for suffix in ("actual", "diff"):
        (OUTPUT_DIR / f"{case}.{suffix}.png").unlink(missing_ok=True)


def _mismatch(expected: Image.Image, actual: Image.Image, tolerance: Tolerance) -> str | None:
    """Why `actual` does not match `expected`, or None when it does."""
    if expected.size != actual.size:
        (w, h), (gw, gh) = actual.size, expected.size
        return f"size {w}×{h}, golden is {gw}×{gh}"
    count = int(differing_mask(expected, actual, tolerance.channel).sum())
    if count <= tolerance.pixels:
        return None
    allowed = f", {tolerance.pixels} allowed" if tolerance.pixels else ""
    return (
        f"{count} pixel(s) differ by more than {tolerance.channel} in a channel "
        f"(of {actual.width * actual.height}{allowed})"
    )


def check_golden(
    case: str,
    png: bytes,
    *,
    update: bool = False,
    tolerance: Tolerance | None = None,
    on_update: Callable[[Path], None] | None = None,
) -> None:
    """Compare `png` with `golden_images/<case>.png`; fail the test with paths on a mismatch.

    With `update`, rewrite the golden instead when it is missing or mismatches and call
    `on_update(path)`.
    """
    tolerance = tolerance or Tolerance()
    golden = GOLDEN_DIR / f"{case}.png"
    with Image.open(io.BytesIO(png)) as decoded:
        actual = decoded.copy()

    def store() -> None:
        _save_optimized(actual, golden)
        _clear_outputs(case)
        if on_update:
            on_update(golden)

    if not golden.exists():
        if update:
            store()
            return
        pytest.fail(
            f"{case}: no golden image at {golden}.\n"
            "Run `pytest --update-goldens` to create it, then look at it before committing.",
            pytrace=False,
        )
    with Image.open(golden) as stored:
        expected = stored.copy()
    why = _mismatch(expected, actual, tolerance)
    if why is None:
        _clear_outputs(case)
        return
    if update:
        store()
        return
    mask = (
        differing_mask(expected, actual, tolerance.channel)
        if expected.size == actual.size
        else None
    )
    actual_path = OUTPUT_DIR / f"{case}.actual.png"
    diff_path = OUTPUT_DIR / f"{case}.diff.png"
    _save_optimized(actual, actual_path)
    _save_optimized(diff_image(expected, actual, mask), diff_path)
    pytest.fail(
        f"{case}: {why}.\n"
        f"  golden: {golden}\n"
        f"  actual: {actual_path}\n"
        f"  diff:   {diff_path}  (expected | differing pixels in red | actual)\n"
        "If the new rendering is right, run `pytest --update-goldens` and look at the result.",
        pytrace=False,
    )
