"""The OpenAPI 3.0 description of the server, served at ``/openapi.json`` for schemathesis."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from enigma_core import __version__
from enigma_core.serve.validate import MAX_BATCH, MAX_MESSAGES, MAX_TEXT, MAX_TOKENS, OPTION_TYPES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Invalid request (the message names the parameter).",
        401: "Missing or wrong API key.",
        404: "Unknown model, task or path.",
        413: "Request body over the size limit.",
        429: "Server busy; retry after Retry-After seconds.",
        502: "A plugin failed while running the task.",
        503: "Shutting down or not ready.",
        504: "The task did not finish in time.",
    }
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


POST_ERRORS = (400, 401, 413, 429, 503, 504)
TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": "[^\\s]"}
_OPTION_SCHEMAS: dict[str, dict[str, Any]] = {
    "show_sources": {"type": "boolean", "nullable": True},
    "faces": {"type": "boolean", "nullable": True},
    "max_tokens": {"type": "integer", "minimum": 1, "maximum": MAX_TOKENS, "nullable": True},
    "seed": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1, "nullable": True},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2, "nullable": True},
    "top_p": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "oos_threshold": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "oos_margin": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "oos_budget": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
    "explain": {"type": "boolean", "nullable": True},
}
"""Optional values may be null (OpenAI clients send null for "not set")."""
assert set(_OPTION_SCHEMAS) == set(OPTION_TYPES)


def _schemas(models: tuple[str, ...]) -> dict[str, Any]:
    part = {
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "text"],
                "properties": {"type": {"enum": ["text"]}, "text": {"type": "string"}},
            },
            {
                "type": "object",
                "required": ["type", "image_url"],
                "properties": {
                    "type": {"enum": ["image_url"]},
                    "image_url": {
                        "type": "object",
                        "required": ["url"],
                        "properties": {"url": {"type": "string"}, "detail": {"type": "string"}},
                    },
                },
            },
        ]
    }
    message = {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
            "content": {"oneOf": [TEXT, {"type": "array", "items": part, "minItems": 1}]},
            "name": {"type": "string"},
        },
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["message", "type", "code"],
                    "properties": {
                        "message": {"type": "string"},
                        "type": {"type": "string"},
                        "param": {"type": "string", "nullable": True},
                        "code": {"type": "string"},
                    },
                }
            },
        },
        "ChatRequest": {
            "type": "object",
            "required": ["model", "messages"],
            "properties": {
                "model": {"type": "string", "enum": list(models)},
                "messages": {
                    "type": "array",
                    "items": message,
                    "minItems": 1,
                    "maxItems": MAX_MESSAGES,
                },
                "stream": {"type": "boolean", "nullable": True},
                "stream_options": {
                    "type": "object",
                    "nullable": True,
                    "properties": {"include_usage": {"type": "boolean"}},
                },
                "max_tokens": _OPTION_SCHEMAS["max_tokens"],
                "max_completion_tokens": _OPTION_SCHEMAS["max_tokens"],
                "temperature": _OPTION_SCHEMAS["temperature"],
                "top_p": _OPTION_SCHEMAS["top_p"],
                "seed": _OPTION_SCHEMAS["seed"],
                "n": {"type": "integer", "enum": [1], "nullable": True},
            },
        },
        "ClassifyRequest": {
            "type": "object",
            "required": ["input"],
            "properties": {
                "input": {
                    "oneOf": [
                        TEXT,
                        {"type": "array", "items": TEXT, "minItems": 1, "maxItems": MAX_BATCH},
                    ]
                },
                "oos_threshold": _OPTION_SCHEMAS["oos_threshold"],
                "oos_margin": _OPTION_SCHEMAS["oos_margin"],
                "oos_budget": _OPTION_SCHEMAS["oos_budget"],
                "explain": _OPTION_SCHEMAS["explain"],
            },
        },
        "RouteRequest": {
            "type": "object",
            "required": ["input"],
            "properties": {
                "input": TEXT,
                "task": {
                    "type": "string",
                    "enum": [m.split("/", 1)[1] for m in models[1:]] + [None],
                    "nullable": True,
                },
                "options": {
                    "type": "object",
                    "nullable": True,
                    "properties": _OPTION_SCHEMAS,
                    "additionalProperties": False,
                },
            },
        },
        "Object": {"type": "object"},
    }


def _post(summary: str, schema: str, extra_errors: tuple[int, ...] = ()) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(schema)}},
            },
            "responses": {
                "200": _json(_ref("Object"), "The answer."),
                **_errors(*POST_ERRORS, *extra_errors),
            },
        }
    }


def _get(summary: str, *codes: int, public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": {"description": "OK"}, **_errors(*codes)},
    }
    if public:
        op["security"] = []
    return {"get": op}


@lru_cache(maxsize=4)
def openapi_document(models: tuple[str, ...]) -> dict[str, Any]:
    """The whole document for a server offering ``models`` (``enigma`` first)."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "enigma serve",
            "version": __version__,
            "description": "OpenAI-compatible routing server; see docs/SERVING.md.",
        },
        "components": {
            "schemas": _schemas(models),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/chat/completions": _post(
                "Chat completion: 'enigma' routes, 'enigma/<task>' forces a task.",
                "ChatRequest",
                (404, 502),
            ),
            "/v1/classify": _post("Intent of one text or a list of texts.", "ClassifyRequest"),
            "/v1/route": _post(
                "Classify and run one text (enigma route --json).", "RouteRequest", (404, 502)
            ),
            "/v1/models": _get("The routing model and one model per task.", 401),
            "/v1/models/{model}": {
                "get": {
                    **_get("One model entry.", 401, 404)["get"],
                    "parameters": [
                        {
                            "name": "model",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "enum": list(models)},
                        }
                    ],
                }
            },
            "/v1/plugins": _get("Every discovered plugin and the router's status.", 401),
            "/healthz": _get("Alive.", public=True),
            "/readyz": _get("Plugins and router model loaded.", 503, public=True),
            "/metrics": _get("Prometheus metrics.", 401),
        },
    }
