"""The render report: what was laid out where, so a CI job can tell that a title did not fit or a
glyph is missing without looking at the picture.

Built from the `CardLayout` after layout (it never changes the image). `to_dict()` is the JSON
shape `renderer render --report` writes: `{"components": [...]}` in spec order, each with
`pointer`, `type`, `box` and, for text and tags, `lines`, `fontSize`, `clamped`, `overflow`,
`faces` and `missing`; an image drawn as a placeholder (`onImageError`) adds `placeholder` and
its `error`; a component wholly off the canvas (not laid out or drawn) has `offCanvas: true`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .layout import Box, CardLayout, DividerBox, ImageBox, TagBox, TextBox
from .model import Component, DividerComponent, ImageComponent, TagComponent, TextComponent

__all__ = ["ComponentReport", "Report", "build_report"]


@dataclass(frozen=True, slots=True)
class ComponentReport:
    pointer: str
    type: str  # text | image | tag | divider
    box: Box  # as laid out, px
    lines: tuple[str, ...] | None = None  # text and tag only
    font_size: float | None = None  # px, after fontSize "auto"
    clamped: bool = False  # text was cut (maxLines, frameHeight, maxWidth)
    overflow: bool = False  # a line is wider than its frame
    faces: dict[str, str] | None = None  # face name -> characters it drew
    missing: tuple[str, ...] = ()  # characters drawn as .notdef
    image_error: str | None = None  # image only: why a placeholder was drawn instead
    off_canvas: bool = False  # wholly off the canvas: not loaded, laid out or drawn

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
            )
        if self.image_error is not None:
            error = {"pointer": self.pointer + "/src", "message": self.image_error}
            out.update(placeholder=True, error=error)
        if self.off_canvas:
            out["offCanvas"] = True
        return out


@dataclass(frozen=True, slots=True)
class Report:
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


def _entry(b: TextBox | TagBox | ImageBox | DividerBox) -> ComponentReport:
    match b:
        case TextBox() | TagBox():
            t = b.text
            return ComponentReport(
                b.component.pointer,
                "text" if isinstance(b, TextBox) else "tag",
                b.box,
                tuple(line.text for line in t.lines),
                t.font_size,
                t.clamped,
                t.overflow,
                t.faces,
                t.missing,
            )
        case ImageBox():
            return ComponentReport(b.component.pointer, "image", b.box, image_error=b.image.error)
        case DividerBox():
            return ComponentReport(b.component.pointer, "divider", b.box)


def _off_canvas(c: Component) -> ComponentReport:
    """A component that was not laid out: its box as far as its own numbers fix it (zero-sized
    at its anchor point when it would have fitted its content)."""
    w, h = 0.0, 0.0
    match c:
        case ImageComponent():
            w, h = c.width, c.height
        case DividerComponent():
            w, h = (c.thickness, c.length) if c.vertical else (c.length, c.thickness)
        case TextComponent():
            w, h = c.frame_width or 0.0, c.frame_height or 0.0
        case TagComponent():
            pass
    fx, fy = c.anchor.fractions
    box = Box(c.x - fx * w, c.y - fy * h, w, h)
    kind = type(c).__name__.removesuffix("Component").lower()
    return ComponentReport(c.pointer, kind, box, off_canvas=True)


def _index(pointer: str) -> int:
    return int(pointer.rsplit("/", 1)[1])


def build_report(layout: CardLayout) -> Report:
    entries = [_entry(b) for b in layout.boxes] + [_off_canvas(c) for c in layout.off_canvas]
    return Report(tuple(sorted(entries, key=lambda e: _index(e.pointer))))
