"""The render report: what was laid out where, so a CI job can tell that a title did not fit or a
glyph is missing without looking at the picture.

Built from the `CardLayout` after layout (it never changes the image). `to_dict()` is the JSON
shape `renderer render --report` writes: `{"components": [...]}`, every node of the tree in spec
order (a stack before its children), each with `pointer`, `type`, `box` and, for text and tags,
`lines`, `fontSize`, `clamped`, `overflow`, `faces`, `missing` and `runs` (per line, each run's
text with the face, file and size that drew it), and for text `shrunk` (fitted
below `maxFontSize`) and `pushed` (its lines moved the stack's next children); an image drawn as
a placeholder (`onImageError`) adds `placeholder` and its `error`; a component drawn turned
(its own `rotate`, or a stack's holding it) adds `rotate` (its own, degrees) and `bounds`, the
axis-aligned box it covers on the card once turned (`box` stays as laid out, unturned); a
component wholly off the canvas has `offCanvas: true` and a hidden one `hidden: true` (neither
was laid out or drawn, nor are their children listed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from typing_extensions import assert_never

from .geometry import bounds
from .layout import (
    Box,
    CardLayout,
    DividerBox,
    ImageBox,
    LayoutBox,
    QrBox,
    ShapeBox,
    StackBox,
    TagBox,
    TextBox,
    on_card,
)
from .model import (
    Component,
    DividerComponent,
    ImageComponent,
    Length,
    QrComponent,
    ShapeComponent,
    StackComponent,
    TagComponent,
    TextComponent,
)

__all__ = ["ComponentReport", "Report", "build_report"]


@dataclass(frozen=True, slots=True)
class ComponentReport:
    """What happened to one component: where it landed and what fitting changed, so a user
    can see why a card looks as it does."""

    pointer: str
    type: str  # text | image | tag | divider | shape | qr | stack
    box: Box  # as laid out, px
    lines: tuple[str, ...] | None = None  # text and tag only
    font_size: float | None = None  # px, after fontSize "auto"
    clamped: bool = False  # text was cut (maxLines, frameHeight, maxWidth)
    overflow: bool = False  # a line is wider than its frame, or a first line taller
    faces: dict[str, str] | None = None  # face name -> characters it drew
    missing: tuple[str, ...] = ()  # characters drawn as .notdef
    image_error: str | None = None  # image only: why a placeholder was drawn instead
    off_canvas: bool = False  # wholly off the canvas: not loaded, laid out or drawn
    hidden: bool = False  # `hidden`, or empty with `hideIfEmpty`: not laid out or drawn
    shrunk: bool = False  # text: fontSize "auto" chose a size below maxFontSize
    pushed: bool = False  # text in a column stack: its lines moved the next children down
    # text and tag: per line, each run's text and the face that drew it (name, file, size)
    runs: list[list[dict[str, object]]] | None = None
    rotate: float = 0.0  # degrees, its own rotation about its anchor point
    bounds: Box | None = None  # turned (its own or a stack's rotation): where it lands, px

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pointer": self.pointer,
            "type": self.type,
            "box": {
                "x": round(self.box.x, 3),
                "y": round(self.box.y, 3),
                "width": round(self.box.width, 3),
                "height": round(self.box.height, 3),
            },
        }
        if self.lines is not None:
            out.update(
                lines=list(self.lines),
                fontSize=self.font_size,
                clamped=self.clamped,
                overflow=self.overflow,
                faces=self.faces,
                missing=list(self.missing),
                runs=self.runs,
            )
        if self.type == "text" and self.lines is not None:
            out.update(shrunk=self.shrunk, pushed=self.pushed)
        if self.image_error is not None:
            error = {"pointer": self.pointer + "/src", "message": self.image_error}
            out.update(placeholder=True, error=error)
        if self.bounds is not None:
            out["rotate"] = self.rotate
            out["bounds"] = {
                "x": round(self.bounds.x, 3),
                "y": round(self.bounds.y, 3),
                "width": round(self.bounds.width, 3),
                "height": round(self.bounds.height, 3),
            }
        if self.off_canvas:
            out["offCanvas"] = True
        if self.hidden:
            out["hidden"] = True
        return out


@dataclass(frozen=True, slots=True)
class Report:
    """The render report: one entry per component, in document order."""

    components: tuple[ComponentReport, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"components": [c.to_dict() for c in self.components]}

    @property
    def problems(self) -> list[str]:
        """What `--strict` fails on: missing glyphs, clamped or overflowing text."""
        out = []
        for c in self.components:
            if c.missing:
                out.append(f"{c.pointer}: no bundled font has {' '.join(c.missing)!r}")
            if c.clamped:
                out.append(f"{c.pointer}: the text did not fit and was cut")
            if c.overflow:
                out.append(f"{c.pointer}: a line is wider than the frame")
            if c.image_error is not None:
                out.append(f"{c.pointer}/src: a placeholder was drawn: {c.image_error}")
        return out


def _as_drawn(text: str) -> str:
    """A line's text as the card shows it: soft hyphens (U+00AD) are invisible, and a line
    broken at one already ends with the hyphen drawn there."""
    return text.replace("\u00ad", "")


def _text(b: TextBox | TagBox, kind: str) -> ComponentReport:
    t = b.text
    auto = b.component.auto_size if isinstance(b, TextBox) else None
    return ComponentReport(
        b.component.pointer,
        kind,
        b.box,
        tuple(_as_drawn(line.text) for line in t.lines),
        t.font_size,
        t.clamped,
        t.overflow,
        t.faces,
        t.missing,
        shrunk=auto is not None and t.font_size < auto[1],
        pushed=isinstance(b, TextBox) and b.pushed,
        runs=[[{**r, "text": _as_drawn(str(r["text"]))} for r in line] for line in t.runs],
    )


def _entry(b: LayoutBox, errors: dict[str, str]) -> ComponentReport:
    match b:
        case TextBox():
            return _text(b, "text")
        case TagBox():
            return _text(b, "tag")
        case ImageBox():
            error = errors.get(b.component.pointer + "/src")
            return ComponentReport(b.component.pointer, "image", b.box, image_error=error)
        case DividerBox():
            return ComponentReport(b.component.pointer, "divider", b.box)
        case ShapeBox():
            return ComponentReport(b.component.pointer, "shape", b.box)
        case QrBox():
            return ComponentReport(b.component.pointer, "qr", b.box)
        case StackBox():
            return ComponentReport(b.component.pointer, "stack", b.box)
        case _:
            assert_never(b)


def _unlaid(c: Component, *, hidden: bool) -> ComponentReport:
    """A component that was not laid out: its box as far as its own numbers fix it (zero-sized
    at its anchor point when it would have fitted its content; percentages left unresolved)."""

    def px(v: Length | None) -> float:
        return v if isinstance(v, float | int) else 0.0

    w = h = 0.0
    match c:
        case ImageComponent() | ShapeComponent():
            w, h = px(c.width), px(c.height)
        case QrComponent():
            w = h = c.size
        case DividerComponent():
            w, h = (c.thickness, px(c.length)) if c.vertical else (px(c.length), c.thickness)
        case TextComponent():
            w, h = px(c.frame_width), px(c.frame_height)
        case StackComponent():
            w, h = px(c.width), px(c.height)
        case TagComponent():
            pass
        case _:
            assert_never(c)
    fx, fy = c.anchor.fractions
    box = Box(px(c.x) - fx * w, px(c.y) - fy * h, w, h)
    kind = type(c).__name__.removesuffix("Component").lower()
    return ComponentReport(c.pointer, kind, box, off_canvas=not hidden, hidden=hidden)


def _order(pointer: str) -> tuple[int, ...]:
    """Spec order of a pointer: /components/2/children/0 → (2, 0)."""
    return tuple(int(part) for part in pointer.split("/")[2::2])


def build_report(layout: CardLayout, errors: dict[str, str] | None = None) -> Report:
    """Every node's entry; `errors` are the placeholders' (`Resources.errors`)."""
    found = errors or {}
    entries = []
    for b, turn in on_card(layout):
        entry = _entry(b, found)
        if turn is not None:
            rotate = b.rotation.degrees if b.rotation is not None else 0.0
            entry = replace(entry, rotate=rotate, bounds=bounds(turn, b.box))
        entries.append(entry)
    entries += [_unlaid(c, hidden=False) for c in layout.off_canvas]
    entries += [_unlaid(c, hidden=True) for c in layout.hidden]
    return Report(tuple(sorted(entries, key=lambda e: _order(e.pointer))))
