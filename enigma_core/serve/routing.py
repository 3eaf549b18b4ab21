"""The engine the server runs, and how a request learns its routing decision while it runs.

Requests go through :meth:`EnigmaEngine.route` itself (decision log, cascades and all). A
stream must send its ``x-enigma-*`` headers before the task finishes, so :class:`ServingEngine`
tells the calling thread's :class:`Listener` what was classified (route's public
``on_decision`` hook) and which task runs (:meth:`EnigmaEngine.execute`), as it happens.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from enigma_core.engine import EnigmaEngine, RouteResult
from enigma_core.types import Classification, TaskResult, TaskSpec

_local = threading.local()


@dataclass
class Decision:
    """Which task answers a request and why; what the ``x-enigma-*`` headers say."""

    classification: Classification
    task: str | None
    plugin: str | None

    def headers(self) -> dict[str, str]:
        """The ``x-enigma-*`` response headers."""
        c = self.classification
        return {
            "x-enigma-intent": c.intent,
            "x-enigma-confidence": f"{float(c.confidence):.6f}",
            "x-enigma-via": c.via,
            "x-enigma-task": self.task or "none",
        }


@dataclass
class Listener:
    """What one request's thread has seen the engine decide so far."""

    classification: Classification | None = None
    task: TaskSpec | None = None
    plugin: str | None = None

    def classified(self, classification: Classification) -> None:
        """route()'s ``on_decision``: the request is classified (route may still adjust it)."""
        self.classification = classification

    def decision(self) -> Decision | None:
        """The decision as it stands (None before classification or forcing)."""
        if self.classification is None:
            return None
        name = self.task.name if self.task is not None else None
        return Decision(self.classification, name, self.plugin)


def listening(listener: Listener | None) -> None:
    """Make ``listener`` receive this thread's decisions (None: stop)."""
    _local.listener = listener


def _listener() -> Listener | None:
    return getattr(_local, "listener", None)


class ServingEngine(EnigmaEngine):
    """An :class:`EnigmaEngine` that reports its decisions to the calling thread's listener."""

    def route(
        self,
        text: str,
        *,
        on_decision: Callable[[Classification], None] | None = None,
        **extras: Any,
    ) -> RouteResult:
        """Route as the engine does, telling this thread's listener the classification."""
        listener = _listener()
        if on_decision is None and listener is not None:
            on_decision = listener.classified
        return super().route(text, on_decision=on_decision, **extras)

    def execute(self, task: TaskSpec | str, text: str, **extras: Any) -> TaskResult:
        """Run ``task`` as the engine does, after telling the listener which task it is."""
        listener = _listener()
        spec = self.tasks.get(task) if isinstance(task, str) else task
        if listener is not None and spec is not None:
            listener.task = spec
            listener.plugin = self.plugins.task_owner.get(spec.name)
            if listener.classification is None:  # forced: no classification happened
                intent = spec.intents[0] if spec.intents else spec.name
                listener.classification = Classification(intent, 1.0, "explicit")
        return super().execute(task, text, **extras)


def forced_result(
    engine: EnigmaEngine, listener: Listener, text: str, answer: TaskResult, ms: float
) -> RouteResult:
    """The :class:`RouteResult` of a task run by name (``model: "enigma/<task>"``)."""
    decision = listener.decision()
    assert decision is not None
    return RouteResult(
        text=text,
        classification=decision.classification,
        task=decision.task,
        plugin=decision.plugin,
        output=answer.output,
        data=answer.data,
        status=answer.status,
        timings_ms={"classify": 0.0, "execute": ms},
    )


def decision_of(result: RouteResult) -> Decision:
    """The decision a finished route result records."""
    return Decision(result.classification, result.task, result.plugin)
