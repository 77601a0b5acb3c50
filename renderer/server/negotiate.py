"""`Accept` negotiation (RFC 9110 §12.5.1) between the image types we produce and JSON.

No header, or only `*/*`, means SVG, as Craftr documents. Each type's weight comes from the most
specific range that matches it (`image/png` over `image/*` over `*/*`); `q=0` refuses it. Among
equal weights the client's order wins, then ours (SVG first). `application/json` is chosen only
when named (`application/json` or `application/*`), never through `*/*`, so a generic client
still gets SVG.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["JSON_TYPE", "PRODUCED", "NotAcceptable", "negotiate"]

JSON_TYPE = "application/json"
PRODUCED = (
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "image/webp",
    "image/tiff",
    "image/avif",
    JSON_TYPE,
    "application/pdf",  # after JSON: `application/*` keeps meaning JSON, as before PDF
)


class NotAcceptable(ValueError):
    """Nothing we produce is acceptable to the client."""


@dataclass(frozen=True, slots=True)
class _Range:
    type: str
    subtype: str
    q: float
    position: int

    def specificity(self, content_type: str) -> int:
        """-1 no match, 0 `*/*`, 1 `type/*`, 2 exact."""
        main, _, sub = content_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return -1 if content_type == JSON_TYPE else 0
        if self.type != main:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == sub else -1


def _parse(header: str) -> list[_Range]:
    ranges: list[_Range] = []
    for position, item in enumerate(header.split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        main, sep, sub = media.lower().partition("/")
        if not sep or not main or not sub:
            continue  # malformed ranges are ignored, as browsers do
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value.strip())))
                except ValueError:
                    q = 0.0
                if q != q:  # NaN
                    q = 0.0
        ranges.append(_Range(main.strip(), sub.strip(), q, position))
    return ranges


def negotiate(header: str | None) -> str:
    """The content type to send; raises `NotAcceptable` when none is."""
    if header is None or not header.strip():
        return PRODUCED[0]
    ranges = _parse(header)
    if not ranges:
        return PRODUCED[0]
    best: tuple[float, int, int] | None = None
    chosen = ""
    for order, content_type in enumerate(PRODUCED):
        matches = [(r.specificity(content_type), r) for r in ranges]
        matches = [m for m in matches if m[0] >= 0]
        if not matches:
            continue
        top = max(m[0] for m in matches)
        rng = min((r for s, r in matches if s == top), key=lambda r: r.position)
        if rng.q <= 0:
            continue
        key = (-rng.q, rng.position, order)
        if best is None or key < best:
            best, chosen = key, content_type
    if not chosen:
        raise NotAcceptable(header)
    return chosen
