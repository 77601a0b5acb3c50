"""Schema errors as sentences: a document in, every way it fails the card schema out.

The schema (`schemas/card.schema.json`) is the one source of truth. jsonschema-rs decides
whether a document is valid (fast); only an invalid one is walked by `jsonschema` for messages,
each an `Issue` with a JSON pointer, the allowed values and what was received, at most
`MAX_ISSUES` of them.
"""

from __future__ import annotations

import copy
import difflib
import json
from functools import cache
from typing import TYPE_CHECKING, Any

from ..data import data_dir
from ..errors import Issue
from .strict import pointer

if TYPE_CHECKING:  # imported when a spec is invalid: a valid one never needs it (35 ms)
    import jsonschema

__all__ = ["MAX_ISSUES", "is_limit", "more_issues", "schema", "schema_issues"]

MAX_ISSUES = 100  # issues one SpecError lists; the rest are counted in a last issue
_LIMIT_FIELDS = {
    "width",
    "height",
    "components",
    "children",
    "fontSize",
    "text",
    "stops",
    "shadow",
    "textShadow",
    "blur",
}


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
    import jsonschema

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


def schema_issues(doc: Any) -> tuple[list[Issue], list[jsonschema.ValidationError]]:
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
        issues.append(more_issues(more - len(issues)))
    if not issues:  # the two validators disagree: trust the stricter, in its own words
        issues = [
            Issue(pointer(e.instance_path), f"{e.message}.") for e in _gate().iter_errors(doc)
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
    maximum) or inside the value (a gradient object's bad stop), that branch's error says
    more than "matches none of". Nested `anyOf`s (a paint inside a background) are looked
    through."""
    if error.validator == "anyOf" and error.context:
        # a pattern's failure is no better than "matches none of": "wide" is not a
        # percentage, but it was not meant as one either
        skip = ("type", "const", "enum", "pattern")
        depth = len(error.absolute_path)
        bounded = [
            e for e in _branches(error) if e.validator not in skip or len(e.absolute_path) > depth
        ]
        if bounded:
            return bounded[0]
    return error


def _branches(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """The errors of an `anyOf`'s branches, a nested `anyOf` at the same place flattened."""
    out: list[jsonschema.ValidationError] = []
    for e in error.context or []:
        same_place = len(e.absolute_path) == len(error.absolute_path)
        if e.validator == "anyOf" and same_place and e.context:
            out += _branches(e)
        else:
            out.append(e)
    return out


def more_issues(n: int) -> Issue:
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
    where = pointer(path)
    v, received = error.validator, f" Received: {_show(error.instance)}."
    sub = error.schema if isinstance(error.schema, dict) else {}
    if v == "additionalProperties":
        allowed = sorted(sub.get("properties", {}))
        extra = _extra_keys(error)[:at_most]
        return [
            Issue(
                pointer([*path, k]),
                f"Unknown property {k!r}.{_suggest(k, allowed)} Allowed: {', '.join(allowed)}.",
            )
            for k in extra
        ]
    if v == "required":
        name = error.message.split("'")[1]
        return [Issue(pointer([*path, name]), f"Required property {name!r} is missing.")]
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


def is_limit(error: jsonschema.ValidationError) -> bool:
    error = _specific(error)
    field = next((p for p in reversed(error.absolute_path) if isinstance(p, str)), "")
    return error.validator in ("maximum", "maxItems", "maxLength") and field in _LIMIT_FIELDS
