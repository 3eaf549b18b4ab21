"""enigma's own endpoints: classify, route, plugins, models, health, readiness and metrics."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from enigma_core.engine import RouteResult
from enigma_core.serve.chat import MODEL
from enigma_core.serve.errors import ApiError, quoted
from enigma_core.serve.failures import to_api_error
from enigma_core.serve.jsonbody import read_json
from enigma_core.serve.metrics import CONTENT_TYPE
from enigma_core.serve.responses import classification_headers, json_response, note, note_decision
from enigma_core.serve.routing import Listener, decision_of, forced_result, listening
from enigma_core.serve.state import ServerState
from enigma_core.serve.validate import classify_inputs, classify_options, options_from, text_value


def _state(request: Request) -> ServerState:
    return request.app.state.enigma


async def classify(request: Request) -> Response:
    """``POST /v1/classify``: the intent of one text, or of a list in order; runs no task."""
    state = _state(request)
    body = await read_json(request, state.settings.max_body)
    texts, single = classify_inputs(body)
    options = classify_options(body)
    timeout = state.settings.timeout
    try:
        results = await state.classifier.run(texts, options, timeout=timeout)
    except Exception as exc:
        raise to_api_error(exc, None, state, timeout) from None
    items = [{"text": text, **c.to_dict()} for text, c in results]
    if not single:
        return json_response({"object": "list", "data": items})
    c = results[0][1]
    owner = state.engine.intent_owner(c.intent)
    task = owner.name if owner is not None else "none"
    note(request, intent=c.intent, via=c.via, task=task)
    return json_response(items[0], headers={**classification_headers(c), "x-enigma-task": task})


def _route_one(
    state: ServerState, text: str, task_name: str | None, options: dict[str, Any], seen: Listener
) -> RouteResult:
    engine = state.engine
    listening(seen)
    try:
        if task_name is None:
            result = engine.route(text, options=options, files=state.files)
            state.metrics.classify_seconds.observe(result.timings_ms["classify"] / 1000)
        else:
            start = time.perf_counter()
            answer = engine.execute(task_name, text, options=options, files=state.files)
            ms = (time.perf_counter() - start) * 1000
            result = forced_result(engine, seen, text, answer, ms)
    finally:
        listening(None)
    if result.task is not None:
        state.metrics.execute_seconds.labels(result.task).observe(
            result.timings_ms["execute"] / 1000
        )
    status = engine.router_status()
    if status.get("stale"):
        status.pop("path", None)
        result.router = status
    return result


async def route(request: Request) -> Response:
    """``POST /v1/route``: the ``enigma route --json`` object for one text."""
    state = _state(request)
    body = await read_json(request, state.settings.max_body)
    text = text_value(body.get("input"), "input") if "input" in body else None
    if text is None:
        raise ApiError(
            400, "missing required parameter 'input'", "missing_required_parameter", "input"
        )
    options = options_from(body)
    task_name = None
    if body.get("task") is not None:
        if not isinstance(body["task"], str):
            raise ApiError(400, "task must be a string", "invalid_value", "task")
        spec = state.engine.tasks.get(body["task"])
        if spec is None or not spec.intents:
            raise ApiError(
                404,
                f"task {quoted(body['task'])} is not installed (see GET /v1/models)",
                "task_not_found",
                "task",
            )
        task_name = spec.name
    seen = Listener()
    timeout = state.settings.timeout
    try:
        result = await state.execute_lane.run(
            _route_one, state, text, task_name, options, seen, timeout=timeout
        )
    except Exception as exc:
        decision = seen.decision()
        if decision is not None:
            note_decision(request, decision)
        raise to_api_error(exc, decision, state, timeout) from None
    decision = decision_of(result)
    note_decision(request, decision)
    state.track_models()
    return json_response(result.to_dict(), headers=decision.headers())


async def plugins(request: Request) -> Response:
    """``GET /v1/plugins``: every plugin (as ``enigma plugins --json``) and the router status."""
    state = _state(request)

    def collect() -> dict[str, Any]:
        records = [r.to_dict() for r in state.engine.plugin_records()]
        status = dict(state.engine.router_status())
        status.pop("path", None)
        return {"object": "list", "data": records, "router": status}

    return json_response(await state.execute_lane.run(collect, timeout=state.settings.timeout))


def model_entries(state: ServerState) -> list[dict[str, Any]]:
    """``enigma`` then ``enigma/<task>`` for every task that answers requests (every task but
    the intent classifiers: specialists, and model servers declared in config)."""
    owners = state.engine.plugins.task_owner
    records = state.engine.plugins.records
    entries = [{"id": MODEL, "object": "model", "created": 0, "owned_by": "enigma"}]
    for task in state.engine.tasks.values():
        if task.classifies:
            continue
        record = records.get(owners.get(task.name, ""))
        owner = (record.distribution if record is not None else None) or "enigma-core"
        entries.append(
            {"id": f"{MODEL}/{task.name}", "object": "model", "created": 0, "owned_by": owner}
        )
    return entries


async def models(request: Request) -> Response:
    """``GET /v1/models``: ``enigma`` (routes) plus ``enigma/<task>`` per installed task."""
    return json_response({"object": "list", "data": model_entries(_state(request))})


async def model(request: Request) -> Response:
    """``GET /v1/models/{model}``: one entry, 404 when unknown."""
    name = request.path_params["model"]
    for entry in model_entries(_state(request)):
        if entry["id"] == name:
            return json_response(entry)
    raise ApiError(
        404, f"model {quoted(name)} does not exist (see GET /v1/models)", "model_not_found", "model"
    )


async def healthz(request: Request) -> Response:
    """``GET /healthz``: the process is alive and its event loop answers."""
    state = _state(request)
    return json_response({"status": "draining" if state.draining else "ok"})


async def readyz(request: Request) -> Response:
    """``GET /readyz``: 200 once plugins and the router model are loaded; 503 before or draining."""
    state = _state(request)
    if state.draining:
        raise ApiError(503, "server is shutting down", "shutting_down")
    if not state.ready:
        detail = state.ready_detail.get("error", "still loading plugins and the router model")
        raise ApiError(503, f"not ready: {detail}", "not_ready")
    return json_response({"status": "ready", **state.ready_detail})


async def metrics(request: Request) -> Response:
    """``GET /metrics``: Prometheus text format."""
    return Response(_state(request).metrics.render(), media_type=CONTENT_TYPE)
