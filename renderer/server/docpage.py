"""`GET /`: the playground, and what the endpoint takes and answers.

The page is the one `renderer preview` shows (`renderer.preview.page`), in its playground mode:
a JSON editor whose every pause in typing renders through `POST /api/v1/image?report=1`, the
endpoint and the authentication any client uses (a key field when the server has keys), so the
playground adds no render path of its own. Its script and style sheet are files under
`/static/`, which lets the page carry `DOC_CSP` (no inline script, nothing from another origin).
"""

from __future__ import annotations

import json

from renderer.preview.page import PAGE_CSP, page_html, static_response

__all__ = ["DOC_CSP", "EXAMPLE", "doc_page", "static_response"]

DOC_CSP = PAGE_CSP

# What the editor starts with: a card laid out from its centre line, as real cards are.
EXAMPLE = {
    "width": 1200,
    "height": 630,
    "background": "#0f172a",
    "components": [
        {
            "type": "tag",
            "text": "RELEASE NOTES",
            "fontSize": 22,
            "fontWeight": "700",
            "color": "#ffffff",
            "backgroundColor": "#6366f1",
            "paddingX": 18,
            "paddingY": 8,
            "x": 600,
            "y": 150,
            "anchor": "center",
        },
        {
            "type": "text",
            "text": "Cards that render the same everywhere",
            "fontSize": 68,
            "fontWeight": "800",
            "color": "#f8fafc",
            "frameWidth": 960,
            "maxLines": 2,
            "textAlign": "center",
            "lineHeight": 1.15,
            "x": 600,
            "y": 300,
            "anchor": "center",
        },
        {
            "type": "text",
            "text": "Edit the JSON: the card is drawn again as you type.",
            "fontSize": 30,
            "color": "#94a3b8",
            "frameWidth": 960,
            "textAlign": "center",
            "x": 600,
            "y": 430,
            "anchor": "center",
        },
        {
            "type": "divider",
            "length": 120,
            "width": 4,
            "color": "#6366f1",
            "x": 600,
            "y": 500,
            "anchor": "center",
        },
        {
            "type": "text",
            "text": "renderer · playground",
            "fontSize": 24,
            "fontWeight": "600",
            "color": "#64748b",
            "x": 600,
            "y": 560,
            "anchor": "center",
        },
    ],
}


def doc_page(auth_required: bool) -> str:
    auth_curl = " \\\n  -H 'Authorization: Bearer YOUR_KEY'" if auth_required else ""
    return page_html(
        "playground",
        title="renderer: POST /api/v1/image",
        heading="renderer &mdash; <code>POST /api/v1/image</code> playground",
        auth_required=auth_required,
        example=json.dumps(EXAMPLE, indent=2, ensure_ascii=False),
        extra={"AUTH_CURL": auth_curl},
    )
