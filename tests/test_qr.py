"""The `qr` component (issue 14): vector modules that a real decoder (zxing-cpp) reads back from
the rendered PNG and JPEG, at scale 1 and 2. Pictures: the `qr-*` golden cases."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
import zxingcpp
from PIL import Image

import renderer
from renderer import LimitError, Limits, SpecError
from renderer.qr import encode

URL = "https://shop.example.com/p/42?ref=card"


def _card(*components: dict[str, Any], side: int = 140, **props: Any) -> dict[str, Any]:
    return {
        "width": side,
        "height": side,
        "background": "#ffffff",
        "components": list(components),
    } | props


def _qr(data: str = URL, **props: Any) -> dict[str, Any]:
    return {"type": "qr", "data": data, "size": 120, "x": 10, "y": 10, **props}


def _decoded(spec: dict[str, Any], fmt: str = "png", scale: float = 1.0) -> list[tuple[str, str]]:
    data = renderer.render(spec, fmt, scale=scale)
    with Image.open(io.BytesIO(data)) as image:
        return sorted((r.text, r.ec_level) for r in zxingcpp.read_barcodes(image.convert("RGB")))


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
@pytest.mark.parametrize("scale", [1.0, 2.0])
@pytest.mark.parametrize("level", ["L", "M", "Q", "H"])
def test_the_rendered_code_decodes_to_its_data(level: str, scale: float, fmt: str) -> None:
    spec = _card(_qr(errorCorrection=level))
    assert _decoded(spec, fmt, scale) == [(URL, level)]


@pytest.mark.parametrize(
    "props",
    [
        {"data": "héllo wörld · 你好"},  # byte mode, UTF-8
        {"data": "0123456789" * 20},  # numeric mode
        {
            "color": {
                "gradient": "linear",
                "angle": 45,
                "stops": [{"color": "#1e3a8a"}, {"color": "#7c3aed"}],
            }
        },
        {"quietZone": 1, "color": "#0f172a", "background": "#e0f2fe"},
        {"rotate": 30, "x": 70, "y": 70, "anchor": "center", "size": 90},
    ],
)
def test_codes_decode_in_every_look(props: dict[str, Any]) -> None:
    spec = _card(_qr(**props))
    data = props.get("data", URL)
    assert [text for text, _ in _decoded(spec)] == [data]


def test_a_code_in_a_stack_keeps_its_size() -> None:
    stack = {
        "type": "stack",
        "direction": "row",
        "width": 100,
        "children": [_qr(size=80), {"type": "text", "text": "x" * 40}],
    }
    _, report = renderer.render(_card(stack), "png", report=True)
    boxes = {e["pointer"]: e["box"] for e in report.to_dict()["components"]}
    assert boxes["/components/0/children/0"]["width"] == 80
    assert boxes["/components/0/children/0"]["height"] == 80


def test_the_modules_are_one_path_in_module_units() -> None:
    code = encode(URL, "M")
    svg = renderer.render(_card(_qr(quietZone=4)), "svg").decode()
    cell = 120 / (code.modules + 8)
    paths = re.findall(r'<path transform="matrix\(([^)]*)\)" fill="#000000" d="([^"]*)"/>', svg)
    assert len(paths) == 1
    matrix, d = paths[0]
    assert [float(v) for v in matrix.split()] == pytest.approx(
        [cell, 0, 0, cell, 10 + 4 * cell, 10 + 4 * cell], abs=1e-3
    )
    assert d.count("M") == len(code.runs)  # a subpath per run of dark modules
    assert "." not in d  # whole modules: rows and neighbours meet without a seam


def test_the_report_lists_a_code() -> None:
    _, report = renderer.render(_card(_qr()), "png", report=True)
    (entry,) = report.to_dict()["components"]
    assert entry == {
        "pointer": "/components/0",
        "type": "qr",
        "box": {"x": 10.0, "y": 10.0, "width": 120.0, "height": 120.0},
    }


def test_data_too_large_for_its_level_names_the_field() -> None:
    with pytest.raises(SpecError) as e:
        renderer.validate(_card(_qr("x" * 1500, errorCorrection="H")))
    assert [i.pointer for i in e.value.issues] == ["/components/0/data"]
    assert "errorCorrection 'H'" in e.value.issues[0].message
    renderer.validate(_card(_qr("x" * 1500, errorCorrection="L")))


def test_the_card_s_codes_are_bounded_in_all() -> None:
    spec = _card(_qr("a" * 600), _qr("b" * 600))
    renderer.validate(spec)
    with pytest.raises(LimitError) as e:
        renderer.validate(spec, limits=Limits(max_qr_data=1000))
    assert [str(i) for i in e.value.issues] == [
        "/components/1/data: The card's QR codes encode 1200 characters up to here; the limit "
        "is 1000 (Limits.max_qr_data)."
    ]
