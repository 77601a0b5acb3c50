"""The hostile inputs of issue 11 that tests/test_hostile.py (scaled down) and
benchmarks/hostile.py (at full size) both send."""

from __future__ import annotations

import base64
import io
from typing import Any

__all__ = ["alias_bomb", "amplifying_template", "png_data_uri"]


def amplifying_template(placeholders: int = 2000) -> dict[str, Any]:
    """Row 1: one string of `{{a}}` × 2,000; a 40,000-character value makes it 80 MB."""
    text = "{{a}}" * placeholders
    return {"width": 200, "height": 40, "components": [{"type": "text", "text": text}]}


def alias_bomb() -> str:
    """Row 8: 354 bytes of YAML front matter standing for 9⁹ strings once expanded. The row has
    the title the template needs, so it is one that used to reach the manifest's hash."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "---\ntitle: Bomb\n" + "\n".join(lines) + "\n---\nA post.\n"


def png_data_uri(width: int, height: int) -> str:
    """A solid PNG as a data URI: a few hundred bytes for a 2×2 source, 120 KB for 6000×6000."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), "#cc3333").save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
