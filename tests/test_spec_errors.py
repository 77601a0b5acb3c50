"""Invalid specs: every one must raise `SpecError` naming the right field(s) with a useful message.

Each case states the exact multiset of JSON pointers the error must carry (no more, no fewer) and,
per pointer, a fragment of the message a user would look for ("Did you mean 'fontSize'", "line 4,
column 3", …). `LimitError` cases additionally check the error is the narrower class and that
hostile sizes are refused before anything is allocated.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import renderer
from renderer import (
    EncodeError,
    FontError,
    ImageLoadError,
    LimitError,
    Limits,
    RasterError,
    RenderError,
    ResourceError,
    SpecError,
    render,
    validate,
)

DIVIDER: dict[str, Any] = {"type": "divider", "length": 10}
TEXT: dict[str, Any] = {"type": "text", "text": "Hello"}
TAG: dict[str, Any] = {"type": "tag", "text": "New"}
IMAGE: dict[str, Any] = {"type": "image", "src": "logo.png", "width": 10, "height": 10}
VALID_TAIL = '"height": 10, "components": [{"type": "divider", "length": 1}]'


def card(*components: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A valid 100×100 card with `components` (a divider if none) and top-level overrides."""
    spec: dict[str, Any] = {
        "width": 100,
        "height": 100,
        "components": list(components) or [dict(DIVIDER)],
    }
    spec.update(top)
    return spec


def comp(base: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**base, **fields}


def text_json(width_literal: str) -> str:
    """JSON text of a card whose `width` is written as `width_literal`, otherwise valid."""
    return '{"width": ' + width_literal + ", " + VALID_TAIL + "}"


def check_issues(error: SpecError, expected: list[tuple[str, str]]) -> None:
    """`error` names exactly the pointers of `expected`, each with its message fragment."""
    got = sorted(i.pointer for i in error.issues)
    assert got == sorted(p for p, _ in expected), [str(i) for i in error.issues]
    for pointer, fragment in expected:
        messages = [i.message for i in error.issues if i.pointer == pointer]
        assert any(fragment in m for m in messages), (pointer, fragment, messages)
    # The exception's own text lists every issue, so a log line is enough to fix the spec.
    for issue in error.issues:
        assert issue.message in str(error)


C0 = "/components/0"
HEX = "hex colour"
NOT_FINITE = "must be finite"

# (id, spec, [(pointer, message fragment), …])
INVALID: list[Any] = [
    # --- wrong types for every top-level field -------------------------------------------------
    ("width-string", card(width="100"), [("/width", 'an integer ≥ 1 ≤ 4096. Received: "100"')]),
    ("width-float", card(width=100.5), [("/width", "Received: 100.5")]),
    ("width-bool", card(width=True), [("/width", "Received: true")]),
    ("height-null", card(height=None), [("/height", "Received: null")]),
    ("height-zero", card(height=0), [("/height", "Must be ≥ 1")]),
    ("background-number", card(background=5), [("/background", '"transparent". Received: 5')]),
    ("background-red", card(background="red"), [("/background", HEX)]),
    ("components-object", card(components={}), [("/components", "Expected an array")]),
    ("schema-number", card(**{"$schema": 5}), [("/$schema", "Expected a string")]),
    ("missing-width", {"height": 10, "components": [DIVIDER]}, [("/width", "'width' is missing")]),
    (
        "missing-components",
        {"width": 10, "height": 10},
        [("/components", "'components' is missing")],
    ),
    # --- unknown fields, with and without a did-you-mean hint ----------------------------------
    (
        "unknown-top-level",
        card(backgroud="#fff"),
        [("/backgroud", "Unknown property 'backgroud'. Did you mean 'background'?")],
    ),
    (
        "unknown-text-fontsize",
        card(comp(TEXT, fontsize=20)),
        [(C0 + "/fontsize", "Did you mean 'fontSize'?")],
    ),
    (
        "unknown-tag-backgroundcolor",
        card(comp(TAG, backgroundcolor="#ff0000")),
        [(C0 + "/backgroundcolor", "Did you mean 'backgroundColor'?")],
    ),
    (
        "unknown-image-raduis",
        card(comp(IMAGE, raduis=4)),
        [(C0 + "/raduis", "Did you mean 'radius'?")],
    ),
    (
        "unknown-divider-lenght",
        card(comp(DIVIDER, lenght=4)),
        [(C0 + "/lenght", "Did you mean 'length'?")],
    ),
    (
        "unknown-text-prop-from-tag",
        card(comp(TEXT, backgroundColor="#fff")),
        [(C0 + "/backgroundColor", "Unknown property 'backgroundColor'")],
    ),
    (
        "unknown-divider-no-hint",
        card(comp(DIVIDER, zzz=1)),
        [
            (
                C0 + "/zzz",
                "Allowed: absolute, alignSelf, anchor, color, direction, grow, hidden, length, "
                "opacity, rotate, shrink, type, width, x, y",
            )
        ],
    ),
    # --- sizes that must be positive -----------------------------------------------------------
    ("fontsize-zero", card(comp(TEXT, fontSize=0)), [(C0 + "/fontSize", "Must be > 0")]),
    ("fontsize-negative", card(comp(TAG, fontSize=-3)), [(C0 + "/fontSize", "Must be > 0")]),
    ("divider-length-negative", card(comp(DIVIDER, length=-1)), [(C0 + "/length", "> 0")]),
    ("image-width-zero", card(comp(IMAGE, width=0)), [(C0 + "/width", "Must be > 0")]),
    ("image-radius-negative", card(comp(IMAGE, radius=-1)), [(C0 + "/radius", "Must be ≥ 0")]),
    ("opacity-above-one", card(comp(TEXT, opacity=1.5)), [(C0 + "/opacity", "Must be ≤ 1")]),
    # --- colours -------------------------------------------------------------------------------
    ("color-name", card(comp(TEXT, color="red")), [(C0 + "/color", 'Received: "red"')]),
    ("color-short", card(comp(TEXT, color="#12")), [(C0 + "/color", HEX)]),
    ("color-not-hex", card(comp(DIVIDER, color="#gggggg")), [(C0 + "/color", HEX)]),
    ("color-number", card(comp(TAG, color=123)), [(C0 + "/color", "Received: 123")]),
    (
        "tag-background-no-hash",
        card(comp(TAG, backgroundColor="ff0000")),
        [(C0 + "/backgroundColor", HEX)],
    ),
    # --- fonts ---------------------------------------------------------------------------------
    (
        "font-family-unknown",
        card(comp(TEXT, fontFamily="Comic Sans")),
        [(C0 + "/fontFamily", "Allowed values: Inter, Noto Sans")],
    ),
    (
        "font-family-case",
        card(comp(TEXT, fontFamily="inter")),
        [(C0 + "/fontFamily", "Did you mean 'Inter'?")],
    ),
    ("font-weight-750", card(comp(TEXT, fontWeight="750")), [(C0 + "/fontWeight", '"750"')]),
    ("font-weight-bold", card(comp(TAG, fontWeight="bold")), [(C0 + "/fontWeight", '"bold"')]),
    ("font-weight-450", card(comp(TEXT, fontWeight=450)), [(C0 + "/fontWeight", "Received: 450")]),
    (
        "font-style-oblique",
        card(comp(TEXT, fontStyle="oblique")),
        [(C0 + "/fontStyle", "Allowed values: normal, italic")],
    ),
    # --- text layout fields --------------------------------------------------------------------
    (
        "frame-width-word",
        card(comp(TEXT, frameWidth="wide")),
        [(C0 + "/frameWidth", 'Expected "fit" or a number > 0 ≤ 100000 or a percentage')],
    ),
    ("frame-width-zero", card(comp(TEXT, frameWidth=0)), [(C0 + "/frameWidth", "Received: 0")]),
    (
        "text-align-centre",
        card(comp(TEXT, textAlign="centre")),
        [(C0 + "/textAlign", "Did you mean 'center'?")],
    ),
    (
        "anchor-unknown",
        card(comp(DIVIDER, anchor="middle")),
        [(C0 + "/anchor", "top-left, top-center")],
    ),
    ("line-height-zero", card(comp(TEXT, lineHeight=0)), [(C0 + "/lineHeight", "Must be > 0")]),
    ("text-not-string", card(comp(TEXT, text=5)), [(C0 + "/text", "Expected a string")]),
    # --- divider -------------------------------------------------------------------------------
    (
        "divider-width-word",
        card(comp(DIVIDER, width="extra")),
        [(C0 + "/width", 'one of "thin", "medium", "thick"')],
    ),
    ("divider-width-zero", card(comp(DIVIDER, width=0)), [(C0 + "/width", "Received: 0")]),
    (
        "divider-direction",
        card(comp(DIVIDER, direction="diagonal")),
        [(C0 + "/direction", "Allowed values: horizontal, vertical")],
    ),
    # --- required fields and component type ----------------------------------------------------
    ("text-missing-text", card({"type": "text"}), [(C0 + "/text", "'text' is missing")]),
    ("tag-missing-text", card({"type": "tag"}), [(C0 + "/text", "'text' is missing")]),
    (
        "image-missing-all",
        card({"type": "image"}),
        [
            (C0 + "/src", "'src' is missing"),
            (C0 + "/width", "'width' is missing"),
            (C0 + "/height", "'height' is missing"),
        ],
    ),
    ("image-empty-src", card(comp(IMAGE, src="")), [(C0 + "/src", "Must not be empty")]),
    (
        "stack-missing-children",
        card({"type": "stack"}),
        [(C0 + "/children", "'children' is missing")],
    ),
    ("component-missing-type", card({"text": "hi"}), [(C0 + "/type", "'type' is missing")]),
    ("component-type-txt", card(comp(TEXT, type="txt")), [(C0 + "/type", "Did you mean 'text'?")]),
    (
        "second-component-pointer",
        card(DIVIDER, TEXT, comp(TAG, fontSize="big")),
        [("/components/2/fontSize", 'Received: "big"')],
    ),
    pytest.param(
        card(5),  # type: ignore[arg-type]  # not an object, on purpose
        [(C0, "Expected an object")],
        id="component-not-object",
    ),
    # --- not an object at all ------------------------------------------------------------------
    ("json-array-text", "[1, 2]", [("", "must be a JSON object")]),
    ("json-array-text-leading-space", "\n  [1, 2]", [("", "must be a JSON object")]),
    ("json-string-bytes", b'"hello"', [("", "must be a JSON object")]),
    ("json-number-bytes", b"42", [("", "must be a JSON object")]),
    ("json-null-bytes", b"null", [("", "must be a JSON object")]),
    # --- strict JSON ---------------------------------------------------------------------------
    ("nan-literal", text_json("NaN"), [("/width", "NaN is not valid JSON")]),
    (
        "infinity-literals",
        '{"width": 10, "height": Infinity, '
        '"components": [{"type": "divider", "length": -Infinity}]}',
        [
            ("/height", "Infinity is not valid JSON"),
            (C0 + "/length", "-Infinity is not valid JSON"),
        ],
    ),
    ("overflow-1e400", text_json("1e400"), [("/width", NOT_FINITE)]),
    ("overflow-negative-1e400", text_json("-1e400"), [("/width", NOT_FINITE)]),
    ("integer-5000-digits", text_json("9" * 5000), [("/width", "Number literal of 5000 char")]),
    ("fraction-100-digits", text_json("0." + "1" * 100), [("/width", "at most 32 are accepted")]),
    (
        "duplicate-key",
        '{"width": 10, "width": 20, ' + VALID_TAIL + "}",
        [("/width", "Duplicate key 'width'")],
    ),
    (
        "duplicate-key-in-component",
        '{"width": 10, "height": 10, "components": '
        '[{"type": "divider", "length": 1, "length": 2}]}',
        [(C0 + "/length", "Duplicate key 'length'")],
    ),
    (
        "nesting-40-deep",
        text_json("[" * 40 + "]" * 40),
        [("/width" + "/0" * 32, "Nested deeper than 32 levels")],
    ),
    ("nesting-1000-deep", text_json("[" * 1000 + "]" * 1000), [("", "nested too deeply")]),
    ("nesting-100000-deep", text_json("[" * 100_000 + "]" * 100_000), [("", "nested too deep")]),
    (
        "lone-surrogate-in-text",
        '{"width": 10, "height": 10, "components": [{"type": "text", "text": "a\\ud800b"}]}',
        [(C0 + "/text", "lone surrogate")],
    ),
    (
        "lone-surrogate-in-key",
        '{"width": 10, "height": 10, "\\udfff": 1, '
        '"components": [{"type": "divider", "length": 1}]}',
        [("/\udfff", "lone surrogate")],
    ),
    (
        "syntax-missing-comma",
        '{\n  "width": 10,\n  "height": 10\n  "components": []\n}',
        [("", "Invalid JSON at line 4, column 3")],
    ),
    ("syntax-truncated", '{"width": 10,', [("", "Invalid JSON at line 1, column 14")]),
    ("syntax-trailing-comma", '{"width": 10, ' + VALID_TAIL + ",}", [("", "Invalid JSON at")]),
    ("syntax-single-quotes", "{'width': 10}", [("", "Invalid JSON at line 1, column 2")]),
    (
        "non-utf8-bytes",
        b'{"width": 10, "height": 10, "components": [{"type": "text", "text": "\xff\xfe"}]}',
        [("", "not UTF-8")],
    ),
    # --- Python values that JSON cannot carry ----------------------------------------------------
    ("python-nan", card(comp(TEXT, x=float("nan"))), [(C0 + "/x", NOT_FINITE)]),
    ("python-inf", card(comp(DIVIDER, length=float("inf"))), [(C0 + "/length", NOT_FINITE)]),
    ("python-neg-inf", card(height=float("-inf")), [("/height", NOT_FINITE)]),
    ("python-huge-int", card(comp(DIVIDER, length=10**5000)), [(C0 + "/length", "too large")]),
    ("python-lone-surrogate", card(comp(TAG, text="\ud800")), [(C0 + "/text", "lone surrogate")]),
    ("python-set", card(comp(DIVIDER, y={1, 2})), [(C0 + "/y", "Not a JSON value: set")]),
    ("python-int-key", {**card(), 1: 2}, [("", "keys must be strings")]),  # type: ignore[misc]
]


def _params() -> list[Any]:
    """Plain `(id, spec, expected)` tuples become params; ready-made params pass through."""
    return [c if hasattr(c, "marks") else pytest.param(*c[1:], id=c[0]) for c in INVALID]


@pytest.mark.parametrize(("spec", "expected"), _params())
def test_invalid_spec_names_every_bad_field(spec: Any, expected: list[tuple[str, str]]) -> None:
    with pytest.raises(SpecError) as info:
        validate(spec)
    check_issues(info.value, expected)


def test_invalid_spec_count() -> None:
    assert len(INVALID) >= 35


def test_render_raises_the_same_spec_error_as_validate() -> None:
    spec = card(comp(TEXT, fontsize=20))
    with pytest.raises(SpecError) as info:
        render(spec, "png")
    check_issues(info.value, [(C0 + "/fontsize", "Did you mean 'fontSize'?")])


def test_many_errors_are_all_reported_at_once() -> None:
    spec = {
        "width": "wide",
        "height": 0,
        "background": "red",
        "extra": True,
        "components": [
            comp(TEXT, fontsize=20),
            comp(DIVIDER, length=0, color="#12"),
            {"type": "image"},
        ],
    }
    with pytest.raises(SpecError) as info:
        validate(spec)
    assert not isinstance(info.value, LimitError)
    check_issues(
        info.value,
        [
            ("/width", 'Received: "wide"'),
            ("/height", "Must be ≥ 1"),
            ("/background", HEX),
            ("/extra", "Unknown property 'extra'"),
            (C0 + "/fontsize", "Did you mean 'fontSize'?"),
            ("/components/1/length", "Must be > 0"),
            ("/components/1/color", HEX),
            ("/components/2/src", "missing"),
            ("/components/2/width", "missing"),
            ("/components/2/height", "missing"),
        ],
    )


def test_strict_json_problems_are_all_reported_at_once() -> None:
    text = (
        '{"width": NaN, "height": 1e999, "height": 3, "components": '
        '[{"type": "text", "text": "\\ud800", "x": ' + "1" * 40 + "}]}"
    )
    with pytest.raises(SpecError) as info:
        validate(text)
    check_issues(
        info.value,
        [
            ("/width", "NaN"),
            ("/height", "Duplicate key 'height'"),
            (C0 + "/text", "lone surrogate"),
            (C0 + "/x", "Number literal of 40 characters"),
        ],
    )


def test_missing_spec_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "card.json"
    for spec in (missing, str(missing)):
        with pytest.raises(SpecError) as info:
            validate(spec)
        check_issues(info.value, [("", "Cannot read spec file")])
        assert "No such file" in str(info.value)
        assert "card.json" in str(info.value)


def test_spec_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    text = '{"width": 10, "height": 10, "components": [{"type": "text", "text": "é"}]}'
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(SpecError) as info:
        validate(path)
    check_issues(info.value, [("", "not UTF-8")])


def test_spec_file_with_syntax_error_gives_position(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"width": 10,\n "height": 10,\n "components": [\n', encoding="utf-8")
    with pytest.raises(SpecError) as info:
        validate(path)
    check_issues(info.value, [("", "Invalid JSON at line 4, column 1")])


def test_python_list_spec_is_a_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        validate([1, 2])  # type: ignore[arg-type]
    check_issues(info.value, [("", "must be a JSON object")])


# --- limits -----------------------------------------------------------------------------------

LIMIT_CASES: list[Any] = [
    pytest.param(
        card(width=16384, height=16384),
        {},
        [("/width", "Must be ≤ 4096"), ("/height", "Must be ≤ 4096")],
        id="canvas-16384",
    ),
    pytest.param(
        card(*[DIVIDER] * 201),
        {},
        [("/components", "At most 200 items allowed. Received: 201")],
        id="201-components",
    ),
    pytest.param(
        card(comp(TEXT, text="x" * 5001)),
        {},
        [(C0 + "/text", "At most 5000 characters allowed. Received: 5001")],
        id="text-5001-chars",
    ),
    pytest.param(
        card(DIVIDER, comp(TAG, text="y" * 5001)),
        {},
        [("/components/1/text", "Received: 5001")],
        id="tag-5001-chars",
    ),
    pytest.param(
        card(comp(TEXT, fontSize=1001)),
        {},
        [(C0 + "/fontSize", "Must be ≤ 1000")],
        id="font-size-1001",
    ),
    pytest.param(
        card(DIVIDER, DIVIDER, DIVIDER),
        {"limits": Limits(max_components=2)},
        [
            (
                "/components",
                "At most 2 components allowed, stacks' children included "
                "(Limits.max_components). Received: 3",
            )
        ],
        id="tightened-max-components",
    ),
    pytest.param(
        card(comp(TEXT, text="x" * 11)),
        {"limits": Limits(max_text_length=10)},
        [(C0 + "/text", "Limits.max_text_length")],
        id="tightened-max-text-length",
    ),
    pytest.param(
        card(width=600, height=300),
        {"limits": Limits(max_side=512)},
        [("/width", "Limits.max_side")],
        id="tightened-max-side",
    ),
    pytest.param(
        card(width=4096, height=4096),
        {"scale": 4},
        [("", "268.4 megapixels at scale 4")],
        id="scale-4-on-4096",
    ),
    pytest.param(card(), {"scale": 0}, [("", "scale must be > 0")], id="scale-0"),
    pytest.param(card(), {"scale": -1}, [("", "scale must be > 0")], id="scale-negative"),
    pytest.param(card(), {"scale": 10}, [("", "≤ 4 (Limits.max_scale)")], id="scale-10"),
    pytest.param(card(), {"scale": float("nan")}, [("", "scale must be")], id="scale-nan"),
    pytest.param(
        text_json("1"),
        {"limits": Limits(max_json_bytes=20)},
        [("", "the limit is 20")],
        id="tightened-max-json-bytes",
    ),
]


@pytest.mark.parametrize(("spec", "kwargs", "expected"), LIMIT_CASES)
def test_limit_errors(spec: Any, kwargs: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    with pytest.raises(LimitError) as info:
        validate(spec, **kwargs)
    check_issues(info.value, expected)


@pytest.mark.parametrize(
    ("spec", "scale"),
    [
        pytest.param(card(width=16384, height=16384), 1.0, id="16384-canvas"),
        pytest.param(card(width=4096, height=4096), 4.0, id="4096-at-scale-4"),
        pytest.param(card(*[comp(TEXT, text="W" * 5001)] * 200), 1.0, id="huge-text"),
    ],
)
def test_hostile_sizes_are_refused_before_drawing(spec: dict[str, Any], scale: float) -> None:
    """A safety property: render() must refuse without allocating the canvas."""
    start = time.perf_counter()
    with pytest.raises(LimitError):
        render(spec, "png", scale=scale)
    assert time.perf_counter() - start < 0.5


def test_limit_and_spec_errors_together_are_a_plain_spec_error() -> None:
    with pytest.raises(SpecError) as info:
        validate(card(width=16384, background="red"))
    assert not isinstance(info.value, LimitError)
    check_issues(info.value, [("/width", "Must be ≤ 4096"), ("/background", HEX)])


def test_within_limits_is_accepted() -> None:
    """The limits are not off by one: the maxima themselves are valid."""
    spec = card(*[comp(TEXT, text="x" * 5000, fontSize=1000)] + [DIVIDER] * 199)
    spec.update(width=4096, height=4096)
    assert len(validate(spec).components) == 200
    assert validate(card(), scale=4).width == 100


# --- the error tree ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("child", "parent"),
    [
        (SpecError, RenderError),
        (SpecError, ValueError),
        (LimitError, SpecError),
        (LimitError, ValueError),
        (ResourceError, RenderError),
        (ImageLoadError, ResourceError),
        (FontError, ResourceError),
        (RasterError, RenderError),
        (EncodeError, RenderError),
        (RenderError, Exception),
    ],
)
def test_error_tree(child: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(child, parent)


@pytest.mark.parametrize(
    ("child", "other"),
    [
        (ResourceError, SpecError),
        (ResourceError, ValueError),
        (RasterError, SpecError),
        (EncodeError, SpecError),
        (SpecError, ResourceError),
    ],
)
def test_error_tree_branches_are_separate(child: type[Exception], other: type[Exception]) -> None:
    assert not issubclass(child, other)


def test_errors_are_exported_from_the_package() -> None:
    for name in ("RenderError", "SpecError", "LimitError", "ImageLoadError", "Issue"):
        assert name in renderer.__all__


def test_spec_error_caught_as_value_error() -> None:
    with pytest.raises(ValueError, match="fontSize"):
        validate(card(comp(TEXT, fontSize=0)))


# --- the fast validity gate agrees with jsonschema --------------------------------------------

_BASE = {
    "width": 300,
    "height": 200,
    "components": [
        {"type": "text", "text": "Hello", "fontSize": 20, "frameWidth": 120},
        {"type": "tag", "text": "NEW", "backgroundColor": "#e11d48"},
        {"type": "divider", "length": 100, "width": "thin"},
        {"type": "image", "src": "a.png", "width": 10, "height": 10, "position": "top left"},
    ],
}
_NEAR = [
    "#fff",
    "#fff\n",
    "#ffff",
    "#ggg",
    " #fff",
    "fit",
    "auto",
    "center",
    "25% 75%",
    "25% 75%\n",
    "zh-Hant",
    "zh-Hant\n",
    "thin",
    "700",
    "750",
    "italic",
    "transparent",
    "",
]
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(_NEAR)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(
    index=st.integers(0, 3),
    key=st.sampled_from(
        [
            "text",
            "fontSize",
            "fontWeight",
            "fontStyle",
            "frameWidth",
            "color",
            "backgroundColor",
            "width",
            "length",
            "position",
            "lang",
            "anchor",
            "opacity",
            "x",
            "maxLines",
            "type",
            "fontsize",
            "radius",
            "fit",
        ]
    ),
    value=_json,
)
def test_fast_gate_agrees_with_jsonschema(index: int, key: str, value: object) -> None:
    """jsonschema-rs decides validity, jsonschema explains: they must agree on every spec."""
    from renderer.spec.messages import _gate, _schema_errors

    doc = json.loads(json.dumps(_BASE))
    doc["components"][index][key] = value
    assert _gate().is_valid(doc) == (not _schema_errors(doc)), (key, value)


@pytest.mark.parametrize(
    ("component", "pointer"),
    [
        ({"type": "divider", "length": 3, "color": "#000\n"}, "/components/0/color"),
        ({"type": "text", "text": "x", "lang": "en\n"}, "/components/0/lang"),
        (
            {"type": "image", "src": "a.png", "width": 5, "height": 5, "position": "50% 50%\n"},
            "/components/0/position",
        ),
    ],
    ids=["colour", "lang", "position"],
)
def test_a_trailing_newline_is_not_a_valid_value(
    component: dict[str, object], pointer: str
) -> None:
    """Python's `$` also matches before a final newline; the schema's patterns must not."""
    with pytest.raises(SpecError) as info:
        validate({"width": 10, "height": 10, "components": [component]})
    assert [i.pointer for i in info.value.issues] == [pointer]


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """Deep documents are refused before parsing (the same on every Python), but a text full of
    brackets is text: only structure counts."""
    import renderer

    text = "[{" * 400 + '\\" ]]' + "}]" * 10
    spec = (
        '{"width": 200, "height": 40, "components": [{"type": "text", "text": "'
        + text
        + '", "fontSize": 4}]}'
    )
    assert renderer.validate(spec).width == 200
    with pytest.raises(SpecError, match="nested too deeply"):
        renderer.validate('{"width": 1, "a": ' + "[" * 501 + "]" * 501 + "}")
