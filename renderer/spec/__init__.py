"""Spec stage: a dict, JSON text, bytes or a path in; a validated, resolved `Card` out.

Takes untrusted input and is the only stage that judges it, in four steps, each its own module:
`strict` reads strict JSON (no NaN/Infinity, no duplicate keys, bounded size, items, nesting and
number size, no lone surrogates); `messages` checks the document against
`schemas/card.schema.json`; `bounds` applies the caller's `Limits` and the rules the schema
states in words, over the whole component tree (`tree`), and last, once the limits have bounded
how much, that every QR code's data fits a code; `resolve` turns it into the model, one
function per component type. Guarantees on return: every default is applied and every text is
free of characters XML cannot carry. Otherwise it raises one `SpecError` (or `LimitError`)
listing every problem found, each with a JSON pointer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import Issue, LimitError, SpecError
from ..limits import DEFAULT_LIMITS, Limits
from ..model import Card, FontRequest
from .bounds import capacity_issues, family_issues, limit_issues, semantic_issues
from .messages import MAX_ISSUES, is_limit, more_issues, schema, schema_issues
from .resolve import DIVIDER_THICKNESS, component, paint
from .strict import SpecInput, check_values, load_document
from .tree import RawNode, raw_nodes

__all__ = [
    "DIVIDER_THICKNESS",
    "family_issues",
    "MAX_ISSUES",
    "RawNode",
    "SpecInput",
    "load_document",
    "parse_card",
    "raw_nodes",
    "schema",
]


def _check_scale(scale: float, limits: Limits) -> None:
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


def _font_requests(doc: dict[str, Any]) -> tuple[FontRequest, ...]:
    out = []
    for i, entry in enumerate(doc.get("fonts", ())):
        weight = entry.get("weight")
        out.append(
            FontRequest(
                f"/fonts/{i}",
                entry["src"],
                entry.get("family"),
                None
                if weight is None
                else (int(weight), int(weight))
                if isinstance(weight, int)
                else (int(weight[0]), int(weight[1])),
                entry.get("style"),
            )
        )
    return tuple(out)


def _check_families(card: Card, names: Sequence[str]) -> None:
    """Unknown families are refused here when every name is known without loading a font (the
    card's own fonts all declare their `family`); else once they are loaded (`resources`)."""
    if any(f.family is None for f in card.fonts):
        return
    declared = [f.family for f in card.fonts if f.family is not None]
    issues = family_issues(card.families, [*names, *dict.fromkeys(declared)])
    if issues:
        raise SpecError(issues[:MAX_ISSUES])


def parse_card(
    spec: SpecInput,
    limits: Limits = DEFAULT_LIMITS,
    scale: float = 1.0,
    base_dir: Path | None = None,
    families: Sequence[str] | None = None,
) -> Card:
    """Validate `spec` and resolve it into a `Card`, or raise `SpecError` listing every issue.
    `base_dir` (else a spec file's folder) is the folder relative image paths name.
    `families`: the font families a `fontFamily` may name besides the card's own fonts
    (default: the bundled ones)."""
    doc, folder = load_document(spec, limits)
    issues: list[Issue] = []
    check_values(doc, [], limits, issues)
    if issues:
        listed = issues[:MAX_ISSUES]
        more = [more_issues(len(issues) - MAX_ISSUES)] if len(issues) > MAX_ISSUES else []
        raise SpecError(listed + more)
    issues, errors = schema_issues(doc)
    if issues:
        raise (LimitError if errors and all(map(is_limit, errors)) else SpecError)(issues)
    _check_scale(scale, limits)
    nodes = list(raw_nodes(doc))
    issues = semantic_issues(doc, nodes)
    if issues:
        raise SpecError(issues[:MAX_ISSUES])
    issues = limit_issues(doc, nodes, limits, scale)
    if issues:
        raise LimitError(issues[:MAX_ISSUES])
    issues = capacity_issues(nodes)
    if issues:
        raise SpecError(issues[:MAX_ISSUES])
    background = doc.get("background", "#ffffff")
    card = Card(
        width=int(doc["width"]),
        height=int(doc["height"]),
        background=None if background == "transparent" else paint(background),
        components=tuple(component(f"/components/{i}", c) for i, c in enumerate(doc["components"])),
        base_dir=folder if base_dir is None else base_dir,
        fonts=_font_requests(doc),
    )
    if families is None:
        from ..fonts import library

        families = library().names()
    _check_families(card, families)
    return card
