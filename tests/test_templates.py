"""Templates as a user meets them: `render(template, variables=...)` and `render_many`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import renderer
from renderer.templates import numeric_properties


def card(text: str = "{{ title }}", **extra: Any) -> dict[str, Any]:
    comp = {"type": "text", "text": text, "fontSize": 12, "x": 4, "y": 4, **extra}
    return {"width": 80, "height": 30, "components": [comp]}


def test_placeholders_fill_text_and_keys_stay_literal() -> None:
    spec = card("Hi {{ name }}, {{name}}!")
    spec["components"][0]["{{ name }}"] = 1  # a key is never a placeholder: still an error
    with pytest.raises(renderer.SpecError) as e:
        renderer.render(spec, "svg", variables={"name": "Ada"})
    assert [i.pointer for i in e.value.issues] == ["/components/0/{{ name }}"]
    del spec["components"][0]["{{ name }}"]
    assert renderer.render(spec, variables={"name": "Ada"}) == renderer.render(card("Hi Ada, Ada!"))


@pytest.mark.parametrize(
    "value",
    [
        '", "type": "image',
        '"}, {"type": "image", "src": "/etc/passwd", "width": 10, "height": 10}, {"x": "',
        "{{ y }}",
        "</text><script>alert(1)</script>",
    ],
)
def test_injection_attempts_render_as_literal_text(value: str) -> None:
    filled = renderer.render(card(), "svg", variables={"title": value, "y": "EXPANDED"})
    assert filled == renderer.render(card(value), "svg")
    assert b"<script" not in filled
    assert b"EXPANDED" not in filled


def test_whole_placeholder_becomes_a_number_only_where_the_schema_takes_one() -> None:
    template = card("{{ price }}", x="{{ left }}", fontSize="{{ size }}")
    variables = {"price": "42", "left": "20", "size": 14.5}
    expected = card("42", x=20, fontSize=14.5)
    assert renderer.render(template, variables=variables) == renderer.render(expected)
    with pytest.raises(renderer.SpecError) as e:  # not numeric: the schema says so, at the field
        renderer.render(template, variables={**variables, "left": "20px"})
    assert e.value.issues[0].pointer == "/components/0/x"
    assert 'Received: "20px"' in e.value.issues[0].message


def test_missing_variable_names_the_variable_and_the_pointer() -> None:
    with pytest.raises(renderer.SpecError) as e:
        renderer.render(card("{{ title }} by {{ author }}"), variables={"title": "T"})
    (issue,) = e.value.issues
    assert issue.pointer == "/components/0/text"
    assert "'author' is missing" in issue.message


def test_without_variables_braces_are_plain_text() -> None:
    assert renderer.render(card("{{ title }}"), "svg")  # no error: nothing to fill


def test_template_file_resolves_images_against_its_folder(tmp_path: Path) -> None:
    Image.new("RGB", (8, 8), "#ff0000").save(tmp_path / "logo.png")
    spec = {
        "width": 20,
        "height": 20,
        "components": [{"type": "image", "src": "{{ logo }}", "width": 20, "height": 20}],
    }
    (tmp_path / "t.json").write_text(json.dumps(spec))
    png = renderer.render(tmp_path / "t.json", variables={"logo": "logo.png"})
    assert Image.open(io.BytesIO(png)).convert("RGB").getpixel((10, 10)) == (255, 0, 0)


def test_numeric_properties_come_from_the_schema() -> None:
    numeric = numeric_properties()
    assert {"width", "height", "x", "y", "fontSize", "fontWeight", "opacity", "quality"} <= numeric
    assert not {"text", "src", "color", "type", "anchor", "fontFamily"} & numeric


def test_render_many_keeps_order_and_reports_each_failure() -> None:
    rows = [{"title": "a"}, {"nope": 1}, {"title": "c"}, {"title": "x" * 6000}]
    results = list(renderer.render_many(rows, template=card(), jobs=2))
    assert results[0] == renderer.render(card("a"))
    assert results[2] == renderer.render(card("c"))
    assert isinstance(results[1], renderer.SpecError)
    assert "'title' is missing" in str(results[1])
    assert isinstance(results[3], renderer.LimitError)
    assert results[3].issues[0].pointer == "/components/0/text"


def test_render_many_of_specs_in_process() -> None:
    out = list(renderer.render_many([card("a"), {"width": 0}], "svg", jobs=1))
    assert out[0] == renderer.render(card("a"), "svg")
    assert isinstance(out[1], renderer.SpecError)


def test_importing_renderer_does_not_import_batch_machinery() -> None:
    code = (
        "import sys, renderer, renderer.cli; "
        "heavy = ('dask', 'distributed', 'tqdm', 'yaml'); "
        "bad = [m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith('renderer.batch')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
    assert result.returncode == 0, result.stdout


# --- defaults, unknown syntax, bounds (issues 11 and 12) ----------------------------------------


def test_default_fills_missing_null_false_and_empty_values() -> None:
    template = card('{{ title | default: "Untitled" }}', x="{{ left | default: 20 }}")
    expected = renderer.render(card("Untitled", x=20))
    for variables in ({}, {"title": None}, {"title": False}, {"title": "", "left": None}):
        assert renderer.render(template, variables=variables) == expected, variables
    given = renderer.render(template, variables={"title": "Hi", "left": "4"})
    assert given == renderer.render(card("Hi", x=4))
    single = card("{{ title | default: 'Say \"hi\"' }}")
    assert renderer.render(single, "svg", variables={}) == renderer.render(card('Say "hi"'), "svg")


def test_a_literal_writes_braces() -> None:
    filled = renderer.render(card('{{ "{{" }} title }}'), "svg", variables={"title": "x"})
    assert filled == renderer.render(card("{{ title }}"), "svg")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{{ title | default("Untitled") }}', 'Received: {{ title | default("Untitled") }}'),
        ("{{ title | upcase }}", "Received: {{ title | upcase }}"),
        ("{{{ title }}}", "Unknown placeholder syntax"),
        ("{{ 'open }}", "Unknown placeholder syntax"),
        ("Hello {{ title", "'{{' at character 6 is not closed by '}}'"),
        ("{% if title %}x{% endif %}", "Template tags such as {% if %} are not supported"),
    ],
)
def test_unknown_placeholder_syntax_is_an_error_at_its_pointer(text: str, said: str) -> None:
    with pytest.raises(renderer.SpecError) as e:
        renderer.render(card(text), "svg", variables={"title": "T"})
    (issue,) = e.value.issues
    assert issue.pointer == "/components/0/text"
    assert said in issue.message
    assert 'Allowed: {{ name }}, {{ name | default: "text" }} or {{ "text" }}' in issue.message


def test_a_missing_variable_is_reported_once_per_string_with_a_short_list() -> None:
    variables = {f"column{i}": "v" for i in range(100)}
    with pytest.raises(renderer.SpecError) as e:
        renderer.render(card("{{ a }}" * 1000 + "{{ b }}"), variables=variables)
    messages = [i.message for i in e.value.issues]
    assert len(messages) == 2
    assert "'a' is missing" in messages[0]
    assert "and 80 more" in messages[0]  # 20 names shown of the 100 given
    assert 'default: "text"' in messages[0]


def test_filling_is_bounded_before_it_allocates() -> None:
    """Issue 11: a 60 KB template body with one row used to build a 100 MB string."""
    template = card("{{a}}" * 2000)
    limits = renderer.Limits(max_filled_bytes=1_000_000)
    with pytest.raises(renderer.LimitError) as e:
        renderer.render(template, variables={"a": "x" * 50_000}, limits=limits)
    (issue,) = e.value.issues
    assert issue.pointer == "/components/0/text"
    assert "Limits.max_filled_bytes" in issue.message
    assert "the limit is 1000000" in issue.message
    # At the bound itself it fills (and the spec stage then judges the text as usual).
    assert renderer.Limits().max_filled_bytes == renderer.Limits().max_json_bytes
    small = renderer.Limits(max_filled_bytes=30)
    spec = {"width": 40, "height": 20, "components": [{"type": "text", "text": "{{ a }}"}]}
    # "text" (the type) and the filled text: 30 characters in all.
    assert renderer.render(spec, "svg", variables={"a": "x" * 26}, limits=small)
    with pytest.raises(renderer.LimitError):
        renderer.render(spec, "svg", variables={"a": "x" * 27}, limits=small)


@pytest.mark.parametrize(("value", "kind"), [({"nested": 1}, "an object"), ([1, 2], "an array")])
def test_a_value_that_is_not_text_is_named_by_kind(value: object, kind: str) -> None:
    """What a JSON row or a batch request can hold: the message says what it was, not the
    parser's class name (it said `_Object`)."""
    with pytest.raises(renderer.SpecError) as e:
        renderer.render(card("{{ title }}"), variables={"title": value})
    assert e.value.issues[0].message.endswith(f"Received: {kind}.")
