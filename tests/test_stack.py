"""Stacks: flowing layout (issue 13). Boxes asserted as numbers; pictures in the golden cases."""

from __future__ import annotations

from typing import Any

import pytest

import renderer
from renderer import LimitError, Limits, SpecError
from renderer.layout import StackBox, TextBox, boxes

TITLE_1 = "Short title"
TITLE_3 = "A much longer product title that wraps onto three lines here"


def _card(*components: dict[str, Any], width: int = 400, height: int = 300) -> dict[str, Any]:
    return {"width": width, "height": height, "components": list(components)}


def _stack(*children: dict[str, Any], **props: Any) -> dict[str, Any]:
    return {"type": "stack", "children": list(children), **props}


def _text(text: str, **props: Any) -> dict[str, Any]:
    return {"type": "text", "text": text, "fontSize": 20, **props}


def _boxes(spec: dict[str, Any]) -> dict[str, tuple[float, ...]]:
    layout = renderer.lay_out_spec(spec)
    return {
        b.component.pointer: (b.box.x, b.box.y, b.box.width, b.box.height) for b in boxes(layout)
    }


def _report(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _, report = renderer.render(spec, "png", report=True)
    return {e["pointer"]: e for e in report.to_dict()["components"]}


def test_a_title_that_wraps_pushes_what_follows() -> None:
    def footer_y(title: str) -> float:
        spec = _card(_stack(_text(title), _text("$24 · Ada"), x=20, y=20, width=240, gap=10))
        return _boxes(spec)["/components/0/children/1"][1]

    one, three = footer_y(TITLE_1), footer_y(TITLE_3)
    assert one == 20 + 24 + 10  # one line box of 1.2 × 20 px, then the gap
    assert three == 20 + 3 * 24 + 10


def test_column_children_take_the_stack_width_and_text_wraps_there() -> None:
    spec = _card(_stack(_text(TITLE_3), x=10, y=10, width=200, padding=[8, 16]))
    layout = renderer.lay_out_spec(spec)
    (stack,) = layout.boxes
    assert isinstance(stack, StackBox)
    text = stack.children[0]
    assert isinstance(text, TextBox)
    n = len(text.text.lines)
    assert n >= 3
    assert all(line.width <= 168 for line in text.text.lines)
    b = _boxes(spec)
    assert b["/components/0"] == pytest.approx((10, 10, 200, 8 + n * 24 + 8))
    assert b["/components/0/children/0"] == pytest.approx((26, 18, 168, n * 24))


def test_a_stack_without_a_width_fits_its_content_at_most_the_canvas() -> None:
    small = _card(_stack(_text("Hi"), x=0, y=0))
    assert _boxes(small)["/components/0"][2] < 30
    wide = _card(_stack(_text(TITLE_3 * 3), x=0, y=0), width=300)
    assert _boxes(wide)["/components/0"][2] == 300


def test_row_direction_gap_and_grow() -> None:
    spec = _card(
        _stack(
            {"type": "divider", "length": 50, "width": 10},
            {"type": "divider", "length": 50, "width": 10, "grow": 1},
            direction="row",
            width=300,
            gap=20,
            x=0,
            y=0,
        )
    )
    b = _boxes(spec)
    assert b["/components/0/children/0"] == pytest.approx((0, 0, 50, 10))
    assert b["/components/0/children/1"] == pytest.approx((70, 0, 230, 10))


@pytest.mark.parametrize(
    ("justify", "xs"),
    [
        ("start", [0, 40]),
        ("center", [100, 140]),
        ("end", [200, 240]),
        ("space-between", [0, 240]),
        ("space-around", [50, 190]),
        ("space-evenly", [66.667, 173.333]),
    ],
)
def test_justify(justify: str, xs: list[float]) -> None:
    bar = {"type": "divider", "length": 40, "width": 10}
    spec = _card(_stack(bar, bar, direction="row", width=280, justify=justify, x=0, y=0))
    b = _boxes(spec)
    got = [b[f"/components/0/children/{i}"][0] for i in range(2)]
    assert got == pytest.approx(xs, abs=0.001)


@pytest.mark.parametrize(
    ("align", "x", "width"),
    [("start", 0, 40), ("center", 80, 40), ("end", 160, 40), ("stretch", 0, 200)],
)
def test_align_and_align_self(align: str, x: float, width: float) -> None:
    bar = {"type": "divider", "width": 10}  # length "100%" of nothing: stretches, or 0 otherwise
    fixed = {"type": "divider", "length": 40, "width": 10}
    spec = _card(_stack(fixed, {**fixed, "alignSelf": align}, width=200, align="start"))
    assert _boxes(spec)["/components/0/children/1"][0] == x
    spec = _card(_stack({**bar, "length": 40}, width=200, align=align))
    assert _boxes(spec)["/components/0/children/0"][:3:2] == (x, 40)
    spec = _card(_stack(bar, width=200, align="stretch"))
    assert _boxes(spec)["/components/0/children/0"][2] == 200
    del width


def test_wrap_starts_a_new_row() -> None:
    bar = {"type": "divider", "length": 80, "width": 10}
    spec = _card(_stack(bar, bar, bar, direction="row", wrap=True, width=200, gap=4))
    b = _boxes(spec)
    assert [b[f"/components/0/children/{i}"][:2] for i in range(3)] == [(0, 0), (84, 0), (0, 14)]


def test_absolute_children_sit_in_the_padding_box_and_take_no_room() -> None:
    badge = {"type": "tag", "text": "NEW", "absolute": True, "x": "100%", "y": 0}
    spec = _card(
        _stack(_text("Title"), {**badge, "anchor": "top-right"}, x=50, y=40, width=200, padding=10)
    )
    b = _boxes(spec)
    stack, badge_box = b["/components/0"], b["/components/0/children/1"]
    assert stack[3] == 10 + 24 + 10  # the badge added no height
    assert badge_box[0] + badge_box[2] == pytest.approx(50 + 200)
    assert badge_box[1] == 40


def test_border_pads_the_content() -> None:
    spec = _card(_stack(_text("x"), x=0, y=0, width=100, borderWidth=5, padding=3))
    assert _boxes(spec)["/components/0/children/0"][:3] == (8, 8, 84)


def test_percentages_of_the_canvas_and_of_the_stack() -> None:
    image = {"type": "image", "src": "data:,x", "width": "50%", "height": 10}
    spec = _card(
        _stack(
            {**image, "onImageError": "placeholder"},
            {"type": "divider", "length": "25%", "width": 2},
            x="10%",
            y="50%",
            width="50%",
            padding=10,
        ),
        width=400,
        height=200,
    )
    b = _boxes(spec)
    assert b["/components/0"][:3] == (40, 100, 200)
    assert b["/components/0/children/0"][2] == 90  # half of the 180 px content box
    assert b["/components/0/children/1"][2] == 45


def test_hidden_and_hide_if_empty_take_no_room() -> None:
    spec = _card(
        _stack(
            _text("Title"),
            _text("", hideIfEmpty=True),
            _text("  ", hideIfEmpty=True),
            _text("gone", hidden=True),
            _text("Next"),
            gap=10,
        )
    )
    b = _boxes(spec)
    assert set(b) == {"/components/0", "/components/0/children/0", "/components/0/children/4"}
    assert b["/components/0/children/4"][1] == 24 + 10
    report = _report(spec)
    assert report["/components/0/children/3"]["hidden"] is True
    assert report["/components/0/children/1"]["hidden"] is True


def test_overflow_order_shrink_then_clamp_then_push() -> None:
    def fit(text: str) -> dict[str, Any]:
        auto = {"fontSize": "auto", "minFontSize": 12, "maxFontSize": 28, "maxLines": 2}
        spec = _card(_stack(_text(text, **auto), _text("after"), width=110))
        return _report(spec)["/components/0/children/0"]

    fits, shrinks, clamps = fit("Fits"), fit("Shrinks to fit two lines"), fit("x " * 200)
    assert (fits["shrunk"], fits["clamped"], fits["fontSize"]) == (False, False, 28)
    assert (shrinks["shrunk"], shrinks["clamped"]) == (True, False)
    assert (clamps["shrunk"], clamps["clamped"], clamps["fontSize"]) == (True, True, 12)
    assert fits["pushed"] is False
    assert shrinks["pushed"] is True  # two lines, and a child after it


def test_the_report_lists_every_node_with_its_pointer_in_spec_order() -> None:
    spec = _card(_stack(_stack(_text("a"), _text("b")), _text("c")), _text("top"))
    pointers = [e["pointer"] for e in _report(spec).values()]
    assert pointers == [
        "/components/0",
        "/components/0/children/0",
        "/components/0/children/0/children/0",
        "/components/0/children/0/children/1",
        "/components/0/children/1",
        "/components/1",
    ]


# --- limits and bad input ------------------------------------------------------------------


def test_errors_name_the_full_pointer() -> None:
    spec = _card(_stack(_stack({"type": "text", "text": "x", "fontSize": 0}), width="0%"))
    with pytest.raises(SpecError) as caught:
        renderer.validate(spec)
    assert [i.pointer for i in caught.value.issues] == [
        "/components/0/children/0/children/0/fontSize"
    ]
    with pytest.raises(SpecError) as caught:
        renderer.validate(_card(_stack(_text("x"), width="0%", gap="150%")))
    assert [i.pointer for i in caught.value.issues] == ["/components/0/width", "/components/0/gap"]


def test_the_component_limit_counts_every_node() -> None:
    spec = _card(_stack(*[_text(str(i)) for i in range(5)]))
    with pytest.raises(LimitError, match="stacks' children included"):
        renderer.validate(spec, limits=Limits(max_components=5))
    renderer.validate(spec, limits=Limits(max_components=6))


def test_nesting_depth_is_bounded() -> None:
    node: dict[str, Any] = _text("deep")
    for _ in range(4):
        node = _stack(node)
    with pytest.raises(LimitError) as caught:
        renderer.validate(_card(node), limits=Limits(max_stack_depth=3))
    assert caught.value.issues[0].pointer.count("/children/") == 4
    renderer.validate(_card(node), limits=Limits(max_stack_depth=4))


def test_auto_size_in_a_stack_needs_only_a_height_bound() -> None:
    auto = _text("x", fontSize="auto", maxLines=1)
    renderer.validate(_card(_stack(auto, width=100)))
    with pytest.raises(SpecError, match="needs a width"):
        renderer.validate(_card(auto))


def test_layout_is_the_same_for_every_format() -> None:
    """No stage before the painters depends on the output format (issue 13)."""
    spec = _card(_stack(_text(TITLE_3), {"type": "divider"}, width=200))
    _, svg = renderer.render(spec, "svg", report=True)
    _, png = renderer.render(spec, "png", report=True)
    assert svg.to_dict() == png.to_dict()
