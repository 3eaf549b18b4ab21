"""Does the router model know the installed intents? If not, say so and how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine

RETRAIN_HINT = "enigma train {task}"


def router_status(engine: EnigmaEngine) -> dict[str, Any]:
    """``{"model": bool, "task", "stale": bool, "unknown_intents", "extra_labels", "hint"}``.

    The router is whichever installed task declares ``classifies=True``. Reads only its
    metadata (``enigma_model_info``); never loads weights or trains.
    Labels the model knows but no plugin owns are "extra" only if they are not first-party
    intents (e.g. ``image`` has no plugin yet but the default router knows it on purpose).
    """
    from enigma_core.catalog import KNOWN_INTENTS

    classifiers = engine.classifier_tasks()
    if not classifiers:
        return {"model": False, "stale": False}
    task = classifiers[0]
    info = engine.model_info(task.name)
    if not info:
        return {"model": False, "stale": False}
    labels = [label for label in info.get("labels", []) if label != "oos"]
    installed = engine.installed_intents()
    unknown = [i for i in installed if i not in labels]
    extra = [label for label in labels if label not in installed and label not in KNOWN_INTENTS]
    status: dict[str, Any] = {
        "model": True,
        "task": task.name,
        "path": info.get("path"),
        "stale": bool(unknown or extra),
        "unknown_intents": unknown,
        "extra_labels": extra,
    }
    if status["stale"]:
        status["hint"] = (
            f"installed plugins changed since the {task.name} was trained: "
            f"run `{RETRAIN_HINT.format(task=task.name)}`"
        )
    return status
