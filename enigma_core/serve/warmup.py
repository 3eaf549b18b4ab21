"""Start-up work of each worker: discover plugins, load the router model, optionally every model."""

from __future__ import annotations

from typing import Any

from enigma_core.engine import EnigmaEngine


def warm_up(engine: EnigmaEngine, preload: bool) -> dict[str, Any]:
    """Load what routing needs (and with ``preload`` every task's model); the readiness detail.

    A router that cannot load is an error (``/readyz`` stays 503 and says why); no router plugin
    at all means keyword routing, which is ready at once.
    """
    records = engine.plugin_records()
    router = "keywords"
    classifiers = engine.classifier_tasks()
    status = engine.router_status() if classifiers else {}
    if status.get("model"):
        # a server answers many requests: numpy first, so the router loads its numpy model
        # now (a CLI's single request is answered without numpy; see enigma_router.purepy)
        import numpy  # noqa: F401

        engine.load(classifiers[0].name)
        router = "model"
    engine.classify("hello")  # first call builds the keyword table and touches every cache
    engine.tokenizer()
    if preload:
        for name, task in engine.tasks.items():
            if task.intents and not task.classifies:
                engine.load(name)
    return {
        "plugins": sum(1 for r in records if r.status == "ok"),
        "plugin_errors": sorted(r.name for r in records if r.status == "error"),
        "router": router,
        "tasks": sorted(n for n, t in engine.tasks.items() if t.intents),
        "loaded": engine.loaded(),
    }
