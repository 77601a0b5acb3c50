"""Data files to rows of template variables: CSV, JSON, JSON Lines and Markdown front matter.

Takes the paths given to `--data`; returns `Row`s, each with a label that error reports use
("rows.csv row 3", "posts/hello.md"). A file that cannot be read as a whole (not UTF-8, broken
JSON, broken CSV quoting, duplicate CSV headers) is a `DataError`: the command stops before
rendering with exit code 2. A single bad row (a JSON line that is not an object, a CSV row with
more cells than the header) becomes a `Row` with `problem` set, which fails that item only.

- CSV: UTF-8 (a BOM is ignored), the first line is the header, RFC 4180 quoting (quotes,
  commas and newlines inside quoted cells). Every value is a string. A row shorter than the header
  lacks the missing columns, so a template using one reports the variable missing for that row.
  At most `MAX_COLUMNS` (10,000) columns: more than any spreadsheet export for cards needs, and
  each row's variables are a mapping of that many entries, hashed into the manifest; the header
  check is linear (a header of 100,000 columns is refused at once, not checked in minutes).
- JSON: an array of objects. JSON Lines: one object per line, blank lines ignored; labels give the
  line number.
- Markdown (`.md`, `.markdown`): one row per file from its YAML front matter (the block between a
  first line `---` and the next `---`), plus `slug` (the file name without extension) unless the
  front matter sets one. Read with PyYAML's safe loader; dates become text such as `2024-05-01`.
  Aliases (`*name`, and so `<<: *name` merges) are refused, and nesting is bounded at 32 levels:
  an alias lets 600 bytes of YAML stand for gigabytes once a row is hashed or filled, or for a
  value that contains itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

__all__ = ["MAX_COLUMNS", "DataError", "Row", "parse_vars", "read_rows"]

MAX_COLUMNS = 10_000  # columns of a CSV header
_MAX_DEPTH = 32  # nesting of YAML front matter, as Limits.max_json_depth for a spec


class DataError(Exception):
    """A data file or `--var` cannot be used at all."""


@dataclass(frozen=True, slots=True)
class Row:
    label: str  # where the row came from, for reports: "rows.csv row 3"
    values: dict[str, object] = field(default_factory=dict)
    problem: str | None = None  # set when this one row is unusable


def parse_vars(items: list[str]) -> dict[str, object]:
    """`--var key=value` arguments to a mapping (the value is text; it may contain `=`)."""
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            msg = f"--var expects key=value. Received: {item!r}."
            raise DataError(msg)
        out[key.strip()] = value
    return out


def read_rows(paths: list[Path]) -> list[Row]:
    """Every row of every data file, in the order given."""
    rows: list[Row] = []
    for path in paths:
        rows.extend(_read(path))
    return rows


def _read(path: Path) -> Iterator[Row]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as e:
        msg = f"cannot read {path}: {e.strerror}"
        raise DataError(msg) from None
    except UnicodeDecodeError as e:
        msg = f"{path} is not UTF-8: {e.reason} at byte {e.start}"
        raise DataError(msg) from None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv(path, text)
    if suffix == ".json":
        return _json(path, text)
    if suffix == ".jsonl":
        return _jsonl(path, text)
    if suffix in (".md", ".markdown"):
        return iter([_front_matter(path, text)])
    msg = f"{path}: unknown data format {suffix!r}; use .csv, .json, .jsonl or .md"
    raise DataError(msg)


def _csv(path: Path, text: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = list(reader)
    except csv.Error as e:
        msg = f"{path} line {reader.line_num}: {e}"
        raise DataError(msg) from None
    if not records:
        return iter(())
    header = [h.strip() for h in records[0]]
    if len(header) > MAX_COLUMNS:
        msg = f"{path}: the header has {len(header)} columns; at most {MAX_COLUMNS} are accepted"
        raise DataError(msg)
    dupes = sorted(h for h, n in Counter(header).items() if n > 1)
    if dupes or "" in header:
        named = ", ".join(repr(h[:40]) for h in dupes[:10]) or "an empty name"
        msg = f"{path}: the header must name every column once. Repeated or empty: {named}"
        raise DataError(msg)
    rows = []
    for n, cells in enumerate(records[1:], start=1):
        label = f"{path.name} row {n}"
        if not any(cells):
            continue  # a blank line
        if len(cells) > len(header):
            problem = f"{len(cells)} cells, but the header names {len(header)} columns"
            rows.append(Row(label, problem=problem))
            continue
        # A short row simply lacks the last columns.
        rows.append(Row(label, dict(zip(header, cells, strict=False))))
    return iter(rows)


def _json(path: Path, text: str) -> Iterator[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        msg = f"{path} line {e.lineno}, column {e.colno}: {e.msg}"
        raise DataError(msg) from None
    if not isinstance(data, list):
        msg = f"{path}: expected a JSON array of objects. Received: {type(data).__name__}"
        raise DataError(msg)
    return (_object_row(f"{path.name} row {n}", item) for n, item in enumerate(data, start=1))


def _jsonl(path: Path, text: str) -> Iterator[Row]:
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        label = f"{path.name} line {n}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            yield Row(label, problem=f"invalid JSON at column {e.colno}: {e.msg}")
            continue
        yield _object_row(label, item)


def _object_row(label: str, item: Any) -> Row:
    if not isinstance(item, dict):
        return Row(label, problem=f"expected an object. Received: {type(item).__name__}")
    return Row(label, dict(item))


def _front_matter(path: Path, text: str) -> Row:
    import yaml

    values: dict[str, object] = {}
    lines = text.splitlines()
    if lines and lines[0].strip() == "---":
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "...")), 0)
        if not end:
            return Row(str(path), problem="front matter opened with --- is never closed")
        try:
            data = yaml.load("\n".join(lines[1:end]), Loader=_loader())  # a SafeLoader
        except yaml.YAMLError as e:
            return Row(str(path), problem=f"front matter is not valid YAML: {e}")
        if data is not None and not isinstance(data, dict):
            return Row(str(path), problem="front matter must be a mapping of keys to values")
        values = {str(k): v for k, v in (data or {}).items()}
    values.setdefault("slug", path.stem)
    return Row(str(path), values)


@cache
def _loader() -> type:
    """PyYAML's safe loader, refusing aliases and nesting past `_MAX_DEPTH` while composing, so
    neither an expansion nor a recursion ever starts."""
    import yaml
    from yaml.composer import ComposerError

    class FrontMatterLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, "aliases (*name) are not accepted", mark)
            if self.depth >= _MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                msg = f"nested deeper than {_MAX_DEPTH} levels"
                raise ComposerError(None, None, msg, mark)
            self.depth += 1
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    return FrontMatterLoader
