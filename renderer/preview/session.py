"""What `renderer preview` draws: one spec file (a template when data rows are given), rendered
for the view the page asks for, with every failure turned into issues instead of an exception.

Takes the spec path and the `--data` paths; `frame(view)` returns the JSON the page shows (see
`static/app.js`): the image as base64, the render report, the card's size, the document as
rendered (the template filled with the row), the issues with their JSON pointers, the time the
render took, and the rows for the picker. Nothing is cached but the last good frame of each view,
which a failing render shows beside its issues. The files a render depends on (the spec, the data
files, the image files it names at any depth) are what `watched()` returns, for the watcher.

Renders use the library's defaults (files relative to the spec's folder, the safe network policy
for URLs), exactly as `renderer render` would draw the same spec.
"""

from __future__ import annotations

import base64
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderer.api import render
from renderer.batch.rows import DataError, Row, read_rows
from renderer.encode import Format
from renderer.errors import Issue, RenderError, ResourceError, SpecError
from renderer.resources import classify_source
from renderer.spec import load_document
from renderer.templates import fill

__all__ = ["Session", "View", "image_files"]

log = logging.getLogger("renderer.preview")


@dataclass(frozen=True, slots=True)
class View:
    """What the page asks to see."""

    row: int = 0  # index into the data rows; ignored without --data
    format: Format = Format.PNG
    scale: float = 1.0  # device-pixel ratio


@dataclass(frozen=True, slots=True)
class _Drawn:
    """A successful render: what a later failing one shows as the last good render."""

    image: dict[str, Any]
    card: dict[str, Any]
    document: Any
    report: dict[str, Any]


def image_files(doc: Any, base: Path | None) -> set[Path]:
    """Every image file a document names, at any depth (stacks nest components); none for a
    document with no folder of its own (it may read no file)."""
    found: set[Path] = set()
    if base is None:
        return found
    for node in _objects(doc):
        src = node.get("src")
        if node.get("type") == "image" and isinstance(src, str) and classify_source(src) == "path":
            found.add(Path(os.path.abspath(base / src)))
    fonts = doc.get("fonts") if isinstance(doc, dict) else None
    for entry in fonts if isinstance(fonts, list) else ():  # the card's own font files
        src = entry.get("src") if isinstance(entry, dict) else None
        if isinstance(src, str) and classify_source(src) in ("path", "base64"):
            found.add(Path(os.path.abspath(base / src)))
    return found


def font_files(font_dirs: tuple[str, ...]) -> set[Path]:
    """The font files `--font-dir` names (a folder's by suffix): editing one redraws."""
    from ..fonts import FONT_SUFFIXES

    found: set[Path] = set()
    for item in font_dirs:
        path = Path(os.path.abspath(item))
        if path.is_dir():
            found |= {p for p in path.rglob("*") if p.suffix.lower() in FONT_SUFFIXES}
        else:
            found.add(path)
    return found


def _with_row(issue: Issue, label: str) -> Issue:
    """A row's failure names the row, whichever stage found it."""
    return issue if label in issue.message else Issue(issue.pointer, f"{issue.message} ({label})")


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


class Session:
    """One spec and its data files; not thread-safe (the server renders one frame at a time)."""

    def __init__(self, spec: Path, data: list[Path], font_dirs: tuple[str, ...] = ()) -> None:
        self.name = str(spec)  # as the user gave it, for the page
        self.spec = Path(os.path.abspath(spec))
        self.data = [Path(os.path.abspath(p)) for p in data]
        self.font_dirs = font_dirs  # --font-dir: registered fonts, watched like the spec
        self._images: set[Path] = set()
        self._good: dict[View, _Drawn] = {}
        self._latest: _Drawn | None = None

    def watched(self) -> set[Path]:
        return {self.spec, *self.data, *self._images, *font_files(self.font_dirs)}

    def frame(self, view: View, version: int = 0) -> dict[str, Any]:
        started = time.perf_counter()
        rows, issues = self._rows()
        row = min(max(view.row, 0), len(rows) - 1) if rows else 0
        out: dict[str, Any] = {
            "source": self.name,
            "version": version,
            "rows": [{"label": r.label, "problem": r.problem} for r in rows] if self.data else None,
            "row": row,
        }
        drawn = None
        if not issues:
            drawn, issues = self._draw(view, rows[row] if rows else None)
            if rows:
                issues = [_with_row(i, rows[row].label) for i in issues]
        out["renderMs"] = round((time.perf_counter() - started) * 1000, 1)
        out["issues"] = [i.as_dict() for i in issues]
        if drawn is not None:
            self._good[view] = self._latest = drawn
        shown = drawn or self._good.get(view) or self._latest
        out["stale"] = drawn is None and shown is not None
        if shown is not None:
            out.update(image=shown.image, card=shown.card, document=shown.document)
            out["report"] = shown.report
        else:
            out.update(image=None, card=None, document=None, report=None)
        return out

    def _rows(self) -> tuple[list[Row], list[Issue]]:
        if not self.data:
            return [], []
        try:
            rows = read_rows(self.data)
        except DataError as e:
            return [], [Issue("", str(e))]
        if not rows:
            names = ", ".join(p.name for p in self.data)
            return [], [Issue("", f"{names}: no data rows.")]
        return rows, []

    def _draw(self, view: View, row: Row | None) -> tuple[_Drawn | None, list[Issue]]:
        """Render the view; (the drawing, []) or (None, every issue)."""
        try:
            doc, base = load_document(self.spec)
            if row is not None:
                if row.problem:
                    return None, [Issue("", row.problem)]
                doc = fill(doc, row.values, row=row.label)
            self._images = image_files(doc, base)
            data, report = render(
                doc,
                view.format,
                scale=view.scale,
                base_dir=base,
                report=True,
                fonts=self.font_dirs or None,
            )
        except (SpecError, ResourceError) as e:
            return None, list(e.issues) or [Issue("", str(e))]
        except (RenderError, ValueError) as e:
            return None, [Issue("", str(e))]
        except Exception as e:  # the page shows it; the preview keeps running
            log.exception("render failed")
            return None, [Issue("", f"Internal error: {type(e).__name__}: {e}")]
        image = {
            "content_type": view.format.content_type,
            "base64_data": base64.b64encode(data).decode("ascii"),
        }
        card = {"width": doc["width"], "height": doc["height"]}
        return _Drawn(image, card, doc, report.to_dict()), []
