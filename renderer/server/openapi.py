"""`GET /openapi.json`: the OpenAPI 3.1 description, built from `schemas/card.schema.json`.

Built, not hand-written, so the request body documented is exactly the one validated. OpenAPI 3.1
uses JSON Schema 2020-12, so the card schema goes in unchanged except that its `$defs` move to
`components/schemas` (a `#/$defs/x` pointer would otherwise point into the OpenAPI document's
root) and `$schema`/`$id` are dropped.
"""

from __future__ import annotations

import json
from typing import Any

from renderer.encode import FORMAT_NAMES

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
    "deadline, it needed more memory than a worker may use, or the rate-limit store is "
    "unreachable; retry after `Retry-After` seconds.",
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


_ISSUE: dict[str, Any] = {
    "type": "object",
    "required": ["pointer", "message"],
    "properties": {
        "pointer": {
            "type": "string",
            "description": "JSON pointer into the request body; empty for the request as a whole.",
        },
        "message": {"type": "string", "description": "What is wrong, and what is allowed."},
        "parameter": {"type": "string", "description": "The query parameter it is about."},
        "header": {"type": "string", "description": "The request header it is about."},
    },
}


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "details"],
        "description": "Every error response has this shape: `details.issues` is always there "
        "(at least one issue); other keys of `details` depend on the error (`limit` and `plan` "
        "for a plan limit, `deadlineSeconds`, `limitBytes`, `supported`, `requested` and "
        "`remaining` for a batch over quota, `requestId` for any 5xx).",
        "properties": {
            "error": {"type": "string"},
            "details": {
                "type": "object",
                "required": ["issues"],
                "properties": {
                    "issues": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"$ref": "#/components/schemas/Issue"},
                    }
                },
            },
            "retryAfter": {"type": "string", "format": "date-time"},
        },
    }


def _batch_schemas(max_items: int) -> dict[str, Any]:
    """The batch request, the 202 answer, and a job as `GET /api/v1/jobs/{id}` shows it."""
    issue = {"$ref": "#/components/schemas/Issue"}
    return {
        "BatchRequest": {
            "type": "object",
            "description": "Either `items` (cards), or `template` (a card with `{{ name }}` "
            "placeholders) and `rows` (one object of variables per image).",
            "properties": {
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_items,
                    # Any value: an item that is not a valid `Card` is that item's error in the
                    # job, not a reason to refuse the batch.
                    "items": {"description": "A card, as `Card`; an invalid one fails alone."},
                },
                "template": {"type": "object", "description": "A card with placeholders."},
                "rows": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": max_items,
                    "items": {
                        "description": "Variables for one image: strings, numbers, booleans. "
                        "A bad row fails alone.",
                        "examples": [{"title": "Hello", "slug": "hello"}],
                    },
                },
                "format": {"enum": list(FORMAT_NAMES)},
                "scale": {"type": "number", "exclusiveMinimum": 0, "maximum": 4},
                "quality": {"type": "integer", "minimum": 1, "maximum": 100},
                "callback_url": {
                    "type": "string",
                    "maxLength": 2048,
                    "description": "POSTed the job summary when it finishes; the same address "
                    "rules as image URLs apply.",
                },
                "output": {
                    "type": "string",
                    "pattern": "^storage://",
                    "description": "`storage://NAME/path/`: an operator-configured folder.",
                },
                "overwrite": {
                    "type": "boolean",
                    "default": False,
                    "description": "With `output`: replace files this key wrote before. A file "
                    "another key (or no key) wrote is never replaced.",
                },
                "name": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "description": "Output file name pattern, e.g. `{{ slug }}.png`; default "
                    "`item-{{ index }}.<ext>`.",
                },
            },
            "additionalProperties": False,
            "oneOf": [{"required": ["items"]}, {"required": ["template", "rows"]}],
        },
        "JobAccepted": {
            "type": "object",
            "required": ["id", "status", "items", "links"],
            "properties": {
                "id": {"type": "string"},
                "status": {"const": "queued"},
                "items": {"type": "integer"},
                "links": {
                    "type": "object",
                    "required": ["self"],
                    "properties": {"self": {"type": "string"}},
                },
            },
        },
        "JobItem": {
            "type": "object",
            "required": ["index", "status"],
            "properties": {
                "index": {"type": "integer"},
                "status": {"enum": ["pending", "ok", "error"]},
                "content_type": {"type": "string"},
                "name": {"type": "string"},
                "base64_data": {"type": "string", "contentEncoding": "base64"},
                "path": {"type": "string"},
                "error": {"type": "string"},
                "details": {"type": "array", "items": issue},
            },
        },
        "Job": {
            "type": "object",
            "required": [
                "id",
                "status",
                "total",
                "completed",
                "failed",
                "created",
                "finished",
                "items",
            ],
            "properties": {
                "id": {"type": "string"},
                "status": {"enum": ["queued", "running", "done", "failed"]},
                "total": {"type": "integer"},
                "completed": {"type": "integer"},
                "failed": {"type": "integer"},
                "created": {"type": "string", "format": "date-time"},
                "finished": {"type": ["string", "null"]},
                "error": {"type": "string"},
                "output": {"type": "string"},
                "items": {"type": "array", "items": {"$ref": "#/components/schemas/JobItem"}},
                "callback": {
                    "type": "object",
                    "properties": {
                        "url": {"type": "string"},
                        "status": {"enum": ["pending", "delivered", "failed"]},
                        "attempts": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
        },
    }


def _batch_paths(auth_required: bool) -> dict[str, Any]:
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}

    def errors(statuses: dict[str, str]) -> dict[str, Any]:
        if not auth_required:
            statuses = {k: v for k, v in statuses.items() if k not in ("401", "403", "429")}
        return {k: {"description": v, "content": error_content} for k, v in statuses.items()}

    submit_errors = {k: v for k, v in ERROR_STATUSES.items() if k != "406"}
    submit_errors["400"] = (
        "Invalid batch: not an object, an unknown property, too many items, a bad option, a "
        "refused `callback_url` or `output` (`details.issues` names each with its pointer). "
        "Invalid cards do not refuse the batch: they are that item's error in the job."
    )
    submit_errors["429"] = (
        "The quota left is smaller than the number of items (`details.requested`, "
        "`details.remaining`); a refused batch costs nothing."
    )
    submit: dict[str, Any] = {
        "operationId": "submitBatch",
        "summary": "Render many cards, or one template per row, as a background job",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/BatchRequest"}}
            },
        },
        "responses": {
            "202": {
                "description": "Accepted; `Location` is the job.",
                "headers": {
                    **_RATE_HEADERS,
                    "Location": {"description": "The job's URL.", "schema": {"type": "string"}},
                },
                "content": {JSON_TYPE: {"schema": {"$ref": "#/components/schemas/JobAccepted"}}},
            },
            **errors(submit_errors),
        },
    }
    read: dict[str, Any] = {
        "operationId": "getJob",
        "summary": "A batch job's progress and, as items finish, their images or errors",
        "parameters": [
            {
                "name": "id",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
            }
        ],
        "responses": {
            "200": {
                "description": "The job.",
                "content": {JSON_TYPE: {"schema": {"$ref": "#/components/schemas/Job"}}},
            },
            **errors(
                {
                    "401": ERROR_STATUSES["401"],
                    "403": ERROR_STATUSES["403"],
                    "404": "No such job, or the job was created with another key.",
                    "429": "Too many failed authentications from this address "
                    "(`auth_failures_per_minute`); retry after `Retry-After` seconds.",
                }
            ),
        },
    }
    if auth_required:
        submit["security"] = read["security"] = [{"bearer": []}]
    return {"/api/v1/batch": {"post": submit}, "/api/v1/jobs/{id}": {"get": read}}


def _og_paths() -> dict[str, Any]:
    """`GET /og/{file}` (renderer.server.og), documented only where `--templates` serves it."""
    from renderer.signing import EXTENSIONS

    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    images = {"image/png", "image/jpeg", "image/webp", "image/avif", "image/tiff", "image/svg+xml"}
    statuses = {
        "400": "A parameter given twice, a variable the template does not use or one it uses "
        "missing (named in `details`), a value the card refuses, or over the plan's limits.",
        "403": "Missing, wrong or expired signature (the template is not served unsigned).",
        "404": "No such template, or an extension that is not an image format.",
        "414": "The query string is longer than the server's limit.",
        "429": "The template's quota is used up, or too many refused signatures from this address.",
        "500": "The template file on the server is not valid JSON.",
        "503": ERROR_STATUSES["503"],
    }
    parameters = [
        {
            "name": "file",
            "in": "path",
            "required": True,
            "description": "`NAME.EXT`: a template of the folder and the image format.",
            "schema": {
                "type": "string",
                "pattern": rf"^[A-Za-z0-9][A-Za-z0-9_-]{{0,63}}\.({'|'.join(EXTENSIONS)})$",
            },
        },
        {
            "name": "s",
            "in": "query",
            "required": False,
            "description": "The signature (`renderer sign`, `renderer.sign_url`).",
            "schema": {"type": "string"},
        },
        {
            "name": "exp",
            "in": "query",
            "required": False,
            "description": "Unix time after which the URL is refused (signed).",
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "v",
            "in": "query",
            "required": False,
            "description": "A version of the card's inputs: the answer is `immutable`.",
            "schema": {"type": "string"},
        },
        {
            "name": "variables",
            "in": "query",
            "required": False,
            "style": "form",
            "explode": True,
            "description": "The template's variables, one parameter each (`title=Hello`).",
            "schema": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    ]
    operation = {
        "operationId": "renderTemplate",
        "summary": "Render a template of the server's folder with the query as its variables",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "The card; `ETag` and `Cache-Control` for CDNs.",
                "headers": {
                    "ETag": {"description": "Strong validator.", "schema": {"type": "string"}},
                    "Cache-Control": {"schema": {"type": "string"}},
                },
                "content": {t: {"schema": {"type": "string"}} for t in sorted(images)},
            },
            "304": {"description": "`If-None-Match` matched the card's `ETag`."},
            **{k: {"description": v, "content": error_content} for k, v in statuses.items()},
        },
    }
    return {"/og/{file}": {"get": operation}}


def build_openapi(
    card_schema: dict[str, Any],
    auth_required: bool,
    max_batch_items: int = 100,
    templates: bool = False,
) -> dict[str, Any]:
    card = _rewrite(json.loads(json.dumps(card_schema)))
    defs = card.pop("$defs", {})
    schemas = dict(defs)
    schemas["Card"] = card
    schemas["Error"] = _error_schema()
    schemas["Issue"] = _ISSUE
    schemas.update(_batch_schemas(max_batch_items))
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
            },
            "report": {
                "type": "object",
                "description": "With `?report=1`: the render report, as `renderer render "
                "--report` writes it (each component's pointer, box, lines, font size, and "
                "whether it was clamped, overflowed, drew missing glyphs or a placeholder).",
                "properties": {"components": {"type": "array", "items": {"type": "object"}}},
            },
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
        "304": {
            "description": "`If-None-Match` matched the image's `ETag` (or was `*`) and the "
            "engine accepts the body; a body it refuses is a 400, never a 304."
        },
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
            "schema": {"enum": [*FORMAT_NAMES, "json"]},
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
        {
            "name": "report",
            "in": "query",
            "required": False,
            "description": "`1`: answer the JSON shape with `report`, the render report, beside "
            "the image (in the format `Accept` or `?format=` chose; the playground at `/` uses "
            "it); a `Server-Timing: render;dur=<ms>` header gives the render time. Renderer "
            "extension; authenticated and counted like any render.",
            "schema": {"enum": ["0", "1"]},
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
            "description": "Local drop-in for Craftr.art's `POST /api/v1/image`, plus batch "
            "jobs (`POST /api/v1/batch`, `GET /api/v1/jobs/{id}`).",
        },
        "paths": {
            "/api/v1/image": {"post": operation},
            **_batch_paths(auth_required),
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
    if templates:
        doc["paths"].update(_og_paths())
    if auth_required:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        operation["security"] = [{"bearer": []}]
    return doc


def _version() -> str:
    from renderer import __version__

    return __version__
