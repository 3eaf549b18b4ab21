"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}`` with the right status.

Handlers raise :class:`ApiError`; nothing else ever reaches a client (no tracebacks).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    500: "server_error",
    502: "api_error",
    503: "api_error",
    504: "api_error",
}


@dataclass
class ApiError(Exception):
    """An error answered to the client: status, one-line message, OpenAI ``code`` and ``param``."""

    status: int
    message: str
    code: str
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message

    def body(self) -> bytes:
        """The JSON body OpenAI clients parse."""
        return error_body(self.status, self.message, self.code, self.param)


def error_body(status: int, message: str, code: str, param: str | None = None) -> bytes:
    """Encode one OpenAI-style error object."""
    error = {
        "message": message,
        "type": TYPES.get(status, "api_error"),
        "param": param,
        "code": code,
    }
    return json.dumps({"error": error}, ensure_ascii=False).encode("utf-8")


def quoted(value: str, limit: int = 60) -> str:
    """A client-supplied string shown in an error: quoted, escaped to one line, capped."""
    return repr(value[:limit]) + ("..." if len(value) > limit else "")


def invalid(message: str, param: str | None = None, code: str = "invalid_value") -> ApiError:
    """A 400 about one request parameter."""
    return ApiError(400, message, code, param)
