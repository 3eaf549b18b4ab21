"""The enigma-openai plugin: model servers and the tasks declared on them in config.json.

Each entry of ``backends`` becomes a task with no intents (reached by name: ``chat.backend``, a
cascade's ``fallback``, ``model: "enigma/<name>"``); each entry of ``tasks`` becomes a routed
task (``origin="config"``) whose examples teach the router. Importing this module is cheap:
httpx is imported only when a task runs.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.errors import EnigmaError
from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskResult, TaskSpec
from enigma_openai.conversation import sampling, system_prompt, upstream_messages
from enigma_openai.settings import Backend, DeclaredTask, Sections, parse_sections

if TYPE_CHECKING:
    from enigma_core.commands import CommandGroups
    from enigma_core.context import TaskContext

ENIGMA_PLUGIN_API = ">=1.1,<2"
ORIGIN = "config"

_parsed: weakref.WeakKeyDictionary[Any, tuple[Any, Sections]] = weakref.WeakKeyDictionary()
"""Per engine: the config JSON last parsed (kept alive, compared by identity) and its sections."""
_parsed_lock = threading.Lock()


def read_sections() -> tuple[Sections, str]:
    """The ``backends``/``tasks`` of the user's config.json (validated) and the file's path.

    A file the core cannot read registers nothing here: the core reports it, in one line.
    """
    from enigma_core.config import load_config  # the core's reader: one parser, one error style

    try:
        config = load_config()
    except EnigmaError:
        return Sections(), "config.json"
    source = str(config.source or "config.json")
    return parse_sections(config.raw, source), source


def backend_spec(backend: Backend) -> TaskSpec:
    """A backend as a task: no intents, so only named calls reach it."""
    description = backend.description or f"model {backend.model} on {backend.shown_url}"
    return TaskSpec(name=backend.name, description=description, origin=ORIGIN)


def declared_spec(task: DeclaredTask) -> TaskSpec:
    """A declared task as the router and the engine see it."""
    return TaskSpec(
        name=task.name,
        intents=task.intents,
        description=task.description or f"answered by backend {task.backend!r}",
        keywords=task.keywords,
        examples=task.examples,
        fallback=task.fallback,
        escalate_below=task.escalate_below,
        origin=ORIGIN,
    )


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register every backend and declared task of config.json (none when it has none)."""
    sections, _ = read_sections()
    for backend in sections.backends.values():
        register(backend_spec(backend))
    for task in sections.tasks.values():
        register(declared_spec(task))


@hookimpl
def enigma_load_model(task: TaskSpec, model_dir: Path | None, context: TaskContext) -> Any:
    """A backend's "model" is its HTTP connection pool (closed when the engine unloads it)."""
    from enigma_openai.client import BackendClient

    return BackendClient(task.name)


def live_sections(context: TaskContext) -> Sections:
    """The sections of the engine's current config (it reloads edits); a broken edit keeps the
    last good ones with one warning, like the core does for its own fields."""
    engine = context.engine
    config = engine.config
    raw = config.raw
    with _parsed_lock:
        cached = _parsed.get(engine)
    if cached is not None and cached[0] is raw:
        return cached[1]
    try:
        sections = parse_sections(raw, str(config.source or "config.json"))
    except EnigmaError as exc:
        if cached is None:
            raise
        print(f"enigma: warning: backends/tasks not reloaded: {exc}", file=sys.stderr)
        sections = cached[1]
    with _parsed_lock:
        _parsed[engine] = (raw, sections)
    return sections


@hookimpl
def enigma_execute_task(task: TaskSpec, request: str, context: TaskContext) -> TaskResult:
    """Send the request (or the whole conversation) to the task's backend; stream when asked.

    An empty answer is ``no_answer`` (the engine then tries the task's fallback).
    """
    sections = live_sections(context)
    backend = sections.backend_of(task.name)
    if backend is None:
        raise EnigmaError(
            f"task {task.name!r} is no longer in config.json; restart enigma to drop it"
        )
    if backend.name not in context.tasks:
        raise EnigmaError(
            f"backend {backend.name!r} was added to config.json after enigma started; "
            "restart enigma to use it"
        )
    declared = sections.tasks.get(task.name)
    messages = upstream_messages(request, context.messages, system_prompt(backend, declared))
    client = context.model(backend.name)
    emit = context.emit if context.streaming else None
    answer = client.complete(backend, messages, sampling(backend, context.options), emit)
    data = {
        "backend": backend.name,
        "model": backend.model,
        "url": backend.shown_url,
        "finish_reason": answer.finish_reason,
        "attempts": answer.attempts,
        "streamed": answer.streamed,
    }
    if answer.usage:
        data["usage"] = answer.usage
    status = "ok" if answer.text.strip() else "no_answer"
    return TaskResult(output=answer.text, data=data, status=status)


@hookimpl
def enigma_register_commands(groups: CommandGroups) -> None:
    """``enigma config add-task``: declare a task (and its backend) without editing JSON."""
    if groups.config is None:
        return
    from enigma_openai.add_task import add_task

    groups.config.command("add-task")(add_task)
