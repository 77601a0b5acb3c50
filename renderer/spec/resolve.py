"""Resolving a valid document: component objects in, the model's frozen components out.

One function per component type (`RESOLVERS`), each applying that type's defaults and turning
keywords into numbers; a stack resolves its children with the same table, so adding a type is
one function and one entry here. Only valid documents get here: the schema has checked every
value's type and range.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..model import (
    Anchor,
    Color,
    Component,
    DividerComponent,
    Filter,
    FlexItem,
    ImageComponent,
    Length,
    LinearGradient,
    Paint,
    Percent,
    QrComponent,
    RadialGradient,
    Shadow,
    ShapeComponent,
    Span,
    StackComponent,
    Stroke,
    TagComponent,
    TextComponent,
    TextStyle,
)
from ..model import Stop as GradientStop
from ..text.bidi import BIDI_CONTROLS

__all__ = ["DIVIDER_THICKNESS", "RESOLVERS", "component", "paint"]

DIVIDER_THICKNESS = {"thin": 1.0, "medium": 3.0, "thick": 5.0}  # px, CSS border-width keywords
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NO_BIDI_CONTROLS = dict.fromkeys(map(ord, BIDI_CONTROLS))
_WORD_START = re.compile(r"(?<![\w'’])\w")


def length(value: Any) -> Length:
    """A number of px, or a percentage string ("50%") as a `Percent`."""
    if isinstance(value, str):
        return Percent(float(value.rstrip("%")) / 100)
    return float(value)


def paint(value: Any) -> Paint:
    """A hex colour, or a gradient object with its defaults applied."""
    if isinstance(value, str):
        return Color.parse(value)
    stops = _stops(value["stops"])
    if value["gradient"] == "linear":
        return LinearGradient(float(value.get("angle", 180)), stops)
    cx, cy = value.get("center", [0.5, 0.5])
    return RadialGradient(
        value.get("shape", "ellipse") == "circle",
        value.get("extent", "farthest-corner"),
        (float(cx), float(cy)),
        stops,
    )


def _stops(raw: list[dict[str, Any]]) -> tuple[GradientStop, ...]:
    """CSS's rules for stop positions, in its order: the first defaults to 0 and the last to
    1; an offset below an earlier one is raised to it; a run of stops without one is spread
    evenly between its neighbours."""
    offsets: list[float | None] = [s.get("offset") for s in raw]
    offsets[0] = 0.0 if offsets[0] is None else offsets[0]
    offsets[-1] = 1.0 if offsets[-1] is None else offsets[-1]
    floor = 0.0
    for i, o in enumerate(offsets):
        if o is not None:
            floor = offsets[i] = max(floor, float(o))
    known = [i for i, o in enumerate(offsets) if o is not None]
    for a, b in zip(known, known[1:], strict=False):
        start, end = offsets[a] or 0.0, offsets[b] or 0.0
        for i in range(a + 1, b):
            offsets[i] = start + (end - start) * (i - a) / (b - a)
    return tuple(
        GradientStop(Color.parse(stop["color"]), offset or 0.0)
        for stop, offset in zip(raw, offsets, strict=True)
    )


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
        color=paint(c.get("color", default_color)),
        line_height=float(c.get("lineHeight", 1.2)),
        letter_spacing=float(c.get("letterSpacing", 0)),
        lang=c.get("lang"),
        decoration=c.get("textDecoration", "none"),
    )


def _span_style(base: TextStyle, s: dict[str, Any]) -> TextStyle:
    """A span's style: what it sets over the component's. Under `fontSize: "auto"` the
    component's size is its `maxFontSize` here and fitting scales every span by the same
    factor, so a span's size is relative to that."""
    return replace(
        base,
        family=s.get("fontFamily", base.family),
        weight=int(s.get("fontWeight", base.weight)),
        italic=s["fontStyle"] == "italic" if "fontStyle" in s else base.italic,
        size=float(s.get("fontSize", base.size)),
        color=Color.parse(s["color"]) if "color" in s else base.color,
        letter_spacing=float(s.get("letterSpacing", base.letter_spacing)),
        decoration=s.get("textDecoration", base.decoration),
        background=Color.parse(s["background"]) if "background" in s else None,
    )


def _spans(c: dict[str, Any], base: TextStyle) -> tuple[Span, ...]:
    """The component's spans resolved (none for a plain `text`), their texts cleaned and
    transformed as a plain text is."""
    transform = c.get("textTransform", "none")
    return tuple(
        Span(_clean_text(s["text"], transform), _span_style(base, s)) for s in c.get("spans", ())
    )


def _content(c: dict[str, Any], spans: tuple[Span, ...]) -> str:
    if spans:
        return "".join(s.text for s in spans)
    return _clean_text(c["text"], c.get("textTransform", "none"))


def _common(at: str, c: dict[str, Any]) -> dict[str, Any]:
    """What every component has: where it is, how it fades, how it behaves in a stack."""
    return {
        "pointer": at,
        "x": length(c.get("x", 0)),
        "y": length(c.get("y", 0)),
        "anchor": Anchor(c.get("anchor", "top-left")),
        "opacity": float(c.get("opacity", 1)),
        "item": FlexItem(
            grow=float(c.get("grow", 0)),
            shrink=float(c.get("shrink", 1)),
            align_self=c.get("alignSelf", "auto"),
            absolute=bool(c.get("absolute", False)),
        ),
        "hidden": bool(c.get("hidden", False)),
        "rotate": _turn(float(c.get("rotate", 0))),
    }


def _stroke(c: dict[str, Any]) -> Stroke | None:
    raw = c.get("stroke")
    if raw is None:
        return None
    return Stroke(
        float(raw["width"]),
        Color.parse(raw.get("color", "#000000")),
        raw.get("position", "outside"),
    )


def _shadows(c: dict[str, Any], key: str) -> tuple[Shadow, ...]:
    """One shadow object or a list of them, each with CSS's defaults."""
    raw = c.get(key, [])
    return tuple(
        Shadow(
            float(s.get("x", 0)),
            float(s.get("y", 0)),
            float(s.get("blur", 0)),
            Color.parse(s.get("color", "#00000080")),
            float(s.get("spread", 0)),
        )
        for s in (raw if isinstance(raw, list) else [raw])
    )


def _turn(degrees: float) -> float:
    """A whole turn (360, -720) draws nothing turned: no transform at all."""
    return 0.0 if degrees % 360 == 0 else degrees


def _hidden(c: dict[str, Any], text: str) -> bool:
    return bool(c.get("hidden", False)) or (bool(c.get("hideIfEmpty")) and not text.strip())


def text(at: str, c: dict[str, Any]) -> TextComponent:
    frame = c.get("frameWidth", "fit")
    auto = c.get("fontSize") == "auto"
    style = _style(c, "#000000")
    spans = _spans(c, style)
    content = _content(c, spans)
    return TextComponent(
        **{**_common(at, c), "hidden": _hidden(c, content)},
        text=content,
        style=style,
        spans=spans,
        wrap=c.get("textWrap", "wrap"),
        vertical_align=c.get("verticalAlign", "top"),
        frame_width=None if frame == "fit" else length(frame),
        align=c.get("textAlign"),
        frame_height=float(c["frameHeight"]) if "frameHeight" in c else None,
        max_lines=int(c["maxLines"]) if "maxLines" in c else None,  # JSON may say 2.0
        ellipsis=_clean_text(c.get("ellipsis", "…")),
        auto_size=(float(c.get("minFontSize", 8)), float(c.get("maxFontSize", 200)))
        if auto
        else None,
        stroke=_stroke(c),
        text_shadows=_shadows(c, "textShadow"),
    )


def _focal_point(position: str) -> tuple[float, float]:
    """`position`: a keyword or "X% Y%"; keywords name the edge to align."""
    if position.endswith("%"):
        px, py = (float(v.rstrip("%")) / 100 for v in position.split())
        return px, py
    words = {"left": (0.0, None), "right": (1.0, None), "top": (None, 0.0)}
    words |= {"bottom": (None, 1.0), "center": (None, None)}
    picked = [words[w] for w in position.split()]
    px = next((h for h, _ in picked if h is not None), 0.5)
    py = next((v for _, v in picked if v is not None), 0.5)
    return px, py


def image(at: str, c: dict[str, Any]) -> ImageComponent:
    return ImageComponent(
        **_common(at, c),
        src=c["src"],
        width=length(c["width"]),
        height=length(c["height"]),
        radius=float(c.get("radius", 0)),
        fit=c.get("fit", "cover"),
        position=_focal_point(c.get("position", "center")),
        border_width=float(c.get("borderWidth", 0)),
        border_color=Color.parse(c.get("borderColor", "#000000")),
        on_error=c.get("onImageError", "error"),
        shadows=_shadows(c, "shadow"),
        filter=_filter(c.get("filter")),
        overlay=paint(c["overlay"]) if "overlay" in c else None,
    )


def _filter(raw: dict[str, Any] | None) -> Filter | None:
    if raw is None:
        return None
    f = Filter(
        brightness=float(raw.get("brightness", 1)),
        contrast=float(raw.get("contrast", 1)),
        saturate=float(raw.get("saturate", 1)),
        grayscale=float(raw.get("grayscale", 0)),
        blur=float(raw.get("blur", 0)),
    )
    return None if f == Filter() else f


def tag(at: str, c: dict[str, Any]) -> TagComponent:
    style = _style(c, "#ffffff")
    radius = c.get("radius")
    spans = _spans(c, style)
    content = _content(c, spans)
    return TagComponent(
        **{**_common(at, c), "hidden": _hidden(c, content)},
        text=content,
        style=style,
        spans=spans,
        background=paint(c.get("backgroundColor", "#000000")),
        padding_x=float(c.get("paddingX", 0.6 * style.size)),
        padding_y=float(c.get("paddingY", 0.3 * style.size)),
        radius=None if radius is None else float(radius),
        max_width=float(c["maxWidth"]) if "maxWidth" in c else None,
        ellipsis=_clean_text(c.get("ellipsis", "…")),
        stroke=_stroke(c),
        shadows=_shadows(c, "shadow"),
        text_shadows=_shadows(c, "textShadow"),
    )


def divider(at: str, c: dict[str, Any]) -> DividerComponent:
    width = c.get("width", "medium")
    return DividerComponent(
        **_common(at, c),
        length=length(c.get("length", "100%")),
        thickness=DIVIDER_THICKNESS[width] if isinstance(width, str) else float(width),
        vertical=c.get("direction", "horizontal") == "vertical",
        color=paint(c.get("color", "#000000")),
    )


def _corners(value: Any) -> tuple[float, float, float, float]:
    """One radius for every corner, or [top-left, top-right, bottom-right, bottom-left]."""
    if isinstance(value, list):
        return float(value[0]), float(value[1]), float(value[2]), float(value[3])
    return float(value), float(value), float(value), float(value)


def shape(at: str, c: dict[str, Any]) -> ShapeComponent:
    return ShapeComponent(
        **_common(at, c),
        width=length(c["width"]),
        height=length(c["height"]),
        fill=paint(c.get("fill", "#000000")),
        ellipse=c.get("shape", "rect") == "ellipse",
        radius=_corners(c.get("radius", 0)),
        border_width=float(c.get("borderWidth", 0)),
        border_color=Color.parse(c.get("borderColor", "#000000")),
        shadows=_shadows(c, "shadow"),
    )


def qr(at: str, c: dict[str, Any]) -> QrComponent:
    return QrComponent(
        **_common(at, c),
        data=c["data"],
        size=float(c["size"]),
        color=paint(c.get("color", "#000000")),
        background=Color.parse(c.get("background", "#ffffff")),
        error=c.get("errorCorrection", "M"),
        quiet=int(c.get("quietZone", 4)),
    )


def _padding(value: Any) -> tuple[Length, Length, Length, Length]:
    """CSS shorthand: one value, [vertical, horizontal], or [top, right, bottom, left]."""
    values = [length(v) for v in (value if isinstance(value, list) else [value])]
    if len(values) == 1:
        return values[0], values[0], values[0], values[0]
    if len(values) == 2:
        return values[0], values[1], values[0], values[1]
    return values[0], values[1], values[2], values[3]


def stack(at: str, c: dict[str, Any]) -> StackComponent:
    return StackComponent(
        **_common(at, c),
        children=tuple(
            component(f"{at}/children/{i}", child) for i, child in enumerate(c["children"])
        ),
        direction=c.get("direction", "column"),
        gap=length(c.get("gap", 0)),
        padding=_padding(c.get("padding", 0)),
        align=c.get("align", "stretch"),
        justify=c.get("justify", "start"),
        wrap=bool(c.get("wrap", False)),
        width=length(c["width"]) if "width" in c else None,
        height=length(c["height"]) if "height" in c else None,
        background=paint(c["backgroundColor"]) if "backgroundColor" in c else None,
        radius=float(c.get("radius", 0)),
        border_width=float(c.get("borderWidth", 0)),
        border_color=Color.parse(c.get("borderColor", "#000000")),
        shadows=_shadows(c, "shadow"),
    )


RESOLVERS: dict[str, Callable[[str, dict[str, Any]], Component]] = {
    "text": text,
    "image": image,
    "tag": tag,
    "divider": divider,
    "shape": shape,
    "qr": qr,
    "stack": stack,
}


def component(at: str, c: dict[str, Any]) -> Component:
    """The component object at pointer `at`, resolved by its type's function."""
    return RESOLVERS[c["type"]](at, c)
