"""The outermost ASGI layer: draining, bearer auth, in-flight count, access log, request metrics.

Pure ASGI (no per-request task or body copy): it runs on every request, so it stays cheap.
"""

from __future__ import annotations

import hmac
import sys
import time
from typing import Any

from enigma_core.serve.errors import ApiError
from enigma_core.serve.responses import SCOPE_KEY
from enigma_core.serve.state import ServerState

PUBLIC = frozenset({"/healthz", "/readyz", "/"})
"""Paths answered without an API key: the probes, and the dashboard page (a shell, no data)."""
ENDPOINTS = frozenset(
    {
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/v1/models",
        "/v1/chat/completions",
        "/v1/classify",
        "/v1/route",
        "/v1/plugins",
    }
)

Scope = dict[str, Any]


def endpoint_label(path: str) -> str:
    """A bounded label for a request path (unknown paths share one value)."""
    if path in ENDPOINTS:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{model}"
    return "other"


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe for one log line: control characters replaced, length capped."""
    clean = "".join(c if c.isprintable() else "?" for c in text[:limit])
    return clean + ("..." if len(text) > limit else "")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class Gate:
    """Wraps the Starlette app; see the module docstring."""

    def __init__(self, app: Any, state: ServerState) -> None:
        self.app = app
        self.state = state
        key = state.settings.api_key
        self._expected = b"Bearer " + key.encode("utf-8") if key else None

    def _authorized(self, scope: Scope) -> bool:
        if self._expected is None:
            return True
        given = _header(scope, b"authorization") or b""
        return hmac.compare_digest(given, self._expected)

    async def _refuse(self, send: Any, error: ApiError, close: bool = False) -> None:
        body = error.body()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in error.headers.items()]
        if close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        start = time.perf_counter()
        path = scope["path"]
        info = {"status": "0", "intent": "-", "task": "-", "via": "-"}
        scope[SCOPE_KEY] = info

        recorded = False

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal recorded
            if message["type"] == "http.response.start":
                info["status"] = str(message["status"])
            elif (
                message["type"] == "http.response.body"
                and not message.get("more_body", False)
                and not recorded
            ):
                # Counted before the last byte leaves: a client that has its answer sees it
                # in /metrics and in the log.
                recorded = True
                self._record(scope, path, info, time.perf_counter() - start)
            await send(message)

        state.in_flight += 1
        state.metrics.in_flight.inc()
        try:
            if state.draining and path != "/healthz":
                error = ApiError(503, "server is shutting down; retry elsewhere", "shutting_down")
                await self._refuse(send_wrapper, error, close=True)
            elif path not in PUBLIC and not self._authorized(scope):
                error = ApiError(
                    401,
                    "missing or wrong API key: send 'Authorization: Bearer <key>'",
                    "invalid_api_key",
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await self._refuse(send_wrapper, error)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            state.in_flight -= 1
            state.metrics.in_flight.dec()
            if not recorded:  # the response never completed (client gone, server error)
                self._record(scope, path, info, time.perf_counter() - start)

    def _record(self, scope: Scope, path: str, info: dict[str, str], seconds: float) -> None:
        label = endpoint_label(path)
        metrics = self.state.metrics
        metrics.requests.labels(
            label, info["status"], info["intent"], info["task"], info["via"]
        ).inc()
        metrics.request_seconds.labels(label).observe(seconds)
        if self.state.settings.access_log:
            client = scope.get("client")
            host = client[0] if client else "-"
            line = f"{scope['method']} {printable(path)}"
            sys.stderr.write(
                f'{host} "{line}" {info["status"]} intent={info["intent"]} task={info["task"]} '
                f"via={info['via']} {seconds * 1000:.1f}ms\n"
            )
