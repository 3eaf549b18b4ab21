"""Does the router model know the installed intents? If not, say so and how to fix it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine

RETRAIN_HINT = "enigma train router"


def router_status(engine: EnigmaEngine) -> dict[str, Any]:
    """``{"model": bool, "stale": bool, "unknown_intents", "extra_labels", "hint"}``.

    Reads only the router's label list (via its loaded model's ``labels``); never trains.
    """
    if "router" not in engine.tasks:
        return {"model": False, "stale": False}
    try:
        model = engine.load("router")
    except Exception as exc:  # no trained router: keyword routing, nothing to retrain
        return {"model": False, "stale": False, "reason": str(exc).splitlines()[0]}
    labels = [label for label in getattr(model, "labels", []) if label not in ("oos",)]
    installed = engine.installed_intents()
    unknown = [i for i in installed if i not in labels]
    extra = [label for label in labels if label not in installed]
    status: dict[str, Any] = {
        "model": True,
        "stale": bool(unknown or extra),
        "unknown_intents": unknown,
        "extra_labels": extra,
    }
    if status["stale"]:
        status["hint"] = (
            f"installed plugins changed since the router was trained: run `{RETRAIN_HINT}`"
        )
    return status
