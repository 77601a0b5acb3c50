"""Strict JSON: untrusted text, bytes, a path or a dict in; a JSON value and its folder out.

A document is read as strict JSON: no NaN/Infinity, no duplicate keys, bounded size, items,
nesting and number literals, no lone surrogates. What the JSON parser itself cannot refuse is
marked while parsing (`_Bad`, `_Object.duplicates`) and reported with its pointer by
`check_values`, so one `SpecError` lists every such problem.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import Issue, LimitError, SpecError
from ..limits import DEFAULT_LIMITS, Limits

__all__ = ["SpecInput", "check_values", "load_document", "pointer"]

SpecInput = dict[str, Any] | str | bytes | os.PathLike[str]


class _Bad:
    """A JSON value the strict reader refused; reported with its pointer by `check_values`."""

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
# A JSON string literal, "unrolled" (a run of plain characters, then escapes each followed by a
# run): the same strings as `"(?:[^"\\]|\\.)*"`, but that form makes the regex engine keep a
# frame per character, ~115 bytes each, so one 4.5 MB string cost 520 MB to skip.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


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


def pointer(parts: Iterator[Any] | list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def check_values(node: Any, path: list[Any], limits: Limits, out: list[Issue]) -> None:
    """Refuse what JSON Schema cannot see: bad literals, duplicates, depth, surrogates, NaN."""
    if len(path) > limits.max_json_depth:
        out.append(Issue(pointer(path), f"Nested deeper than {limits.max_json_depth} levels."))
        return
    if isinstance(node, _Bad):
        out.append(Issue(pointer(path), node.reason))
    elif isinstance(node, float) and not math.isfinite(node):
        out.append(
            Issue(
                pointer(path),
                "Numbers must be finite. Received: a value that overflows to infinity or is NaN.",
            )
        )
    elif (
        isinstance(node, int)
        and not isinstance(node, bool)
        and abs(node).bit_length() > limits.max_number_digits * 4
    ):
        out.append(Issue(pointer(path), "Integer too large."))
    elif isinstance(node, str):
        _check_string(node, path, out)
    elif isinstance(node, dict):
        for key in getattr(node, "duplicates", ()):
            out.append(Issue(pointer([*path, key]), f"Duplicate key {key!r}."))
        for key, value in node.items():
            if not isinstance(key, str):
                out.append(Issue(pointer(path), f"Object keys must be strings. Received: {key!r}."))
                continue
            _check_string(key, [*path, key], out)
            check_values(value, [*path, key], limits, out)
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            check_values(value, [*path, i], limits, out)
    elif node is not None and not isinstance(node, bool | int | float):
        out.append(Issue(pointer(path), f"Not a JSON value: {type(node).__name__}."))


def _check_string(s: str, path: list[Any], out: list[Issue]) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        out.append(Issue(pointer(path), "The string contains a lone surrogate (invalid Unicode)."))
