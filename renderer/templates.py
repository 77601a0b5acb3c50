"""Templates: `{{ name }}` placeholders in a spec's string values, filled from a row of variables.

Takes an already-parsed JSON value (as `spec.load_document` returns it) and a mapping of
variables; returns a new value of the same shape with every placeholder replaced. The caller's
value is never mutated. Filling works on the parsed structure, never on JSON text, so a value such
as `", "type": "image` can only ever become characters inside one string: it cannot open a new key,
component or image. The result still goes through the spec stage, so everything a value produces
(a text over `Limits.max_text_length`, a colour that is not a colour) is judged like hand-written
JSON.

The syntax is a small subset of Liquid's (Shopify, Jekyll, Eleventy), whose output tags and
`default` filter look the same as ours; Jinja users know the same `{{ }}` and `|`:

- `{{ name }}`: the variable `name`. A name starts with a letter or `_` and continues with
  letters, digits, `_`, `-` or `.` (CSV headers such as `product-name` work); `a.b` is the
  variable named `a.b`, not a lookup in an object.
- `{{ name | default: "Untitled" }}`: the text `Untitled` when the variable is missing, null,
  false or the empty string (Liquid's rule, so an empty CSV cell takes the default too). The
  default is a quoted string (`"…"` or `'…'`, no escapes) or a number (`default: 12`).
- `{{ "text" }}`: the text itself; `{{ "{{" }}` is how to write literal braces.
- Spaces, tabs and new lines are allowed around each part. Anything else between `{{` and the
  next `}}` (Jinja's `default("x")`, Mustache's `{{{ x }}}`, `{{ x | upcase }}`), a `{{` with no
  `}}` after it, and Liquid/Jinja tags (`{% if %}`) are errors naming the string's pointer, never
  printed as they are. A default or literal cannot contain `}}`.

The rules, exactly:

- Placeholders are replaced in string values only, at any depth. Object keys, numbers, booleans
  and null are never touched.
- Each string is scanned once, left to right, in time linear in its length: text a value brings in
  is not scanned again, so a value containing `{{ y }}` stays literally `{{ y }}`.
- Values are inserted as text: a string as it is, `true`/`false` for booleans, and numbers as JSON
  writes them (`3`, `2.5`).
- A string that is exactly one placeholder (`"{{ size }}"`, no other characters) becomes a JSON
  number instead when both hold: the name of the property it is the value of is one the card
  schema allows a number for, in any component (`width`, `height`, `x`, `y`, `fontSize`,
  `fontWeight`, `frameWidth`, `opacity`, `radius`, `length`, …: `numeric_properties()`), or
  `quality` in a batch `output`; and the value (or the default) is numeric: a Python/JSON int or
  float (not a bool), or a string in JSON number syntax (`42`, `-1.5`, `1e3`), as CSV cells and
  `--var` values always are. So `"text": "{{ price }}"` with price `42` stays the text "42", and
  `"x": "{{ left }}"` with left `"120"` is the number 120. A non-numeric value stays text and
  the schema reports it there.
- A placeholder without a default whose variable is missing (or null, or a column a short CSV
  row lacks) is an error; a list or object value is an error. Each such placeholder is reported
  once per string, with the JSON pointer of its string, in one `SpecError`.
- Bounded: the filled document's string values may hold at most `Limits.max_filled_bytes`
  characters in all (5,000,000 by default, as a spec document). Each string's length is added
  up before the string is built, so a template that would grow past the bound (a 60 KB body whose
  `"{{a}}" × 2000` meets a 50 KB value) fails with a `LimitError` at the string where the total
  crossed it, having allocated nothing big.

Limitations: no other filters, no tags, no lookups in nested objects.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from .errors import Issue, LimitError, SpecError
from .limits import DEFAULT_LIMITS, Limits
from .spec import schema

__all__ = ["as_text", "fill", "numeric_properties", "placeholders"]

# What may stand between `{{` and `}}`: a name with an optional default, or a quoted literal.
_EXPRESSION = re.compile(
    r"\s*(?:"
    r"(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*)"
    r"(?:\s*\|\s*default\s*:\s*(?P<default>\"[^\"]*\"|'[^']*'|-?[0-9]+(?:\.[0-9]+)?))?"
    r"|(?P<literal>\"[^\"]*\"|'[^']*')"
    r")\s*"
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_SYNTAX = '{{ name }}, {{ name | default: "text" }} or {{ "text" }}'
_SHOWN = 60  # characters of a bad placeholder quoted in its error
_LISTED = 20  # variable names listed in a "missing" message

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


@dataclass(frozen=True, slots=True)
class _Slot:
    """One `{{ … }}` of a string: a variable (with its default, if any) or a literal text."""

    name: str | None  # None for a literal
    default: str | None  # the default's text, or the literal's
    raw: str  # as written, for messages


class _Syntax(Exception):
    """A string's placeholder syntax is wrong; the message says how."""


def _parse(text: str) -> list[str | _Slot]:
    """`text` as literal pieces and slots. Linear: each character is looked at a bounded number
    of times (`find` moves forward only, and the expression between one `{{` and the next `}}`
    is matched once)."""
    _check_tags(text)
    parts: list[str | _Slot] = []
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        end = text.find("}}", start + 2)
        if end < 0:
            msg = f"'{{{{' at character {start} is not closed by '}}}}'. Allowed: {_SYNTAX}."
            raise _Syntax(msg)
        raw = text[start : end + 2]
        m = _EXPRESSION.fullmatch(text, start + 2, end)
        if m is None:
            shown = raw if len(raw) <= _SHOWN else raw[: _SHOWN - 1] + "…"
            msg = f"Unknown placeholder syntax. Allowed: {_SYNTAX}. Received: {shown}"
            raise _Syntax(msg)
        if start > pos:
            parts.append(text[pos:start])
        parts.append(_slot(m, raw))
        pos = end + 2
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def _check_tags(text: str) -> None:
    start = text.find("{%")
    if start >= 0 and text.find("%}", start + 2) >= 0:
        msg = f"Template tags such as {{% if %}} are not supported. Allowed: {_SYNTAX}."
        raise _Syntax(msg)


def _slot(m: re.Match[str], raw: str) -> _Slot:
    if m.group("literal") is not None:
        return _Slot(None, m.group("literal")[1:-1], raw)
    default = m.group("default")
    if default is not None and default[0] in "\"'":
        default = default[1:-1]
    return _Slot(m.group("name"), default, raw)


def placeholders(value: Any) -> set[str]:
    """Every variable name a template refers to, in string values at any depth (strings whose
    syntax is wrong contribute nothing: `fill` reports them)."""
    found: set[str] = set()
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str) and "{{" in node:
            try:
                found.update(p.name for p in _parse(node) if isinstance(p, _Slot) and p.name)
            except _Syntax:
                continue
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def fill(
    template: Any,
    variables: Mapping[str, object],
    *,
    row: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Any:
    """`template` with every placeholder replaced, or a `SpecError` naming each one that cannot be
    (a `LimitError` when the filled strings would pass `limits.max_filled_bytes`).

    `row` (e.g. "row 3") is added to each message, for callers whose reports do not say the row
    already (the server's batch items do; `renderer batch` names the row beside each message).
    """
    filler = _Filler(variables, limits.max_filled_bytes)
    try:
        result = filler.node(template, None)
    except LimitError as e:
        raise LimitError(_with_row([*filler.issues, *e.issues], row)) from None
    if filler.issues:
        raise SpecError(_with_row(filler.issues, row))
    return result


def _with_row(issues: list[Issue], row: str | None) -> list[Issue]:
    where = f" ({row})" if row else ""
    return [Issue(i.pointer, i.message + where) for i in issues]


class _Filler:
    """One fill: the variables, the running size of the filled strings, the issues found."""

    def __init__(self, variables: Mapping[str, object], budget: int) -> None:
        self.variables = variables
        self.budget = budget
        self.size = 0  # characters of the filled strings so far
        self.issues: list[Issue] = []
        self.path: list[str] = []
        self._known: str | None = None
        self._reported: set[tuple[str, str]] = set()

    def node(self, node: Any, key: str | None) -> Any:
        if isinstance(node, str):
            return self.string(node, key)
        if isinstance(node, dict):
            # copy.copy keeps the strict reader's dict subclass, which remembers duplicate keys
            # for the spec stage to report.
            clone = copy.copy(node)
            for k, v in node.items():
                self.path.append(str(k))
                clone[k] = self.node(v, str(k))
                self.path.pop()
            return clone
        if isinstance(node, list):
            out = []
            for i, v in enumerate(node):
                self.path.append(str(i))
                out.append(self.node(v, None))
                self.path.pop()
            return out
        return node

    def string(self, text: str, key: str | None) -> Any:
        if "{{" not in text and "{%" not in text:
            self.grow(len(text))
            return text
        try:
            parts = _parse(text)
        except _Syntax as e:
            self.issues.append(Issue(self.pointer(), str(e)))
            return text
        if len(parts) == 1 and isinstance(parts[0], _Slot) and key in numeric_properties():
            number = _as_number(self.value(parts[0], report=False))
            if number is not None:
                return number
        pieces = [p if isinstance(p, str) else self.text(p) for p in parts]
        self.grow(sum(len(p) for p in pieces))  # before the one big allocation, the join
        return "".join(pieces)

    def text(self, slot: _Slot) -> str:
        value = self.value(slot, report=True)
        return slot.raw if value is None else as_text(value)

    def value(self, slot: _Slot, *, report: bool) -> object:
        """The slot's value, its default, or None (reported, when `report`, if it has no usable
        value)."""
        if slot.name is None:
            return slot.default
        value = self.variables.get(slot.name)
        if slot.default is not None and _is_empty(value):
            return slot.default
        problem = _problem(slot.name, value, self.variables, self.known)
        if problem is None:
            return value
        pointer = self.pointer()
        if report and (pointer, slot.name) not in self._reported:  # once per string and name
            self._reported.add((pointer, slot.name))
            self.issues.append(Issue(pointer, problem))
        return None

    def known(self) -> str:
        """The variables given, for messages: computed once per fill, at most `_LISTED` names."""
        if self._known is None:
            names = sorted(str(k)[:40] for k, v in self.variables.items() if v is not None)
            shown = ", ".join(names[:_LISTED])
            more = len(names) - _LISTED
            self._known = (shown + (f" and {more} more" if more > 0 else "")) or "none"
        return self._known

    def grow(self, n: int) -> None:
        self.size += n
        if self.size > self.budget:
            message = (
                f"Filled from these variables, the template's strings would hold {self.size} "
                f"characters by here; the limit is {self.budget} in all "
                "(Limits.max_filled_bytes)."
            )
            raise LimitError([Issue(self.pointer(), message)])

    def pointer(self) -> str:
        return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in self.path)


def _is_empty(value: object) -> bool:
    """Liquid's test for `default`: nil, false, or empty."""
    return value is None or value is False or (isinstance(value, str | list | dict) and not value)


def _problem(name: str, value: object, variables: Mapping[str, object], known: Any) -> str | None:
    if value is None:
        state = "is null" if name in variables else "is missing"
        return (
            f"Template variable {name!r} {state}. Variables given: {known()}. "
            f'Give it a default with {{{{ {name} | default: "text" }}}}.'
        )
    if isinstance(value, dict | list | tuple):
        return (
            f"Template variable {name!r} must be a string, number or boolean. "
            f"Received: {'an object' if isinstance(value, dict) else 'an array'}."
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
