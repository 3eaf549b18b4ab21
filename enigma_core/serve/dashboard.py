"""The web dashboard's JSON endpoints: modules with load/unload, decisions, labels, retraining.

They act on the worker's real engine (with ``--workers N`` each worker has its own). The page
itself (``/``) is a data-free shell; every figure it shows comes from these endpoints with the
same bearer key as the API.
"""

from __future__ import annotations

import os
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from enigma_core.errors import EnigmaError
from enigma_core.serve.dashboard_retrain import retrainer
from enigma_core.serve.errors import ApiError, quoted
from enigma_core.serve.jsonbody import read_json
from enigma_core.serve.responses import json_response
from enigma_core.serve.state import ServerState

PAGE_SIZE = 4096
MAX_DECISIONS = 500


def _state(request: Request) -> ServerState:
    return request.app.state.enigma


def rss_bytes() -> int | None:
    """This process's resident memory (Linux ``/proc``); None where unmeasurable."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


_memory: dict[str, int] = {}
"""Resident-memory growth measured when the dashboard loaded a model (bytes, by task)."""


def module_rows(state: ServerState) -> dict[str, Any]:
    """Every plugin, and every task (config-declared ones too) with its owner and load state."""
    engine = state.engine
    records = engine.plugin_records()
    owners = engine.plugins.task_owner
    by_name = {r.name: r for r in records}
    tasks = []
    for task in engine.tasks.values():
        owner = owners.get(task.name)
        record = by_name.get(owner or "")
        loaded = engine.is_loaded(task.name)
        tasks.append(
            {
                "task": task.name,
                "plugin": owner,
                "distribution": record.distribution if record else None,
                "version": record.version if record else None,
                "status": record.status if record else "ok",
                "error": record.error if record else None,
                "intents": list(task.intents),
                "classifies": bool(task.classifies),
                "loaded": loaded,
                "memory_bytes": _memory.get(task.name) if loaded else None,
            }
        )
    status = dict(engine.router_status())
    status.pop("path", None)
    return {
        "plugins": [r.to_dict() for r in records],
        "tasks": tasks,
        "router": status,
        "labels": label_choices(state),
        "process_rss_bytes": rss_bytes(),
        "worker_pid": os.getpid(),
    }


async def modules(request: Request) -> Response:
    """``GET /v1/dashboard/modules``."""
    state = _state(request)
    return json_response(
        await state.execute_lane.run(module_rows, state, timeout=state.settings.timeout)
    )


def _task_name(state: ServerState, request: Request) -> str:
    name = request.path_params["task"]
    if name not in state.engine.tasks:
        raise ApiError(404, f"task {quoted(name)} is not installed", "task_not_found", "task")
    return name


def _load(state: ServerState, name: str) -> None:
    before = rss_bytes()
    state.engine.load(name)
    after = rss_bytes()
    if before is not None and after is not None:
        _memory[name] = max(0, after - before)
    state.track_models()


def _unload(state: ServerState, name: str) -> None:
    state.engine.unload(name)
    _memory.pop(name, None)
    state.track_models()


async def load(request: Request) -> Response:
    """``POST /v1/dashboard/modules/{task}/load``: load its model into this worker's engine."""
    state = _state(request)
    name = _task_name(state, request)
    await state.execute_lane.run(_load, state, name, timeout=state.settings.timeout)
    return json_response({"task": name, "loaded": state.engine.is_loaded(name)})


async def unload(request: Request) -> Response:
    """``POST /v1/dashboard/modules/{task}/unload``: drop its model from this worker's engine."""
    state = _state(request)
    name = _task_name(state, request)
    await state.execute_lane.run(_unload, state, name, timeout=state.settings.timeout)
    return json_response({"task": name, "loaded": state.engine.is_loaded(name)})


def _float(request: Request, name: str) -> float | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a number", "invalid_value", name) from None


def _decisions(query: dict[str, Any]) -> list[dict[str, Any]]:
    from enigma_core.decisions import query as q
    from enigma_core.decisions.logger import log_path
    from enigma_core.decisions.writer import flush_all

    flush_all(1.0)
    path = log_path()
    if not path.is_file():
        return []
    conn = q.open_log(path)
    try:
        rows = q.select(conn, q.LogFilter(**query))
    finally:
        conn.close()
    out = []
    for d in rows:
        item = {k: getattr(d, k) for k in ("id", "ts", "kind", "source", "text", "intent")}
        item.update(
            confidence=d.confidence,
            via=d.via,
            task=d.task,
            status=d.status,
            label=d.label,
            classify_ms=d.classify_ms,
            execute_ms=d.execute_ms,
            alternatives=[[i, float(c)] for i, c in d.alternatives],
            review=q.review_reason(d),
        )
        out.append(item)
    return out


async def decisions(request: Request) -> Response:
    """``GET /v1/dashboard/decisions?limit&intent&via&below&review``: newest first."""
    state = _state(request)
    params = request.query_params
    limit = _float(request, "limit")
    query: dict[str, Any] = {
        "limit": max(1, min(MAX_DECISIONS, int(limit))) if limit is not None else 100,
        "intent": params.get("intent") or None,
        "via": params.get("via") or None,
        "below": _float(request, "below"),
        "review": params.get("review") in ("1", "true"),
    }
    rows = await state.execute_lane.run(_decisions, query, timeout=state.settings.timeout)
    return json_response({"object": "list", "data": rows})


def _label(decision_id: int, intent: str) -> dict[str, Any]:
    from enigma_core.decisions import query as q
    from enigma_core.decisions.logger import log_path
    from enigma_core.feedback import append_label

    conn = q.open_log(log_path())
    try:
        d = q.get(conn, decision_id)
        path = append_label(d.text, intent, decision_id)
        q.set_label(conn, decision_id, intent)
    finally:
        conn.close()
    return {"id": decision_id, "label": intent, "feedback": path.name}


async def label(request: Request) -> Response:
    """``POST /v1/dashboard/label`` ``{"id", "intent"}``: label a decision for the next retrain."""
    state = _state(request)
    body = await read_json(request, state.settings.max_body)
    decision_id, intent = body.get("id"), body.get("intent")
    if not isinstance(decision_id, int) or isinstance(decision_id, bool):
        raise ApiError(400, "id must be an integer", "invalid_value", "id")
    if not isinstance(intent, str) or not intent.strip():
        raise ApiError(400, "intent must be a non-empty string", "invalid_value", "intent")
    if intent not in label_choices(state):
        raise ApiError(400, f"unknown intent {quoted(intent)}", "invalid_value", "intent")
    try:
        result = await state.execute_lane.run(
            _label, decision_id, intent, timeout=state.settings.timeout
        )
    except EnigmaError as exc:  # no such decision, or its text was not logged
        raise ApiError(400, str(exc), "invalid_value", "id") from None
    return json_response(result)


def label_choices(state: ServerState) -> list[str]:
    """The labels a person may give (as ``enigma review label``): installed, known, ``oos``."""
    from enigma_core.catalog import KNOWN_INTENTS

    return sorted({*state.engine.installed_intents(), *KNOWN_INTENTS, "oos"})


async def retrain(request: Request) -> Response:
    """``POST /v1/dashboard/retrain`` starts ``enigma train router``; ``GET`` reports progress."""
    state = _state(request)
    job = retrainer(state)
    if request.method == "POST":
        job.start()
    return json_response(job.snapshot())
