"""Does the router model know the installed intents? If not, say so and how to fix it.

Three kinds of drift make the router stale: an installed intent it was not trained on, an intent
it knows that no installed plugin owns any more (named with the plugin it came from, read from
``intent_sources`` in its config), and an installed task whose example requests changed since
training (an upgraded plugin; compared with the ``example_hashes`` recorded at training).
"""

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
    sources = info.get("intent_sources") or {}
    orphans = {
        label: sources[label] for label in labels if label not in installed and label in sources
    }
    recorded = info.get("example_hashes") or {}
    changed = sorted(
        t.name
        for t in engine.tasks.values()
        if t.name in recorded and recorded[t.name] != t.examples_sha256
    )
    status: dict[str, Any] = {
        "model": True,
        "task": task.name,
        "path": info.get("path"),
        "stale": bool(unknown or extra or orphans or changed),
        "unknown_intents": unknown,
        "extra_labels": extra,
        "orphaned_intents": orphans,
        "changed_examples": changed,
    }
    if status["stale"]:
        reasons = []
        if unknown:
            reasons.append(f"intents it does not know: {', '.join(unknown)}")
        for label, plugin in orphans.items():
            reasons.append(f"it knows {label!r} from plugin {plugin!r}, which is not installed")
        if changed:
            reasons.append(f"example requests changed for: {', '.join(changed)}")
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        status["hint"] = (
            f"installed plugins changed since the {task.name} was trained{detail}: "
            f"run `{RETRAIN_HINT.format(task=task.name)}`"
        )
    return status
