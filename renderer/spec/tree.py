"""The component tree of a raw document: every component object, with its pointer and depth.

Used before a document is resolved (bounds, semantic rules, the server's gates through
`renderer.preflight`), so it assumes nothing: it follows `components` at the top and `children`
of any object whose `type` is `"stack"`, and skips whatever is not an object. `depth` is 0 on the
card, 1 inside a top-level stack, and so on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["RawNode", "raw_nodes"]


@dataclass(frozen=True, slots=True)
class RawNode:
    """A component object of the raw document with its pointer and depth: what the strict
    reader and the limits walk before parsing."""

    pointer: str  # JSON pointer of the component object
    component: dict[str, Any]
    depth: int  # stacks it is nested in


def raw_nodes(doc: Any) -> Iterator[RawNode]:
    """Every component object of `doc`, parents before children, in document order."""
    components = doc.get("components") if isinstance(doc, dict) else None
    if isinstance(components, list):
        yield from _nodes(components, "/components", 0)


def _nodes(items: list[Any], at: str, depth: int) -> Iterator[RawNode]:
    for i, c in enumerate(items):
        if not isinstance(c, dict):
            continue
        here = f"{at}/{i}"
        yield RawNode(here, c, depth)
        children = c.get("children")
        if c.get("type") == "stack" and isinstance(children, list):
            yield from _nodes(children, here + "/children", depth + 1)
