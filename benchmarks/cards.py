"""Where every benchmark finds its cards: one folder for all of them, so ratios to the peers
compare the same cards.

`RENDERER_BENCH_CARDS` names it; else `../shared/cards` beside the repository (the cards the peer
harness times Satori and Takumi on); else `examples/`. A card the folder lacks comes from
`benchmarks/cards/` (the photo card, with a generated photo of our own: `make_photo.py`), else
from `examples/` (issue 14's reference cards, `PAINT_NAMES`: not among the peers' cards).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OWN = Path(__file__).resolve().parent / "cards"
NAMES = ("hello", "blog", "cjk", "photo")  # the reference cards, in table order
PAINT_NAMES = ("hero", "photo-card")  # gradients, shadows, filter, scrim, QR (examples/)


def cards_dir() -> Path:
    configured = os.environ.get("RENDERER_BENCH_CARDS")
    if configured:
        return Path(configured).resolve()
    shared = ROOT.parent / "shared" / "cards"
    return shared if shared.is_dir() else ROOT / "examples"


def card_path(name: str) -> Path:
    """`name`.json in the cards folder, else in benchmarks/cards/, else in examples/."""
    for folder in (cards_dir(), OWN, ROOT / "examples"):
        if (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    return OWN / f"{name}.json"
