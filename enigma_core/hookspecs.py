"""The enigma plugin API: every hook a plugin may implement, typed and documented.

A plugin is a module (or object) registered under the ``enigma`` entry-point group whose
functions are decorated with :data:`hookimpl`. Hooks are called by the core, never by plugins.
Types are imported under ``TYPE_CHECKING`` so importing this file stays cheap (no torch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pathlib import Path

    from enigma_core.commands import CommandGroups
    from enigma_core.context import TaskContext
    from enigma_core.training.recipe import TrainingRecipe
    from enigma_core.types import Classification, TaskResult, TaskSpec

PROJECT = "enigma"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the tasks this plugin owns by calling ``register(TaskSpec(...))`` once per task.

    Called once per plugin when the plugin manager is built. The core records which plugin
    registered each task and refuses a task name that another plugin already registered.
    Return value is ignored.
    """


@hookspec
def enigma_register_commands(groups: CommandGroups) -> None:
    """Add CLI subcommands, e.g. ``groups.eval.command("router")(fn)`` or ``groups.root``.

    Called once when the ``enigma`` CLI starts. ``groups`` holds typer apps: ``root``, ``data``,
    ``eval`` and ``bench``. Keep command modules light: import heavy code inside the command.
    Return value is ignored.
    """


@hookspec(firstresult=True)
def enigma_classify_intent(text: str, context: TaskContext) -> Classification | None:
    """Classify a request into one intent with a model; return None to defer.

    Called for every ``route``/``classify``. Stops at the first non-None result. Return None
    when no trained model is available, so the core falls back to keyword routing. A result
    whose intent is ``oos`` means the model is unsure; the core sends it to the default task.
    """


@hookspec(firstresult=True)
def enigma_classify_intents(texts: list[str], context: TaskContext) -> list[Classification] | None:
    """Classify several requests at once: one result per text, in order; None to defer.

    Optional (API 1.2): :meth:`EnigmaEngine.classify_many` (the server's classify batches)
    calls it first, and ``enigma_classify_intent`` for each text when no plugin answers. The
    results must be what ``enigma_classify_intent`` gives for each text; implement it when a
    batch costs less than its texts one by one (e.g. one vectorised forward pass).
    """


@hookspec(firstresult=True)
def enigma_load_model(task: TaskSpec, model_dir: Path | None, context: TaskContext) -> Any | None:
    """Load the model of ``task`` from ``model_dir`` (None: the plugin's shipped default).

    Called by :meth:`EnigmaEngine.load` at most once per task until it is unloaded, under a
    lock, so two threads never load the same model twice. Stops at the first non-None result.
    Return None if ``task`` is not yours; raise :class:`EnigmaError` if the model is missing.
    """


@hookspec(firstresult=True)
def enigma_model_info(
    task: TaskSpec, model_dir: Path | None, context: TaskContext
) -> dict[str, Any] | None:
    """Describe the model of ``task`` from its metadata only (never loads weights).

    Called by ``enigma plugins`` and routing diagnostics. Return a dict with at least ``path``
    and, for classifiers, ``labels``; None when ``task`` is not yours or no model exists.
    Stops at the first non-None result.
    """


@hookspec(firstresult=True)
def enigma_execute_task(
    task: TaskSpec, request: str, context: TaskContext
) -> TaskResult | str | None:
    """Run ``task`` on ``request`` and return its answer (a string or a :class:`TaskResult`).

    Called after routing picked ``task``. Stops at the first non-None result: return None when
    ``task`` is not yours. Use ``context.model(task.name)`` to get the lazily-loaded, cached
    model and ``context.emit(text)`` to stream output to the user as it is produced.
    """


@hookspec(firstresult=True)
def enigma_training_recipe(task: str, context: TaskContext) -> TrainingRecipe | None:
    """Return the task-specific parts of training (data, model head, loss, metric, export).

    Called by ``enigma train TASK``; the core owns the loop, checkpoints and progress.
    Stops at the first non-None result: return None when ``task`` is not yours.
    """


HOOK_NAMES: tuple[str, ...] = tuple(
    name for name in list(globals()) if name.startswith("enigma_") and callable(globals()[name])
)
