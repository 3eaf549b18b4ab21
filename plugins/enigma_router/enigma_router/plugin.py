"""Hook implementations of the router plugin; imports nothing heavy at module level."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskOption, TaskSpec

if TYPE_CHECKING:
    from enigma_core.commands import CommandGroups
    from enigma_core.context import TaskContext
    from enigma_core.training.recipe import TrainingRecipe
    from enigma_core.types import Classification

ENIGMA_PLUGIN_API = ">=1.2,<2"

ROUTER_TASK = TaskSpec(
    name="router",
    module_id="tool_router",
    description="Classifies each request into an intent in one pass of an n-gram network.",
    default_size="nano",
    provides=("intent_classification", "specialized_routing", "model_routing"),
    requires=("tokenizer",),
    optional=("model",),
    classifies=True,
    options=(
        TaskOption(
            "--model",
            "model",
            "Router model directory (overrides the config).",
            kind="path",
            model_dir=True,
        ),
        TaskOption(
            "--oos-threshold",
            "oos_threshold",
            "For this call: a model answer less confident than this becomes 'oos'.",
            kind="float",
            min=0.0,
            max=1.0,
        ),
        TaskOption(
            "--oos-margin",
            "oos_margin",
            "For this call: a model answer leading the runner-up by less becomes 'oos'.",
            kind="float",
            min=0.0,
            max=1.0,
        ),
        TaskOption(
            "--oos-budget",
            "oos_budget",
            "Share of in-scope requests the router may reject as unknown (0-1; validation "
            "trade-off stored at training). On train: the default; on route/classify: this call.",
            kind="float",
            min=0.0,
            max=1.0,
            train=True,
        ),
        TaskOption(
            "--from-scratch",
            "from_scratch",
            "Train on the n-grams alone, without the static word vectors distilled from "
            "all-MiniLM-L6-v2 (Apache-2.0).",
            kind="flag",
            train=True,
            route=False,
        ),
        TaskOption(
            "--explain",
            "explain",
            "Show the nearest training examples (router feature space) behind the answer.",
            kind="flag",
        ),
    ),
)


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """The router is a task with no intents: it is trained and loaded, never routed to."""
    register(ROUTER_TASK)


@hookimpl
def enigma_register_commands(groups: CommandGroups) -> None:
    """``enigma eval router`` and ``enigma bench router`` (typer only at import)."""
    from enigma_router.commands import bench_router, eval_router

    groups.add_task_commands("router", eval=eval_router, bench=bench_router)


@hookimpl
def enigma_load_model(task: TaskSpec, model_dir: Path | None, context: TaskContext) -> Any | None:
    """The numpy RouterModel (no torch)."""
    from enigma_router.routing import load_router

    return load_router(model_dir, context)


@hookimpl
def enigma_model_info(
    task: TaskSpec, model_dir: Path | None, context: TaskContext
) -> dict[str, Any] | None:
    """Labels, plugin versions and calibration from config.json (weights are not read)."""
    from enigma_router.routing import model_info

    return model_info(model_dir)


@hookimpl
def enigma_classify_intent(text: str, context: TaskContext) -> Classification | None:
    """One forward pass of the router model; None (keywords) when no model is trained.

    ``context.options``: ``oos_threshold`` / ``oos_margin`` / ``oos_budget`` override the
    calibrated knobs, ``explain`` adds the nearest training examples. Installed intents the
    model does not know are matched on their task's examples (``newintents.py``) unless
    ``new_intents`` is False (then the core's keywords decide them, as before).
    """
    from enigma_router.routing import classify

    found = _router_call(context)
    return None if found is None else classify(found[0], text, **found[1])


@hookimpl
def enigma_classify_intents(texts: list[str], context: TaskContext) -> list[Classification] | None:
    """:func:`enigma_classify_intent` of several texts, their bag sums in one batch."""
    from enigma_router.routing import classify_many

    found = _router_call(context)
    return None if found is None else classify_many(found[0], texts, **found[1])


def _router_call(context: TaskContext) -> tuple[Any, dict[str, Any]] | None:
    """The router model and the per-call knobs from ``context``; None when none is trained."""
    from enigma_router.routing import resolve_model_dir, unknown_intents

    engine = context.engine
    # Resolving the directory stats files: only needed until the model is loaded.
    if not engine.is_loaded(ROUTER_TASK.name) and (
        resolve_model_dir(engine.model_dir(ROUTER_TASK.name)) is None
    ):
        return None
    opts = context.options
    model = context.model(ROUTER_TASK.name)
    return model, {
        "threshold": opts.get("oos_threshold"),
        "margin": opts.get("oos_margin"),
        "budget": _budget(opts.get("oos_budget")),
        "explain": bool(opts.get("explain")),
        "new_intents": None
        if opts.get("new_intents") is False
        else unknown_intents(model, context.tasks),
    }


def _budget(value: Any) -> float | None:
    """``oos_budget`` from options (CLI-checked there; the server passes JSON): 0..1 or error."""
    if value is None:
        return None
    from enigma_core.errors import EnigmaError

    try:
        budget = float(value)
    except (TypeError, ValueError):
        raise EnigmaError(f"oos_budget must be a number from 0 to 1, not {value!r}") from None
    if not 0.0 <= budget <= 1.0:
        raise EnigmaError(f"oos_budget must be from 0 to 1, not {budget}")
    return budget


@hookimpl
def enigma_training_recipe(task: str, context: TaskContext) -> TrainingRecipe:
    """``enigma train router``: seed data + every installed plugin's example requests."""
    from enigma_router.recipe import make_router_recipe

    return make_router_recipe(context)
