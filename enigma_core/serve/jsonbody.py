"""Read a request body with a size limit and parse it as JSON into a one-line 4xx on failure."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from enigma_core.serve.errors import ApiError, invalid


def too_large(limit: int) -> ApiError:
    """The 413 for a body over ``limit`` bytes."""
    return ApiError(
        413,
        f"request body too large: the limit is {limit:,} bytes (see --max-body-mb)",
        "request_too_large",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; 413 as soon as the declared or received size passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise invalid("Content-Length header is not a number", code="bad_header") from None
        if size > limit:
            raise too_large(limit)
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> dict[str, Any]:
    """A JSON object from ``raw``; 400 naming the line and column when it is not one."""
    if not raw.strip():
        raise invalid("request body is empty: send a JSON object", code="invalid_json")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(
            f"request body is not UTF-8 (byte {exc.start})", code="invalid_json"
        ) from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise invalid(
            f"request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            code="invalid_json",
        ) from None
    except ValueError as exc:
        raise invalid(f"request body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:
        raise invalid("request body is nested too deeply", code="invalid_json") from None
    if not isinstance(data, dict):
        raise invalid(
            f"request body must be a JSON object, not {json_type(data)}", code="invalid_json"
        )
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """Body → JSON object, with the size limit and clear errors."""
    return parse_json(await read_body(request, limit))


def json_type(value: Any) -> str:
    """The JSON name of a Python value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"
