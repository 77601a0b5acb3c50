"""`extensions = ["renderer.sphinx"]`: social cards for Sphinx sites.

The extension lives in `renderer.integrations.sphinx` (see there); this is its short name.
"""

from __future__ import annotations

from .integrations.sphinx import setup

__all__ = ["setup"]
