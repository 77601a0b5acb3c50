"""Spec stage: a dict, JSON text, bytes or a path in; a validated, resolved `Card` out.

Takes untrusted input and is the only stage that judges it. Guarantees on return: the document is
strict JSON (no NaN/Infinity, no duplicate keys, bounded nesting and number size, no lone
surrogates), it matches `schemas/card.schema.json`, it is within the caller's `Limits`, every
default is applied and every text is free of characters XML cannot carry. Otherwise it raises one
`SpecError` (or `LimitError`) listing every problem found, each with a JSON pointer.
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import os
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from .data import data_dir
from .errors import Issue, LimitError, SpecError
from .limits import DEFAULT_LIMITS, Limits
from .model import (
    Anchor,
    Card,
    Color,
    Component,
    DividerComponent,
    ImageComponent,
    TagComponent,
    TextComponent,
    TextStyle,
)
from .text.bidi import BIDI_CONTROLS

__all__ = ["DIVIDER_THICKNESS", "SpecInput", "load_document", "parse_card", "schema"]

SpecInput = dict[str, Any] | str | bytes | os.PathLike[str]

DIVIDER_THICKNESS = {"thin": 1.0, "medium": 3.0, "thick": 5.0}  # px, CSS border-width keywords
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_LIMIT_FIELDS = {"width", "height", "components", "fontSize", "text"}
_NO_BIDI_CONTROLS = dict.fromkeys(map(ord, BIDI_CONTROLS))
_WORD_START = re.compile(r"(?<![\w'’])\w")
MAX_ISSUES = 100  # issues one SpecError lists; the rest are counted in a last issue


@cache
def schema() -> dict[str, Any]:
    """The card schema, parsed once."""
    with (data_dir("schemas") / "card.schema.json").open(encoding="utf-8") as f:
        result: dict[str, Any] = json.load(f)
    return result


@cache
def _validators() -> tuple[
    jsonschema.Draft202012Validator, dict[str, jsonschema.Draft202012Validator]
]:
    """The card without its components' bodies, and one validator per component type.

    The schema chooses a component's definition with `if`/`then` on `type`; evaluating every
    branch for every component is most of the validation time, so the same definitions are
    applied here by dispatching on `type` in Python. The schema file stays the one source."""
    card = copy.deepcopy(schema())
    defs = card["$defs"]
    card["properties"]["components"]["items"] = {
        "type": "object",
        "required": ["type"],
        "properties": {"type": defs["component"]["properties"]["type"]},
    }
    kinds = defs["component"]["properties"]["type"]["enum"]
    per_type = {
        k: jsonschema.Draft202012Validator({"$defs": defs, "$ref": f"#/$defs/{k}"}) for k in kinds
    }
    return jsonschema.Draft202012Validator(card), per_type


@cache
def _gate() -> Any:
    """jsonschema-rs compiled from the same schema: it decides *whether* a spec is valid (a
    hundred times faster); only an invalid spec goes through `jsonschema` for the messages."""
    import jsonschema_rs

    return jsonschema_rs.validator_for(schema())


def _schema_issues(doc: Any) -> tuple[list[Issue], list[jsonschema.ValidationError]]:
    if _gate().is_valid(doc):
        return [], []
    errors = _schema_errors(doc)
    found: dict[Issue, None] = {}  # in order, each once (a set lookup: 8,000 unknown keys
    more = 0  # used to cost 32 million comparisons as a list)
    for error in errors:
        if len(found) < MAX_ISSUES:
            found.update(dict.fromkeys(_issues_for(error, MAX_ISSUES - len(found))))
        more += _issue_count(error)
    issues = list(found)[:MAX_ISSUES]
    if issues and more > len(issues):
        issues.append(_more_issues(more - len(issues)))
    if not issues:  # the two validators disagree: trust the stricter, in its own words
        issues = [
            Issue(_pointer(e.instance_path), f"{e.message}.") for e in _gate().iter_errors(doc)
        ]
    return issues, errors


def _schema_errors(doc: Any) -> list[jsonschema.ValidationError]:
    card, per_type = _validators()
    errors = list(card.iter_errors(doc))
    components = doc.get("components") if isinstance(doc, dict) else None
    if isinstance(components, list):
        for i, c in enumerate(components):
            kind = c.get("type") if isinstance(c, dict) else None
            if isinstance(kind, str) and kind in per_type:
                for error in per_type[kind].iter_errors(c):
                    error.path.extendleft((i, "components"))  # now relative to the card
                    errors.append(error)
    return sorted(errors, key=lambda e: list(map(str, e.absolute_path)))


# --- strict JSON -------------------------------------------------------------------------------


class _Bad:
    """A JSON value the strict reader refused; reported with its pointer by `_check_values`."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Object(dict[str, Any]):
    """A JSON object that remembers keys it saw twice (json keeps only the last)."""

    __slots__ = ("duplicates",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        self.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]


_PARSE_DEPTH = 500  # nesting the JSON parser is never asked to recurse through
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _deeper_than(text: str, depth: int) -> bool:
    """Whether `text` nests arrays and objects more than `depth` deep. Python's json parser
    recurses per level: on 3.11 it stops at the interpreter's recursion limit (~1,000), on
    3.12+ it goes much deeper. Refusing such documents before parsing gives the same answer on
    every interpreter and never spends the C stack. Brackets inside strings do not count."""
    if text.count("[") + text.count("{") <= depth:
        return False  # the common case: not enough brackets to nest that deep
    import numpy as np  # already loaded by the engine; only for documents with many brackets

    code = np.frombuffer(_STRING.sub("", text).encode("utf-8", "surrogatepass"), dtype=np.uint8)
    steps = (code == ord("[")).astype(np.int32) + (code == ord("{"))
    steps -= (code == ord("]")).astype(np.int32) + (code == ord("}"))
    return bool(steps.size) and int(np.cumsum(steps).max()) > depth


def _items(text: str) -> int:
    """Keys and values in a JSON document, about (its `,` and `:` outside strings, plus one):
    counted in C before the document is parsed and walked in Python."""
    bare = _STRING.sub('""', text) if '"' in text else text
    return bare.count(",") + bare.count(":") + 1


def _loads(text: str, limits: Limits) -> Any:
    if len(text) > limits.max_json_bytes:
        raise LimitError(
            [
                Issue(
                    "",
                    f"The document is {len(text)} characters; the limit is "
                    f"{limits.max_json_bytes}.",
                )
            ]
        )
    if len(text) > limits.max_json_items and (items := _items(text)) > limits.max_json_items:
        raise LimitError(
            [
                Issue(
                    "",
                    f"The document holds about {items} keys and values; the limit is "
                    f"{limits.max_json_items} (Limits.max_json_items).",
                )
            ]
        )

    def too_long(literal: str) -> _Bad:
        return _Bad(
            f"Number literal of {len(literal)} characters; at most "
            f"{limits.max_number_digits} are accepted."
        )

    def integer(literal: str) -> Any:
        return too_long(literal) if len(literal) > limits.max_number_digits else int(literal)

    def real(literal: str) -> Any:
        return too_long(literal) if len(literal) > limits.max_number_digits else float(literal)

    def constant(name: str) -> _Bad:
        return _Bad(f"{name} is not valid JSON; numbers must be finite.")

    if _deeper_than(text, _PARSE_DEPTH):
        raise SpecError([Issue("", "The document is nested too deeply.")])
    try:
        return json.loads(
            text,
            parse_int=integer,
            parse_float=real,
            parse_constant=constant,
            object_pairs_hook=_Object,
        )
    except json.JSONDecodeError as e:
        raise SpecError(
            [Issue("", f"Invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}.")]
        ) from None
    except RecursionError:
        raise SpecError([Issue("", "The document is nested too deeply.")]) from None


def load_document(spec: SpecInput, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, Path | None]:
    """Read a spec from any accepted form; returns the decoded JSON value and its base folder:
    the file's folder for a path, None for a dict or JSON text (they grant no file access)."""
    if isinstance(spec, dict):
        return spec, None
    if not isinstance(spec, str | bytes | os.PathLike):
        raise SpecError(
            [
                Issue(
                    "",
                    "The spec must be a JSON object (a dict), JSON text or a path. "
                    f"Received: {type(spec).__name__}.",
                )
            ]
        )
    if isinstance(spec, bytes):
        try:
            return _loads(spec.decode("utf-8-sig"), limits), None
        except UnicodeDecodeError as e:
            raise SpecError([Issue("", f"The document is not UTF-8: {e.reason}.")]) from None
    if isinstance(spec, str) and spec.lstrip().startswith(("{", "[")):
        return _loads(spec, limits), None
    path = Path(spec)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise SpecError(
            [Issue("", f"Cannot read spec file {str(path)!r}: {e.strerror}.")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError([Issue("", f"{path} is not UTF-8: {e.reason}.")]) from None
    return _loads(text, limits), path.resolve().parent


def _pointer(parts: Iterator[Any] | list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _check_values(node: Any, path: list[Any], limits: Limits, out: list[Issue]) -> None:
    """Refuse what JSON Schema cannot see: bad literals, duplicates, depth, surrogates, NaN."""
    if len(path) > limits.max_json_depth:
        out.append(Issue(_pointer(path), f"Nested deeper than {limits.max_json_depth} levels."))
        return
    if isinstance(node, _Bad):
        out.append(Issue(_pointer(path), node.reason))
    elif isinstance(node, float) and not math.isfinite(node):
        out.append(
            Issue(
                _pointer(path),
                "Numbers must be finite. Received: a value that overflows to infinity or is NaN.",
            )
        )
    elif (
        isinstance(node, int)
        and not isinstance(node, bool)
        and abs(node).bit_length() > limits.max_number_digits * 4
    ):
        out.append(Issue(_pointer(path), "Integer too large."))
    elif isinstance(node, str):
        _check_string(node, path, out)
    elif isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            out.append(Issue(_pointer([*path, key]), f"Duplicate key {key!r}."))
        for key, value in node.items():
            if not isinstance(key, str):
                out.append(
                    Issue(_pointer(path), f"Object keys must be strings. Received: {key!r}.")
                )
                continue
            _check_string(key, [*path, key], out)
            _check_values(value, [*path, key], limits, out)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            _check_values(value, [*path, i], limits, out)
    elif node is not None and not isinstance(node, bool | int | float):
        out.append(Issue(_pointer(path), f"Not a JSON value: {type(node).__name__}."))


def _check_string(s: str, path: list[Any], out: list[Issue]) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        out.append(Issue(_pointer(path), "The string contains a lone surrogate (invalid Unicode)."))


# --- schema errors as sentences ------------------------------------------------------------------


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


def _describe(sub: dict[str, Any]) -> str:
    """What a subschema allows, in words."""
    if "$ref" in sub:
        name = sub["$ref"].rsplit("/", 1)[-1]
        sub = {**schema()["$defs"][name], **{k: v for k, v in sub.items() if k != "$ref"}}
    if "const" in sub:
        return _show(sub["const"])
    if "enum" in sub:
        return "one of " + ", ".join(_show(v) for v in sub["enum"])
    if "anyOf" in sub:
        return " or ".join(_describe(s) for s in sub["anyOf"])
    if "x-expected" in sub:  # the schema's own words for a pattern
        return str(sub["x-expected"])
    if "pattern" in sub and "colour" in sub.get("description", ""):
        return "a hex colour (#rgb, #rgba, #rrggbb or #rrggbbaa)"
    kind = {
        "number": "a number",
        "integer": "an integer",
        "string": "a string",
        "object": "an object",
        "array": "an array",
        "boolean": "true or false",
    }
    words = [kind.get(sub.get("type", ""), "a value")]
    if "exclusiveMinimum" in sub:
        words.append(f"> {sub['exclusiveMinimum']}")
    if "minimum" in sub:
        words.append(f"≥ {sub['minimum']}")
    if "maximum" in sub:
        words.append(f"≤ {sub['maximum']}")
    return " ".join(words)


def _suggest(word: str, options: list[str]) -> str:
    lower = {o.lower(): o for o in options}
    match = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.6)
    return f" Did you mean {lower[match[0]]!r}?" if match else ""


def _specific(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """For an `anyOf` whose branch of the instance's kind failed on a bound (a number over its
    maximum), that branch's error says more than "matches none of"."""
    if error.validator == "anyOf" and error.context:
        bounded = [e for e in error.context if e.validator not in ("type", "const", "enum")]
        if bounded:
            return bounded[0]
    return error


def _more_issues(n: int) -> Issue:
    return Issue("", f"… and {n} more problem(s); only the first {MAX_ISSUES} are listed.")


def _extra_keys(error: jsonschema.ValidationError) -> list[str]:
    known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    return [k for k in error.instance if k not in known]


def _issue_count(error: jsonschema.ValidationError) -> int:
    """How many issues `_issues_for` would make of `error`, without making them."""
    error = _specific(error)
    return len(_extra_keys(error)) if error.validator == "additionalProperties" else 1


def _issues_for(error: jsonschema.ValidationError, at_most: int = MAX_ISSUES) -> list[Issue]:
    """The issues of one schema error; an object with many unknown keys gives at most
    `at_most` (a "did you mean" hint costs a fuzzy match per key)."""
    error = _specific(error)
    path = list(error.absolute_path)
    where = _pointer(path)
    v, received = error.validator, f" Received: {_show(error.instance)}."
    sub = error.schema if isinstance(error.schema, dict) else {}
    if v == "additionalProperties":
        allowed = sorted(sub.get("properties", {}))
        extra = _extra_keys(error)[:at_most]
        return [
            Issue(
                _pointer([*path, k]),
                f"Unknown property {k!r}.{_suggest(k, allowed)} Allowed: {', '.join(allowed)}.",
            )
            for k in extra
        ]
    if v == "required":
        name = error.message.split("'")[1]
        return [Issue(_pointer([*path, name]), f"Required property {name!r} is missing.")]
    if v == "enum":
        options = [str(o) for o in error.validator_value]
        hint = _suggest(error.instance, options) if isinstance(error.instance, str) else ""
        return [Issue(where, f"Allowed values: {', '.join(options)}.{received}{hint}")]
    if v == "type" and not path:
        return [Issue("", "The spec must be a JSON object.")]
    if v in ("type", "anyOf", "pattern", "const"):
        return [Issue(where, f"Expected {_describe(sub)}.{received}")]
    if v in ("minimum", "exclusiveMinimum"):
        op = "≥" if v == "minimum" else ">"
        return [Issue(where, f"Must be {op} {error.validator_value}.{received}")]
    if v == "maximum":
        return [Issue(where, f"Must be ≤ {error.validator_value}.{received}")]
    if v == "minItems":
        return [
            Issue(
                where,
                f"At least {error.validator_value} item(s) required. Received: "
                f"{len(error.instance)}.",
            )
        ]
    if v == "maxItems":
        return [
            Issue(
                where,
                f"At most {error.validator_value} items allowed. Received: {len(error.instance)}.",
            )
        ]
    if v == "maxLength":
        return [
            Issue(
                where,
                f"At most {error.validator_value} characters allowed. Received: "
                f"{len(error.instance)}.",
            )
        ]
    if v == "minLength":
        return [Issue(where, "Must not be empty.")]
    return [Issue(where, error.message)]


def _is_limit(error: jsonschema.ValidationError) -> bool:
    error = _specific(error)
    field = next((p for p in reversed(error.absolute_path) if isinstance(p, str)), "")
    return error.validator in ("maximum", "maxItems", "maxLength") and field in _LIMIT_FIELDS


# --- resolving a valid document into a Card ------------------------------------------------------


def _limit_issues(doc: dict[str, Any], limits: Limits, scale: float) -> list[Issue]:
    """Bounds a caller may have tightened below the schema's defaults, and the scaled area."""
    out: list[Issue] = []
    for side in ("width", "height"):
        if doc[side] > limits.max_side:
            out.append(
                Issue(
                    f"/{side}",
                    f"Must be ≤ {limits.max_side} px (Limits.max_side). Received: {doc[side]}.",
                )
            )
    for side in ("width", "height"):
        if round(doc[side] * scale) < 1:
            out.append(Issue(f"/{side}", f"{side} × scale ({scale:g}) is under 1 device pixel."))
    pixels = doc["width"] * scale * doc["height"] * scale
    if pixels > limits.max_pixels:
        out.append(
            Issue(
                "",
                f"The canvas is {pixels / 1e6:.1f} megapixels at scale {scale:g}; "
                f"the limit is {limits.max_pixels / 1e6:.1f} (Limits.max_pixels).",
            )
        )
    comps = doc["components"]
    if len(comps) > limits.max_components:
        out.append(
            Issue(
                "/components",
                f"At most {limits.max_components} components allowed "
                f"(Limits.max_components). Received: {len(comps)}.",
            )
        )
    for i, c in enumerate(comps):
        if "text" in c and len(c["text"]) > limits.max_text_length:
            out.append(
                Issue(
                    f"/components/{i}/text",
                    f"At most {limits.max_text_length} characters "
                    f"(Limits.max_text_length). Received: {len(c['text'])}.",
                )
            )
        size = c.get("fontSize", 0)
        if isinstance(size, int | float) and size > limits.max_font_size:
            out.append(
                Issue(
                    f"/components/{i}/fontSize",
                    f"Must be ≤ {limits.max_font_size:g} "
                    f"(Limits.max_font_size). Received: {c['fontSize']}.",
                )
            )
    return out


def _semantic_issues(doc: dict[str, Any]) -> list[Issue]:
    """Rules across properties that the schema states only in words."""
    out: list[Issue] = []
    for i, c in enumerate(doc["components"]):
        if c.get("fontSize") == "auto" and not (
            isinstance(c.get("frameWidth"), int | float) and ("frameHeight" in c or "maxLines" in c)
        ):
            out.append(
                Issue(
                    f"/components/{i}/fontSize",
                    '"auto" needs a numeric frameWidth and '
                    "a frameHeight or maxLines to fit the text into.",
                )
            )
        if c.get("minFontSize", 8) > c.get("maxFontSize", 200):
            out.append(
                Issue(
                    f"/components/{i}/minFontSize",
                    "Must be ≤ maxFontSize. Received: "
                    f"{c.get('minFontSize', 8)} > {c.get('maxFontSize', 200)}.",
                )
            )
    return out


def _clean_text(text: str, transform: str = "none") -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _XML_INVALID.sub("", text).translate(_NO_BIDI_CONTROLS)
    if transform == "uppercase":
        return text.upper()
    if transform == "lowercase":
        return text.lower()
    if transform == "capitalize":
        return _WORD_START.sub(lambda m: m.group(0).title(), text)  # title case: ǆ → ǅ, ß → Ss
    return text


def _style(c: dict[str, Any], default_color: str) -> TextStyle:
    return TextStyle(
        family=c.get("fontFamily", "Inter"),
        weight=int(c.get("fontWeight", 400)),
        italic=c.get("fontStyle", "normal") == "italic",
        size=float(
            c.get("maxFontSize", 200) if c.get("fontSize") == "auto" else c.get("fontSize", 16)
        ),
        color=Color.parse(c.get("color", default_color)),
        line_height=float(c.get("lineHeight", 1.2)),
        letter_spacing=float(c.get("letterSpacing", 0)),
        lang=c.get("lang"),
    )


def _component(i: int, c: dict[str, Any]) -> Component:
    common: dict[str, Any] = {
        "pointer": f"/components/{i}",
        "x": float(c.get("x", 0)),
        "y": float(c.get("y", 0)),
        "anchor": Anchor(c.get("anchor", "top-left")),
        "opacity": float(c.get("opacity", 1)),
    }
    kind = c["type"]
    if kind == "text":
        frame = c.get("frameWidth", "fit")
        auto = c.get("fontSize") == "auto"
        return TextComponent(
            **common,
            text=_clean_text(c["text"], c.get("textTransform", "none")),
            style=_style(c, "#000000"),
            frame_width=None if frame == "fit" else float(frame),
            align=c.get("textAlign"),
            frame_height=float(c["frameHeight"]) if "frameHeight" in c else None,
            max_lines=int(c["maxLines"]) if "maxLines" in c else None,  # JSON may say 2.0
            ellipsis=_clean_text(c.get("ellipsis", "…")),
            auto_size=(float(c.get("minFontSize", 8)), float(c.get("maxFontSize", 200)))
            if auto
            else None,
        )
    if kind == "image":
        # position: the schema allows a keyword or "X% Y%"; keywords name the edge to align.
        words = {"left": (0.0, None), "right": (1.0, None), "top": (None, 0.0)}
        words |= {"bottom": (None, 1.0), "center": (None, None)}
        position = c.get("position", "center")
        if position.endswith("%"):
            px, py = (float(v.rstrip("%")) / 100 for v in position.split())
        else:
            picked = [words[w] for w in position.split()]
            px = next((h for h, _ in picked if h is not None), 0.5)
            py = next((v for _, v in picked if v is not None), 0.5)
        return ImageComponent(
            **common,
            src=c["src"],
            width=float(c["width"]),
            height=float(c["height"]),
            radius=float(c.get("radius", 0)),
            fit=c.get("fit", "cover"),
            position=(px, py),
            border_width=float(c.get("borderWidth", 0)),
            border_color=Color.parse(c.get("borderColor", "#000000")),
            on_error=c.get("onImageError", "error"),
        )
    if kind == "tag":
        style = _style(c, "#ffffff")
        radius = c.get("radius")
        return TagComponent(
            **common,
            text=_clean_text(c["text"], c.get("textTransform", "none")),
            style=style,
            background=Color.parse(c.get("backgroundColor", "#000000")),
            padding_x=float(c.get("paddingX", 0.6 * style.size)),
            padding_y=float(c.get("paddingY", 0.3 * style.size)),
            radius=None if radius is None else float(radius),
            max_width=float(c["maxWidth"]) if "maxWidth" in c else None,
            ellipsis=_clean_text(c.get("ellipsis", "…")),
        )
    width = c.get("width", "medium")
    return DividerComponent(
        **common,
        length=float(c["length"]),
        thickness=DIVIDER_THICKNESS[width] if isinstance(width, str) else float(width),
        vertical=c.get("direction", "horizontal") == "vertical",
        color=Color.parse(c.get("color", "#000000")),
    )


def parse_card(
    spec: SpecInput,
    limits: Limits = DEFAULT_LIMITS,
    scale: float = 1.0,
    base_dir: Path | None = None,
) -> Card:
    """Validate `spec` and resolve it into a `Card`, or raise `SpecError` listing every issue.
    `base_dir` (else a spec file's folder) is the folder relative image paths name."""
    doc, folder = load_document(spec, limits)
    issues: list[Issue] = []
    _check_values(doc, [], limits, issues)
    if issues:
        listed = issues[:MAX_ISSUES]
        more = [_more_issues(len(issues) - MAX_ISSUES)] if len(issues) > MAX_ISSUES else []
        raise SpecError(listed + more)
    issues, errors = _schema_issues(doc)
    if issues:
        raise (LimitError if errors and all(map(_is_limit, errors)) else SpecError)(issues)
    if not 0 < scale <= limits.max_scale or not math.isfinite(scale):
        raise LimitError(
            [
                Issue(
                    "",
                    f"scale must be > 0 and ≤ {limits.max_scale:g} "
                    f"(Limits.max_scale). Received: {scale}.",
                )
            ]
        )
    issues = _semantic_issues(doc)
    if issues:
        raise SpecError(issues)
    issues = _limit_issues(doc, limits, scale)
    if issues:
        raise LimitError(issues)
    background = doc.get("background", "#ffffff")
    return Card(
        width=int(doc["width"]),
        height=int(doc["height"]),
        background=None if background == "transparent" else Color.parse(background),
        components=tuple(_component(i, c) for i, c in enumerate(doc["components"])),
        base_dir=folder if base_dir is None else base_dir,
    )
