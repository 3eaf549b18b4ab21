"""Build the ASGI application: routes, error handling, start-up warm-up and the gate around it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from enigma_core.serve import api, chat
from enigma_core.serve.errors import ApiError
from enigma_core.serve.failures import to_api_error
from enigma_core.serve.gate import Gate
from enigma_core.serve.openapi import openapi_document
from enigma_core.serve.responses import json_response
from enigma_core.serve.settings import ServeSettings
from enigma_core.serve.state import ServerState, log
from enigma_core.serve.warmup import warm_up

Endpoint = Callable[[Request], Awaitable[Response]]
HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(error: ApiError) -> Response:
    """An :class:`ApiError` as its JSON response."""
    return Response(
        error.body(), status_code=error.status, headers=error.headers, media_type="application/json"
    )


def guarded(endpoint: Endpoint) -> Endpoint:
    """Turn whatever an endpoint raises into an OpenAI-style error (never a traceback)."""

    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as error:
            return error_response(error)
        except Exception as exc:
            state: ServerState = request.app.state.enigma
            return error_response(to_api_error(exc, None, state, state.settings.timeout))

    return wrapper


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    path = request.url.path
    message = (
        f"no such endpoint: {request.method} {path} (see /openapi.json)"
        if status == 404
        else f"method {request.method} is not allowed on {path}"
    )
    error = ApiError(status, message, HTTP_CODES.get(status, "http_error"))
    response = error_response(error)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def _openapi(request: Request) -> Response:
    state: ServerState = request.app.state.enigma
    models = tuple(entry["id"] for entry in api.model_entries(state))
    return json_response(openapi_document(models))


def routes() -> list[Route]:
    """Every endpoint of the server."""
    table: list[tuple[str, Endpoint, list[str]]] = [
        ("/v1/chat/completions", chat.chat_completions, ["POST"]),
        ("/v1/classify", api.classify, ["POST"]),
        ("/v1/route", api.route, ["POST"]),
        ("/v1/models", api.models, ["GET"]),
        ("/v1/models/{model:path}", api.model, ["GET"]),
        ("/v1/plugins", api.plugins, ["GET"]),
        ("/healthz", api.healthz, ["GET"]),
        ("/readyz", api.readyz, ["GET"]),
        ("/metrics", api.metrics, ["GET"]),
        ("/openapi.json", _openapi, ["GET"]),
    ]
    table += dashboard_routes()
    return [Route(path, guarded(fn), methods=methods) for path, fn, methods in table]


def dashboard_routes() -> list[tuple[str, Endpoint, list[str]]]:
    """The web dashboard: its page at ``/`` and its JSON endpoints (enigma_core/serve/dashboard)."""
    from enigma_core.serve import dashboard, dashboard_page

    return [
        ("/", dashboard_page.page, ["GET"]),
        ("/v1/dashboard/modules", dashboard.modules, ["GET"]),
        ("/v1/dashboard/modules/{task}/load", dashboard.load, ["POST"]),
        ("/v1/dashboard/modules/{task}/unload", dashboard.unload, ["POST"]),
        ("/v1/dashboard/decisions", dashboard.decisions, ["GET"]),
        ("/v1/dashboard/label", dashboard.label, ["POST"]),
        ("/v1/dashboard/retrain", dashboard.retrain, ["GET", "POST"]),
    ]


def create_app(settings: ServeSettings, engine: Any | None = None) -> Gate:
    """The server application over one shared engine (built here unless given)."""
    if engine is None:
        from enigma_core.serve.routing import ServingEngine

        engine = ServingEngine(use_routing=True, router_model=settings.router_model, source="serve")
    state = ServerState(settings=settings, engine=engine)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_warm(state))
        try:
            yield
        finally:
            task.cancel()
            state.shutdown()

    app = Starlette(
        routes=routes(),
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.enigma = state
    return Gate(app, state)


async def _warm(state: ServerState) -> None:
    """Load plugins and the router model in a thread; readiness follows the outcome."""
    try:
        detail = await asyncio.to_thread(warm_up, state.engine, state.settings.preload)
    except Exception as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        state.ready_detail = {"error": message}
        log(f"not ready: {message}")
        return
    state.ready_detail = detail
    state.ready = True
    state.track_models()
