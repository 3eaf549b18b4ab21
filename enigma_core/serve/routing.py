"""The routing decision made before any output is sent, so headers can carry it.

:func:`decide` mirrors :meth:`EnigmaEngine.route` step for step (a test checks they agree) but
stops before executing: a streamed answer needs the intent and task in its headers first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from enigma_core.catalog import KNOWN_INTENTS, missing_plugin_message
from enigma_core.engine import OOS_INTENTS, EnigmaEngine, RouteResult
from enigma_core.types import Classification, TaskResult, TaskSpec


@dataclass
class Decision:
    """Which task answers: its classification, the task (None: no plugin) and the timings."""

    classification: Classification
    task: TaskSpec | None
    plugin: str | None
    status: str = "ok"
    message: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def headers(self) -> dict[str, str]:
        """The ``x-enigma-*`` response headers."""
        c = self.classification
        return {
            "x-enigma-intent": c.intent,
            "x-enigma-confidence": f"{float(c.confidence):.6f}",
            "x-enigma-via": c.via,
            "x-enigma-task": self.task.name if self.task is not None else "none",
        }

    def result(self, text: str, answer: TaskResult | None, execute_ms: float) -> RouteResult:
        """The :class:`RouteResult` the engine's ``route`` would have returned."""
        return RouteResult(
            text=text,
            classification=self.classification,
            task=self.task.name if self.task is not None else None,
            plugin=self.plugin,
            output=answer.output if answer is not None else self.message,
            data=answer.data if answer is not None else {},
            status=self.status,
            timings_ms={**self.timings_ms, "execute": execute_ms},
        )


def decide(engine: EnigmaEngine, text: str, options: dict[str, Any] | None) -> Decision:
    """Classify ``text`` and pick its task exactly as ``engine.route`` does."""
    start = time.perf_counter()
    classification = engine.classify(text, options)
    timings = {"classify": (time.perf_counter() - start) * 1000}
    intent = classification.intent
    task = None if intent in OOS_INTENTS else engine.intent_owner(intent)
    if intent in OOS_INTENTS:
        classification.details.setdefault("reason", "router unsure (out of scope)")
        classification.details["routed_from"] = intent
        classification.via = "default"
    if task is None and classification.via != "default" and intent in KNOWN_INTENTS:
        return Decision(
            classification,
            None,
            None,
            status="missing_plugin",
            message=missing_plugin_message(intent),
            timings_ms=timings,
        )
    if task is None:
        task = engine.default_task()
        if classification.via != "default":
            classification.details["routed_from"] = intent
            classification.via = "default"
    return Decision(
        classification, task, engine.plugins.task_owner.get(task.name), timings_ms=timings
    )


def forced(engine: EnigmaEngine, task: TaskSpec) -> Decision:
    """The decision for ``model: "enigma/<task>"``: no classification, the task is named."""
    intent = task.intents[0] if task.intents else task.name
    return Decision(
        Classification(intent=intent, confidence=1.0, via="explicit"),
        task,
        engine.plugins.task_owner.get(task.name),
        timings_ms={"classify": 0.0},
    )
