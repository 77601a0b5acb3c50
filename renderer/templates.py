"""Templates: `{{ name }}` placeholders in a spec's string values, filled from a row of variables.

Takes an already-parsed JSON value (as `spec.load_document` returns it) and a mapping of
variables; returns a new value of the same shape with every placeholder replaced. The caller's
value is never mutated. Filling works on the parsed structure, never on JSON text, so a value such
as `", "type": "image` can only ever become characters inside one string: it cannot open a new key,
component or image. The result still goes through the spec stage, so everything a value produces
(a text over `Limits.max_text_length`, a colour that is not a colour) is judged like hand-written
JSON.

The rules, exactly:

- A placeholder is `{{`, optional spaces, a name, optional spaces, `}}`. A name starts with a
  letter or `_` and continues with letters, digits, `_`, `-` or `.` (CSV headers such as
  `product-name` work). Anything else between braces is left as it is.
- Placeholders are replaced in string values only, at any depth. Object keys, numbers, booleans
  and null are never touched.
- Each string is scanned once: text a value brings in is not scanned again, so a value containing
  `{{ y }}` stays literally `{{ y }}`.
- Values are inserted as text: a string as it is, `true`/`false` for booleans, and numbers as JSON
  writes them (`3`, `2.5`).
- A string that is exactly one placeholder (`"{{ size }}"`, no other characters) becomes a JSON
  number instead when both hold: the name of the property it is the value of is one the card
  schema allows a number for, in any component (`width`, `height`, `x`, `y`, `fontSize`,
  `fontWeight`, `frameWidth`, `opacity`, `radius`, `length`, …: `numeric_properties()`), or
  `quality` in a batch `output`; and the value is numeric: a Python/JSON int or float (not a
  bool), or a string in JSON number syntax (`42`, `-1.5`, `1e3`), as CSV cells and `--var`
  values always are. So `"text": "{{ price }}"` with price `42` stays the text "42", and
  `"x": "{{ left }}"` with left `"120"` is the number 120. A non-numeric value stays text and
  the schema reports it there.
- A placeholder whose variable is missing (or null, or a column a short CSV row lacks) is an
  error; a list or object value is an error. Every such placeholder is reported, each
  with the JSON pointer of its string, in one `SpecError`.

Limitations: there is no escape for a literal `{{ name }}` in a template (render without
`variables` to keep such text); no filters or defaults; names are not looked up in nested objects.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from .errors import Issue, SpecError
from .spec import schema

__all__ = ["PLACEHOLDER", "as_text", "fill", "numeric_properties", "placeholders"]

PLACEHOLDER = re.compile(r"\{\{ *([A-Za-z_][A-Za-z0-9_.\-]*) *\}\}")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")

_BATCH_NUMERIC = frozenset({"quality"})  # the batch layer's `output.quality`


@cache
def numeric_properties() -> frozenset[str]:
    """Every property name the card schema allows a number for, plus `quality` (batch output).

    Read from the schema itself, so a property added there is fillable as a number at once.
    """

    def walk(node: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if _allows_number(sub):
                    found.add(name)
            for value in node.values():
                found |= walk(value)
        elif isinstance(node, list):
            for value in node:
                found |= walk(value)
        return found

    return frozenset(walk(schema())) | _BATCH_NUMERIC


def _allows_number(sub: Any) -> bool:
    if isinstance(sub, dict):
        if sub.get("type") in ("number", "integer") or any(
            isinstance(v, int | float) and not isinstance(v, bool) for v in sub.get("enum", [])
        ):
            return True
        if "$ref" in sub:
            target = schema().get("$defs", {}).get(sub["$ref"].rsplit("/", 1)[-1], {})
            return _allows_number(target)
        return any(_allows_number(s) for k in ("anyOf", "oneOf") for s in sub.get(k, []))
    return False


def placeholders(value: Any) -> set[str]:
    """Every variable name a template refers to, in string values at any depth."""
    found: set[str] = set()
    if isinstance(value, str):
        found.update(m.group(1) for m in PLACEHOLDER.finditer(value))
    elif isinstance(value, dict):
        for v in value.values():
            found |= placeholders(v)
    elif isinstance(value, list):
        for v in value:
            found |= placeholders(v)
    return found


def fill(template: Any, variables: Mapping[str, object], *, row: str | None = None) -> Any:
    """`template` with every placeholder replaced, or a `SpecError` naming each one that cannot be.

    `row` (e.g. "rows.csv row 3") is added to each message, so a batch error says which row lacks
    the variable, not only which template.
    """
    issues: list[Issue] = []
    result = _fill(template, variables, [], None, issues)
    if issues:
        where = f" ({row})" if row else ""
        raise SpecError([Issue(i.pointer, i.message + where) for i in issues])
    return result


def _fill(
    node: Any, variables: Mapping[str, object], path: list[str], key: str | None, out: list[Issue]
) -> Any:
    if isinstance(node, str):
        return _fill_string(node, variables, path, key, out)
    if isinstance(node, dict):
        # copy.copy keeps the strict reader's dict subclass, which remembers duplicate keys for
        # the spec stage to report.
        clone = copy.copy(node)
        for k, v in node.items():
            clone[k] = _fill(v, variables, [*path, str(k)], str(k), out)
        return clone
    if isinstance(node, list):
        return [_fill(v, variables, [*path, str(i)], None, out) for i, v in enumerate(node)]
    return node


def _fill_string(
    text: str, variables: Mapping[str, object], path: list[str], key: str | None, out: list[Issue]
) -> Any:
    if "{{" not in text:
        return text
    whole = PLACEHOLDER.fullmatch(text)
    if whole and key in numeric_properties():
        number = _as_number(variables.get(whole.group(1)))
        if number is not None:
            return number

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        value = variables.get(name)
        problem = _problem(name, value, variables)
        if problem:
            out.append(Issue(_pointer(path), problem))
            return m.group(0)
        return as_text(value)

    return PLACEHOLDER.sub(replace, text)


def _problem(name: str, value: object, variables: Mapping[str, object]) -> str | None:
    if value is None:
        known = ", ".join(sorted(str(k) for k in variables if variables[k] is not None))
        state = "is null" if name in variables else "is missing"
        return f"Template variable {name!r} {state}. Variables given: {known or 'none'}."
    if isinstance(value, dict | list | tuple):
        return (
            f"Template variable {name!r} must be a string, number or boolean. "
            f"Received: {type(value).__name__}."
        )
    return None


def _as_number(value: object) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return float(value) if any(c in value for c in ".eE") else int(value)
    return None


def as_text(value: object) -> str:
    """A variable as the text a placeholder becomes: `true`/`false`, numbers as JSON writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return str(value)


def _pointer(path: list[str]) -> str:
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in path)
