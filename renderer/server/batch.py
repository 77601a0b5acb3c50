"""`POST /api/v1/batch` bodies: the request's JSON in, a `BatchRequest` of planned items out.

A body is either `{"items": [card, ...]}` or `{"template": card, "rows": [{...}, ...]}`, plus the
options `format`, `scale`, `quality`, `callback_url`, `output` (`storage://NAME/path/`),
`overwrite` (replace this key's own files in storage) and `name` (a pattern for output file
names, filled like a template). The body is read with the same strict JSON reader as a card
(duplicate keys, NaN and huge literals are caught, not silently resolved).

Two kinds of problem, kept apart: a problem with the request as a whole (not an object, an unknown
option, too many items, a bad format or storage location) raises `BatchInvalid`, which the
endpoint answers with 400 before a job exists; a problem with one item (not an object, a missing
template variable, a row value that is a list, a name that leads outside the folder) becomes that
item's `ItemError`, and the rest of the batch goes on. Item pointers are pointers into the
request: `/items/3/components/0/color`, or `/template/...` with the row named in the message, so
a client can find the fault in what it sent. Cards themselves are validated by the render workers,
which report the same way.

Rows are filled by `renderer.templates.fill`: values are inserted as text into the parsed
template, never into JSON text, so a row cannot add keys, components or images. Planning does not
fill the cards: a template item carries the template and its row, and the render worker fills it
(under `Limits.max_filled_bytes`), so the server process never holds what a small body can
expand to (a 60 KB body once built a 100 MB string per row here). Only output names are filled
here, bounded by `_MAX_FILLED_NAME`, and the server's gate fills just the `type` and `src` of each
component, within the same bound as the worker, to check image sources (`gate_view`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, NoReturn

from renderer.encode import FORMAT_NAMES, Format
from renderer.errors import Issue, SpecError
from renderer.limits import DEFAULT_LIMITS
from renderer.spec import load_document
from renderer.templates import fill

from .storage import Location, Storage, StorageRefused, safe_relative

__all__ = ["BatchInvalid", "BatchRequest", "ItemError", "PlannedItem", "gate_view", "parse_batch"]

OPTIONS = ("format", "scale", "quality", "callback_url", "output", "overwrite", "name")
_FORMATS = FORMAT_NAMES
_MAX_URL = 2048  # characters of callback_url, as ImagePolicy.max_url_length
_MAX_NAME = 255  # characters of the name pattern
_MAX_FILLED_NAME = 1024  # characters of a name once filled from its row
_NAME_LIMITS = dataclasses.replace(DEFAULT_LIMITS, max_filled_bytes=_MAX_FILLED_NAME)


class BatchInvalid(Exception):
    """The request as a whole is refused; `issues` are `{"pointer", "message"}` dicts."""

    def __init__(self, issues: list[dict[str, str]]) -> None:
        super().__init__(issues[0]["message"] if issues else "invalid batch")
        self.issues = issues


def _refuse(pointer: str, message: str) -> NoReturn:
    raise BatchInvalid([{"pointer": pointer, "message": message}])


@dataclass(frozen=True, slots=True)
class ItemError:
    """Why one item produced no image: a short error and its issues (pointer, message)."""

    error: str
    details: tuple[tuple[str, str], ...]

    def as_dict(self, index: int) -> dict[str, Any]:
        return {
            "index": index,
            "status": "error",
            "error": self.error,
            "details": [{"pointer": p, "message": m} for p, m in self.details],
        }


@dataclass(frozen=True, slots=True)
class PlannedItem:
    index: int
    # The card to render (the template, with `variables`), parsed or, once the server has gated
    # it, `worker.Packed`; None on `error`.
    spec: Any
    name: str  # output file name relative to the output folder; "" when naming failed
    prefix: str  # pointer of this item's card in the request: "/items/3" or "/template"
    row: str | None  # "row 3" in template mode, added to the messages of this item's errors
    error: ItemError | None = None
    variables: Mapping[str, object] | None = None  # the row (and index) the worker fills with

    def failed(self, error: str, details: list[dict[str, str]]) -> ItemError:
        """A worker's or gate's issues (pointers into the card) as pointers into the request."""
        where = f" ({self.row})" if self.row else ""
        return ItemError(
            error,
            tuple(
                (self.prefix + d.get("pointer", ""), d.get("message", "") + where) for d in details
            ),
        )


@dataclass(frozen=True, slots=True)
class BatchRequest:
    items: tuple[PlannedItem, ...]
    format: Format
    scale: float
    quality: int | None
    callback_url: str | None
    output: Location | None
    overwrite: bool = False  # replace files in storage this key wrote before


def parse_batch(
    body: bytes, *, max_items: int, max_body_bytes: int, max_scale: float, storage: Storage
) -> BatchRequest:
    """The planned batch, or `BatchInvalid` naming every problem with the request itself."""
    limits = dataclasses.replace(
        DEFAULT_LIMITS, max_json_bytes=max(max_body_bytes, DEFAULT_LIMITS.max_json_bytes)
    )
    try:
        doc, _ = load_document(body, limits)
    except SpecError as e:
        raise BatchInvalid([i.as_dict() for i in e.issues]) from None
    if not isinstance(doc, dict):
        _refuse("", 'Expected a JSON object: {"items": [...]} or {"template", "rows"}.')
    issues = [
        {"pointer": f"/{k}", "message": f"Duplicate key {k!r}."}
        for k in getattr(doc, "duplicates", ())
    ]
    allowed = ("items", "template", "rows", *OPTIONS)
    issues += [
        {"pointer": f"/{k}", "message": f"Unknown property {k!r}. Allowed: {', '.join(allowed)}."}
        for k in doc
        if k not in allowed
    ]
    if issues:
        raise BatchInvalid(issues)
    fmt, scale, quality = _render_options(doc, max_scale)
    callback = doc.get("callback_url")
    if "callback_url" in doc and (  # null is not a URL
        not isinstance(callback, str) or not 0 < len(callback) <= _MAX_URL
    ):
        _refuse("/callback_url", f"Expected an http(s) URL of at most {_MAX_URL} characters.")
    output = None
    if "output" in doc:
        if not isinstance(doc["output"], str):
            _refuse("/output", "Expected storage://NAME/path/.")
        try:
            output = storage.locate(doc["output"])
        except StorageRefused as e:
            _refuse("/output", str(e))
    overwrite = doc.get("overwrite", False)
    if not isinstance(overwrite, bool):
        _refuse("/overwrite", f"Expected true or false. Received: {_show(overwrite)}.")
    if "overwrite" in doc and output is None:
        _refuse("/overwrite", "Only with output: images in the job itself are never shared.")
    pattern = doc.get("name")
    if "name" in doc and (not isinstance(pattern, str) or not 0 < len(pattern) <= _MAX_NAME):
        _refuse("/name", f"Expected a file name pattern of 1 to {_MAX_NAME} characters.")
    items = _plan_items(doc, max_items, fmt, pattern, output is not None)
    return BatchRequest(items, fmt, scale, quality, callback, output, overwrite)


def _render_options(doc: Mapping[str, Any], max_scale: float) -> tuple[Format, float, int | None]:
    fmt = doc.get("format", "png")
    if not isinstance(fmt, str) or fmt.strip().lower() not in _FORMATS:
        _refuse("/format", f"Allowed: {', '.join(_FORMATS)}. Received: {_show(fmt)}.")
    scale = doc.get("scale", 1)
    if (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not (math.isfinite(scale) and 0 < scale <= max_scale)
    ):
        _refuse("/scale", f"Expected a number, 0 < scale ≤ {max_scale:g}.")
    quality = doc.get("quality")
    if "quality" in doc and (  # null too: the API says an integer, absent means the default
        isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100
    ):
        _refuse("/quality", f"Expected an integer 1-100. Received: {_show(quality)}.")
    return Format.parse(fmt), float(scale), quality


def _show(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        return repr(value)[:60]
    return type(value).__name__


def _plan_items(
    doc: Mapping[str, Any], max_items: int, fmt: Format, pattern: str | None, unique: bool
) -> tuple[PlannedItem, ...]:
    if "items" in doc and ("template" in doc or "rows" in doc):
        _refuse("", "Give either items, or template and rows; not both.")
    if "items" in doc:
        sources, key = doc["items"], "/items"
    elif "template" in doc and "rows" in doc:
        sources, key = doc["rows"], "/rows"
        if not isinstance(doc["template"], dict):
            _refuse("/template", "Expected a card object with {{ name }} placeholders.")
    else:
        _refuse("", "Expected items, or template and rows.")
    if not isinstance(sources, list) or not 0 < len(sources) <= max_items:
        _refuse(key, f"Expected an array of 1 to {max_items} entries (max_batch_items).")
    planned: list[PlannedItem] = []
    names: dict[str, int] = {}
    for i, source in enumerate(sources):
        item = _plan_one(doc, i, source, fmt, pattern)
        if unique and item.error is None:
            first = names.setdefault(item.name, i)
            if first != i:
                message = f"The output name {item.name!r} is already used by item {first}."
                item = dataclasses.replace(
                    item, spec=None, error=ItemError("Invalid name", (("/name", message),))
                )
        planned.append(item)
    return tuple(planned)


def _plan_one(
    doc: Mapping[str, Any], i: int, source: Any, fmt: Format, pattern: str | None
) -> PlannedItem:
    if "items" in doc:
        item = PlannedItem(i, source, "", f"/items/{i}", None)
        if not isinstance(source, dict):
            return _fail(item, "Invalid parameters", "", "Expected a card object.")
        variables: dict[str, object] = {"index": i}
    else:
        item = PlannedItem(i, None, "", "/template", f"row {i}")
        problem = _row_problem(source, i)
        if problem:
            return dataclasses.replace(
                item, error=ItemError("Invalid row", ((problem[0], problem[1] + f" (row {i})"),))
            )
        variables = {"index": i, **source}
        item = dataclasses.replace(item, spec=doc["template"], variables=variables)
    try:
        name = _name(pattern, variables, fmt, f"row {i}" if item.row else None)
    except SpecError as e:
        return dataclasses.replace(
            item, spec=None, error=ItemError("Invalid name", _prefixed("/name", e))
        )
    return dataclasses.replace(item, name=name)


def _fail(item: PlannedItem, error: str, pointer: str, message: str) -> PlannedItem:
    return dataclasses.replace(
        item, spec=None, error=item.failed(error, [{"pointer": pointer, "message": message}])
    )


def _prefixed(prefix: str, e: SpecError) -> tuple[tuple[str, str], ...]:
    return tuple((prefix + i.pointer, i.message) for i in e.issues)


def _row_problem(row: Any, i: int) -> tuple[str, str] | None:
    """A row must be an object of strings, finite numbers and booleans (null counts as missing)."""
    if not isinstance(row, dict):
        return f"/rows/{i}", "Expected an object of variables."
    for key in getattr(row, "duplicates", ()):
        return f"/rows/{i}/{_escape(key)}", f"Duplicate key {key!r}."
    for key, value in row.items():
        if value is None or isinstance(value, str | bool | dict | list):
            continue  # null, lists and objects are reported by fill, with the placeholder
        if isinstance(value, int | float) and math.isfinite(value):
            continue
        return f"/rows/{i}/{_escape(key)}", "Expected a string, a finite number or a boolean."
    return None


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _name(
    pattern: str | None, variables: Mapping[str, object], fmt: Format, row: str | None
) -> str:
    """The checked output file name of one item: the pattern filled, with the format's extension."""
    if pattern is None:
        return f"item-{variables['index']}.{fmt.extension}"
    text = fill(pattern, variables, row=row, limits=_NAME_LIMITS)
    assert isinstance(text, str)
    try:
        rel = safe_relative(text, "The output name")
    except StorageRefused as e:
        raise SpecError([Issue("", f"{e}. Received: {text[:100]!r}.")]) from None
    try:
        suffix: Format | None = Format.parse(rel.suffix) if rel.suffix else None
    except ValueError:
        suffix = None
    if suffix is None:
        return str(PurePosixPath(f"{rel}.{fmt.extension}"))
    if suffix is not fmt:
        message = (
            f"The extension of {rel.name!r} says {suffix.value}, but the format is {fmt.value}."
        )
        raise SpecError([Issue("", message)])
    return str(rel)


def gate_view(item: PlannedItem) -> Any:
    """What the server's document gate looks at for one item: the card itself, or for a template
    item its components' `type` and `src` filled from the row, in one `fill` under the worker's
    `Limits.max_filled_bytes` (so at most that much, and only while the gate looks). None when
    that fill fails: the worker's fill of the whole card fails the same way and reports it."""
    if item.variables is None or not isinstance(item.spec, dict):
        return item.spec
    components = item.spec.get("components")
    if not isinstance(components, list):
        return item.spec
    view = {
        "components": [
            {k: c[k] for k in ("type", "src") if k in c} if isinstance(c, dict) else c
            for c in components
        ]
    }
    try:
        return fill(view, item.variables)
    except SpecError:
        return None
