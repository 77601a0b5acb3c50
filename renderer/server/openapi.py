"""`GET /openapi.json`: the OpenAPI 3.1 description, built from `schemas/card.schema.json`.

Built, not hand-written, so the request body documented is exactly the one validated. OpenAPI 3.1
uses JSON Schema 2020-12, so the card schema goes in unchanged except that its `$defs` move to
`components/schemas` (a `#/$defs/x` pointer would otherwise point into the OpenAPI document's
root) and `$schema`/`$id` are dropped.
"""

from __future__ import annotations

import json
from typing import Any

from .negotiate import JSON_TYPE, PRODUCED

__all__ = ["ERROR_STATUSES", "build_openapi"]

ERROR_STATUSES = {
    "400": "Invalid parameters: the body is not a valid card (`details.issues` lists each "
    "problem with its JSON pointer), exceeds the plan's component limit, or a query "
    "parameter is invalid.",
    "401": "Missing or malformed `Authorization: Bearer` header (`WWW-Authenticate: Bearer`).",
    "403": "Unknown API key.",
    "406": "No acceptable output type in `Accept`.",
    "408": "The request body did not arrive before the body deadline.",
    "413": "The request body is larger than the server's limit.",
    "415": "The body is not `application/json`, or it has a `Content-Encoding`.",
    "429": "The key's plan quota is used up; `retryAfter` is when it resets.",
    "503": "Every render worker is busy and the queue is full, the render passed its "
    "deadline, or the rate-limit store is unreachable; retry after `Retry-After` seconds.",
}

_RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "string"}}
    for name, text in (
        ("RateLimit-Limit", "Requests allowed in the current window (plans with a quota)."),
        ("RateLimit-Remaining", "Requests left in the current window."),
        ("RateLimit-Reset", "Seconds until the window resets."),
        ("X-Request-Id", "The request's id: the client's `X-Request-Id` echoed, or a new one."),
    )
}


def _rewrite(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/$defs/"):
                out[k] = "#/components/schemas/" + v.removeprefix("#/$defs/")
            elif k in ("$schema", "$id") and not isinstance(v, dict):
                continue
            else:
                out[k] = _rewrite(v)
        return out
    if isinstance(node, list):
        return [_rewrite(v) for v in node]
    return node


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "details": {"type": "object"},
            "retryAfter": {"type": "string", "format": "date-time"},
        },
    }


def build_openapi(card_schema: dict[str, Any], auth_required: bool) -> dict[str, Any]:
    card = _rewrite(json.loads(json.dumps(card_schema)))
    defs = card.pop("$defs", {})
    schemas = dict(defs)
    schemas["Card"] = card
    schemas["Error"] = _error_schema()
    schemas["ImageJSON"] = {
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": {
                "type": "object",
                "required": ["id", "width", "height", "content_type", "base64_data"],
                "properties": {
                    "id": {"type": "string"},
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "content_type": {"type": "string"},
                    "base64_data": {"type": "string", "contentEncoding": "base64"},
                },
            }
        },
    }
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    success: dict[str, Any] = {
        t: {"schema": {"type": "string", "contentMediaType": t}} for t in PRODUCED if t != JSON_TYPE
    }
    success[JSON_TYPE] = {"schema": {"$ref": "#/components/schemas/ImageJSON"}}
    responses: dict[str, Any] = {
        "200": {
            "description": "The image, in the type `Accept` or `?format=` chose.",
            "headers": _RATE_HEADERS,
            "content": success,
        },
        "304": {"description": "`If-None-Match` matched the image's `ETag`."},
    }
    for status, text in ERROR_STATUSES.items():
        responses[status] = {"description": text, "content": error_content}
    if not auth_required:
        responses.pop("401")
        responses.pop("403")
        responses.pop("429")
    params = [
        {
            "name": "format",
            "in": "query",
            "required": False,
            "description": "Output format instead of `Accept`; `json` returns the JSON shape.",
            "schema": {"enum": ["svg", "png", "jpeg", "jpg", "webp", "tiff", "avif", "json"]},
        },
        {
            "name": "scale",
            "in": "query",
            "required": False,
            "description": "Device-pixel ratio (renderer extension), 0 < scale ≤ 4.",
            "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 4},
        },
        {
            "name": "quality",
            "in": "query",
            "required": False,
            "description": "1–100 for jpeg, webp, avif (renderer extension).",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
    ]
    operation: dict[str, Any] = {
        "operationId": "renderImage",
        "summary": "Render a card (Craftr-compatible)",
        "parameters": params,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Card"}}},
        },
        "responses": responses,
    }
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "renderer",
            "version": _version(),
            "description": "Local drop-in for Craftr.art's `POST /api/v1/image`.",
        },
        "paths": {
            "/api/v1/image": {"post": operation},
            "/healthz": {
                "get": {
                    "operationId": "health",
                    "responses": {
                        "200": {
                            "description": "The server answers.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {"schemas": schemas},
    }
    if auth_required:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        operation["security"] = [{"bearer": []}]
    return doc


def _version() -> str:
    from renderer import __version__

    return __version__
