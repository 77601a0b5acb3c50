"""`python -m renderer` is the `renderer` command."""

from __future__ import annotations

from .cli import run

run()
