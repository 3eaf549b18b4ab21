"""What is sent upstream: the conversation (or the request text), the system prompt, options."""

from __future__ import annotations

from typing import Any

from enigma_openai.settings import Backend, DeclaredTask

PASSED_OPTIONS = ("temperature", "top_p", "seed")
"""Per-call options (from ``enigma serve`` clients or the Python API) sent on to the server."""


def upstream_messages(
    request: str, messages: list[dict[str, Any]], system: str
) -> list[dict[str, Any]]:
    """``messages`` when the call carried a conversation, else one user message with ``request``.

    ``system`` (the task's or backend's prompt) goes first unless the conversation already
    starts with its own system message, which then wins.
    """
    sent = [
        {"role": m["role"], "content": m["content"]}
        for m in messages
        if isinstance(m, dict) and isinstance(m.get("role"), str) and m.get("content") is not None
    ]
    if not sent:
        sent = [{"role": "user", "content": request}]
    if system and sent[0]["role"] != "system":
        sent.insert(0, {"role": "system", "content": system})
    return sent


def system_prompt(backend: Backend, task: DeclaredTask | None) -> str:
    """The declared task's own system prompt, else the backend's."""
    return (task.system if task is not None and task.system else "") or backend.system


def sampling(backend: Backend, options: dict[str, Any]) -> dict[str, Any]:
    """``max_tokens``/``temperature``/... for the request: per-call values over config defaults.

    A per-call ``max_tokens`` never exceeds the backend's (that one is a cost limit).
    """
    params: dict[str, Any] = {}
    asked = options.get("max_tokens")
    limit = backend.max_tokens
    if isinstance(asked, int) and not isinstance(asked, bool) and asked > 0:
        params["max_tokens"] = min(asked, limit) if limit else asked
    elif limit:
        params["max_tokens"] = limit
    if backend.temperature is not None:
        params["temperature"] = backend.temperature
    for name in PASSED_OPTIONS:
        value = options.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            params[name] = value
    return params
