"""Does the router model know the installed intents? If not, say so and how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine

RETRAIN_HINT = "enigma train router"


def router_status(engine: EnigmaEngine) -> dict[str, Any]:
    """``{"model": bool, "stale": bool, "unknown_intents", "extra_labels", "hint"}``.

    Reads only the router's metadata (``enigma_model_info``); never loads weights or trains.
    Labels the model knows but no plugin owns are "extra" only if they are not first-party
    intents (e.g. ``image`` has no plugin yet but the default router knows it on purpose).
    """
    from enigma_core.catalog import KNOWN_INTENTS

    task = engine.tasks.get("router")
    if task is None:
        return {"model": False, "stale": False}
    info = engine.plugins.call_first(
        "enigma_model_info",
        task=task,
        model_dir=engine.model_dir("router"),
        context=engine.context(),
    )
    if not info:
        return {"model": False, "stale": False}
    labels = [label for label in info.get("labels", []) if label != "oos"]
    installed = engine.installed_intents()
    unknown = [i for i in installed if i not in labels]
    extra = [label for label in labels if label not in installed and label not in KNOWN_INTENTS]
    status: dict[str, Any] = {
        "model": True,
        "path": info.get("path"),
        "stale": bool(unknown or extra),
        "unknown_intents": unknown,
        "extra_labels": extra,
    }
    if status["stale"]:
        status["hint"] = (
            f"installed plugins changed since the router was trained: run `{RETRAIN_HINT}`"
        )
    return status
