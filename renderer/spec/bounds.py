"""The caller's `Limits` and the rules the schema states only in words, on a schema-valid document.

Every rule walks the whole component tree (`tree.raw_nodes`), so a component nested in a stack is
judged exactly as one on the card, and each issue names its full pointer
(`/components/2/children/1/width`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from .. import qr
from ..errors import Issue
from ..limits import Limits
from .tree import RawNode

__all__ = ["capacity_issues", "family_issues", "limit_issues", "semantic_issues"]

# Percentages that make sense, by what they size: more than the containing box, or a gap wider
# than it, is a mistake in a template; positions may lie up to one box beyond either edge.
_PERCENT_RANGES = {
    "width": (0.0, 100.0),
    "height": (0.0, 100.0),
    "frameWidth": (0.0, 100.0),
    "length": (0.0, 100.0),
    "gap": (0.0, 100.0),
    "padding": (0.0, 50.0),
    "x": (-100.0, 100.0),
    "y": (-100.0, 100.0),
}
_OPEN_BELOW = {"width", "height", "frameWidth", "length"}  # 0% is no size at all


def _canvas_issues(doc: dict[str, Any], limits: Limits, scale: float) -> list[Issue]:
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
    return out


def _node_issues(node: RawNode, limits: Limits) -> list[Issue]:
    c, at = node.component, node.pointer
    out: list[Issue] = []
    if node.depth > limits.max_stack_depth:
        out.append(
            Issue(
                at,
                f"Nested {node.depth} stacks deep; at most {limits.max_stack_depth} "
                "(Limits.max_stack_depth).",
            )
        )
    text = c.get("text")
    if isinstance(text, str) and len(text) > limits.max_text_length:
        out.append(
            Issue(
                f"{at}/text",
                f"At most {limits.max_text_length} characters "
                f"(Limits.max_text_length). Received: {len(text)}.",
            )
        )
    size = c.get("fontSize", 0)
    if isinstance(size, int | float) and size > limits.max_font_size:
        out.append(
            Issue(
                f"{at}/fontSize",
                f"Must be ≤ {limits.max_font_size:g} (Limits.max_font_size). Received: {size}.",
            )
        )
    return out


_PAINTS = ("fill", "backgroundColor", "color", "overlay")  # the properties that take a gradient


def _gradient_issues(at: str, paint: Any, limits: Limits) -> list[Issue]:
    stops = paint.get("stops") if isinstance(paint, dict) else None
    if isinstance(stops, list) and len(stops) > limits.max_gradient_stops:
        return [
            Issue(
                f"{at}/stops",
                f"At most {limits.max_gradient_stops} stops (Limits.max_gradient_stops). "
                f"Received: {len(stops)}.",
            )
        ]
    return []


def _paint_issues(node: RawNode, limits: Limits) -> list[Issue]:
    """(Pointers are written only for properties the component has: most have none of these,
    and this runs for every node of every card.)"""
    c = node.component
    out: list[Issue] = []
    for key in _PAINTS:
        if isinstance(c.get(key), dict):
            out += _gradient_issues(f"{node.pointer}/{key}", c[key], limits)
    for key in ("shadow", "textShadow"):
        if c.get(key) is not None:
            out += _shadow_issues(f"{node.pointer}/{key}", c[key], limits)
    if "filter" in c:
        out += _blur_issues(f"{node.pointer}/filter/blur", c["filter"], limits)
    return out


def _blur_issues(at: str, owner: Any, limits: Limits) -> list[Issue]:
    """A shadow's or filter's `blur` (at `at`) over `Limits.max_blur`."""
    blur = owner.get("blur", 0) if isinstance(owner, dict) else 0
    if isinstance(blur, int | float) and blur > limits.max_blur:
        return [Issue(at, f"Must be ≤ {limits.max_blur:g} (Limits.max_blur). Received: {blur}.")]
    return []


def _shadow_issues(at: str, value: Any, limits: Limits) -> list[Issue]:
    shadows = value if isinstance(value, list) else [] if value is None else [value]
    out: list[Issue] = []
    if len(shadows) > limits.max_shadows:
        out.append(
            Issue(
                at,
                f"At most {limits.max_shadows} shadows (Limits.max_shadows). "
                f"Received: {len(shadows)}.",
            )
        )
    for i, shadow in enumerate(shadows):
        where = f"{at}/{i}/blur" if isinstance(value, list) else f"{at}/blur"
        out += _blur_issues(where, shadow, limits)
    return out


def _qr_issues(nodes: Sequence[RawNode], limits: Limits) -> list[Issue]:
    """The card's QR codes encode at most `max_qr_data` characters in all (each costs tens of
    milliseconds of pure-Python encoding per thousand)."""
    total = 0
    for node in nodes:
        c = node.component
        data = c.get("data")
        if c.get("type") == "qr" and isinstance(data, str):
            total += len(data)
            if total > limits.max_qr_data:
                return [
                    Issue(
                        f"{node.pointer}/data",
                        f"The card's QR codes encode {total} characters up to here; the limit "
                        f"is {limits.max_qr_data} (Limits.max_qr_data).",
                    )
                ]
    return []


def limit_issues(
    doc: dict[str, Any], nodes: Sequence[RawNode], limits: Limits, scale: float
) -> list[Issue]:
    """Bounds a caller may have tightened below the schema's defaults, and the scaled area.
    The component bound counts every node of the tree (`nodes`: `raw_nodes(doc)`)."""
    out = _canvas_issues(doc, limits, scale)
    out += _gradient_issues("/background", doc.get("background"), limits)
    if len(nodes) > limits.max_components:
        out.append(
            Issue(
                "/components",
                f"At most {limits.max_components} components allowed, stacks' children "
                f"included (Limits.max_components). Received: {len(nodes)}.",
            )
        )
    for node in nodes:
        out.extend(_node_issues(node, limits))
        out.extend(_paint_issues(node, limits))
    out.extend(_qr_issues(nodes, limits))
    fonts = doc.get("fonts", ())
    if len(fonts) > limits.max_spec_fonts:
        out.append(
            Issue(
                "/fonts",
                f"At most {limits.max_spec_fonts} fonts per card (Limits.max_spec_fonts). "
                f"Received: {len(fonts)}.",
            )
        )
    return out


def _percent_issues(node: RawNode) -> list[Issue]:
    out: list[Issue] = []
    for name, (low, high) in _PERCENT_RANGES.items():
        value = node.component.get(name)
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            if not (isinstance(v, str) and v.endswith("%")):
                continue
            number = float(v[:-1])
            too_low = number <= low if name in _OPEN_BELOW else number < low
            if too_low or number > high:
                where = f"{node.pointer}/{name}" + (f"/{i}" if isinstance(value, list) else "")
                bound = f"> {low:g}%" if name in _OPEN_BELOW else f"≥ {low:g}%"
                out.append(Issue(where, f"Must be {bound} and ≤ {high:g}%. Received: {v!r}."))
    return out


def _auto_size_issues(node: RawNode) -> list[Issue]:
    c, at = node.component, node.pointer
    out: list[Issue] = []
    if c.get("fontSize") == "auto":
        width = c.get("frameWidth", "fit")
        # In a stack the stack gives a text its width; on the card only frameWidth can.
        wide = node.depth > 0 or width != "fit"
        if not (wide and ("frameHeight" in c or "maxLines" in c)):
            out.append(
                Issue(
                    f"{at}/fontSize",
                    '"auto" needs a width to fit into (a frameWidth, or a stack that gives '
                    "one) and a frameHeight or maxLines.",
                )
            )
    if c.get("minFontSize", 8) > c.get("maxFontSize", 200):
        out.append(
            Issue(
                f"{at}/minFontSize",
                "Must be ≤ maxFontSize. Received: "
                f"{c.get('minFontSize', 8)} > {c.get('maxFontSize', 200)}.",
            )
        )
    return out


def _text_issues(node: RawNode) -> list[Issue]:
    """A text or tag has `text` or `spans`, not both."""
    c, at = node.component, node.pointer
    if c.get("type") not in ("text", "tag"):
        return []
    if "text" not in c and "spans" not in c:
        return [Issue(f"{at}/text", "Required property 'text' is missing (or give `spans`).")]
    if "text" in c and "spans" in c:
        return [Issue(f"{at}/spans", "Give `text` or `spans`, not both.")]
    return []


def capacity_issues(nodes: Sequence[RawNode]) -> list[Issue]:
    """Every QR code's data fits a code at its error-correction level (segno decides, so this
    encodes: it runs after `limit_issues` has bounded how much)."""
    out: list[Issue] = []
    for node in nodes:
        c = node.component
        data, level = c.get("data"), c.get("errorCorrection", "M")
        if c.get("type") != "qr" or not isinstance(data, str):
            continue
        try:
            qr.encode(data, level)
        except ValueError:
            out.append(
                Issue(
                    f"{node.pointer}/data",
                    f"Too much for a QR code at errorCorrection {level!r} ({len(data)} "
                    "characters); shorten it or lower the level.",
                )
            )
    return out


def semantic_issues(doc: dict[str, Any], nodes: Sequence[RawNode]) -> list[Issue]:
    """Rules across properties that the schema states only in words (`nodes`: the
    document's `raw_nodes`, walked once for every check)."""
    out: list[Issue] = []
    for node in nodes:
        out.extend(_text_issues(node))
        out.extend(_auto_size_issues(node))
        out.extend(_percent_issues(node))
    out.extend(_font_issues(doc))
    return out


def _font_issues(doc: dict[str, Any]) -> list[Issue]:
    out: list[Issue] = []
    for i, entry in enumerate(doc.get("fonts", ())):
        weight = entry.get("weight")
        if isinstance(weight, list) and weight[0] > weight[1]:
            out.append(Issue(f"/fonts/{i}/weight", f"Must be [min, max]. Received: {weight}."))
    return out


def family_issues(uses: Iterable[tuple[str, str]], names: Sequence[str]) -> list[Issue]:
    """Every family used that is not among `names` (bundled, registered and the card's own),
    with the closest name."""
    out: list[Issue] = []
    for pointer, family in uses:
        if family in names:
            continue
        lower = {n.lower(): n for n in names}
        close = difflib.get_close_matches(family.lower(), list(lower), n=1, cutoff=0.6)
        hint = f" Did you mean {lower[close[0]]!r}?" if close else ""
        out.append(
            Issue(
                pointer,
                f"Allowed values: {', '.join(names)} (bundled, registered and the card's own "
                f"families). Received: {json.dumps(family, ensure_ascii=False)}.{hint}",
            )
        )
    return out
