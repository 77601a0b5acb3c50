"""Preflight: what a raw document asks for, read cheaply before any work, for gates.

A server must refuse a request before it spends a render worker on it: too many components for
the caller's plan, an image or font file path it does not serve, fonts in a spec when it takes
none. A batch must hash every image file a
spec names, so that editing a logo redraws its cards. Both need the document's component tree
read the way the engine reads it, stacks included, without validating or resolving it (the
engine judges that, in a worker). `preflight` is that one reading; nothing else outside the
spec stage walks a raw document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ImageSource", "Preflight", "preflight"]


@dataclass(frozen=True, slots=True)
class ImageSource:
    """An image (or font) source named by a spec, classified without loading it."""

    pointer: str  # of the image's `src`
    src: str
    kind: str  # data | url | base64 | path (`resources.classify_source`)


@dataclass(frozen=True, slots=True)
class Preflight:
    """What a spec asks for before anything is loaded: component count, nesting, sources.
    Servers and batches check plans and limits against it."""

    nodes: int  # components at every depth (what Limits.max_components and plans count)
    depth: int  # the deepest nesting of stacks (0: no stack holds anything)
    images: tuple[ImageSource, ...]  # every image's source, in document order
    fonts: tuple[ImageSource, ...] = ()  # the card's own fonts' sources (`fonts`), in order


def preflight(doc: Any) -> Preflight:
    """The tree of `doc` as far as it can be read (a document that is not a card: nothing).
    (Its modules are imported here: `renderer` imports this module whole, because the name
    `renderer.preflight` is this function, not the module, and must stay so.)"""
    from .resources import classify_source
    from .spec import raw_nodes

    nodes = depth = 0
    images: list[ImageSource] = []
    for node in raw_nodes(doc):
        nodes += 1
        depth = max(depth, node.depth)
        src = node.component.get("src")
        if node.component.get("type") == "image" and isinstance(src, str):
            images.append(ImageSource(node.pointer + "/src", src, classify_source(src)))
    return Preflight(nodes, depth, tuple(images), _fonts(doc))


def _fonts(doc: Any) -> tuple[ImageSource, ...]:
    """The sources of the card's own `fonts`, told apart as images are (a font is never raw
    base64: text that is not a data URI or a URL is a path)."""
    from .resources import classify_source

    entries = doc.get("fonts") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        return ()
    out = []
    for i, entry in enumerate(entries):
        src = entry.get("src") if isinstance(entry, dict) else None
        if isinstance(src, str):
            kind = classify_source(src)
            out.append(ImageSource(f"/fonts/{i}/src", src, "path" if kind == "base64" else kind))
    return tuple(out)
