"""What the engine calls after each decision: build the row and hand it to the writer.

Holds the per-engine choices (source, text or hash, which router model decided) so the
engine's request path stays a few lines; a shadow router, when configured, classifies the same
text on its own thread and its answer is logged beside the real one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from enigma_core.decisions.record import Decision, text_hash
from enigma_core.decisions.writer import DecisionWriter, writer_for
from enigma_core.home import enigma_home

if TYPE_CHECKING:
    from enigma_core.decisions.shadow import ShadowRouter
    from enigma_core.engine import EnigmaEngine, RouteResult
    from enigma_core.types import Classification

LOG_FILE = "logs.db"


def log_path() -> Any:
    """``ENIGMA_HOME/logs.db``."""
    return enigma_home() / LOG_FILE


class DecisionLogger:
    """Turns an engine's decisions into log rows (nothing is written when logging is off)."""

    def __init__(self, engine: EnigmaEngine, source: str) -> None:
        self.engine = engine
        self.source = source
        self.shadow: ShadowRouter | None = None
        self._writer: DecisionWriter | None = None
        self._sha: dict[str, str | None] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """``log.enabled`` of the engine's config."""
        return self.engine.config.log.enabled

    def writer(self) -> DecisionWriter:
        """The process-wide writer of ``ENIGMA_HOME/logs.db``."""
        if self._writer is None:
            settings = self.engine.config.log
            self._writer = writer_for(log_path(), settings.max_rows, settings.max_days)
        return self._writer

    def forget_models(self) -> None:
        """Drop cached model hashes (after a promote or a config reload)."""
        with self._lock:
            self._sha.clear()

    def router_sha256(self) -> str | None:
        """The weights sha256 of the model that classified (None for keywords only)."""
        tasks = self.engine.classifier_tasks()
        if not tasks:
            return None
        name = tasks[0].name
        with self._lock:
            if name in self._sha:
                return self._sha[name]
        try:
            info = self.engine.model_info(name) or {}
        except Exception:  # a broken classifier must not break logging, nor logging routing
            info = {}
        sha = info.get("weights_sha256")
        with self._lock:
            self._sha[name] = sha
        return sha

    def _pending(
        self,
        kind: str,
        text: str,
        c: Classification,
        classify_ms: float,
        extra: dict[str, Any] | None = None,
    ) -> Callable[[], Decision]:
        """A builder of the row, run later on the writer thread: the request path only takes
        a timestamp and the model's hash; hashing and formatting happen off it."""
        return partial(
            _build,
            self,
            kind,
            text,
            c,
            classify_ms,
            extra,
            time.time(),
            self.router_sha256() if c.via == "model" else None,
        )

    def classified(self, text: str, c: Classification, classify_ms: float) -> None:
        """Log a ``classify`` decision."""
        if self.enabled:
            self._emit(self._pending("classify", text, c, classify_ms), text)

    def routed(self, result: RouteResult) -> None:
        """Log a ``route`` decision with the task that answered and the timings."""
        if not self.enabled:
            return
        timings = result.timings_ms
        extra = {
            "task": result.task,
            "plugin": result.plugin,
            "status": result.status,
            "execute_ms": round(timings.get("execute", 0.0), 4),
        }
        c = result.classification
        self._emit(
            self._pending("route", result.text, c, timings.get("classify", 0), extra), result.text
        )

    def failed(self, text: str, c: Classification, classify_ms: float, task: str) -> None:
        """Log a route whose task raised (status ``error``)."""
        if self.enabled:
            plugin = self.engine.plugins.task_owner.get(task)
            extra = {"task": task, "plugin": plugin, "status": "error"}
            self._emit(self._pending("route", text, c, classify_ms, extra), text)

    def _emit(self, decision: Callable[[], Decision], text: str) -> None:
        if self.shadow is not None:
            self.shadow.submit(decision, text, self.writer())
        else:
            self.writer().append(decision)


def _build(
    logger: DecisionLogger,
    kind: str,
    text: str,
    c: Classification,
    classify_ms: float,
    extra: dict[str, Any] | None,
    ts: float,
    sha: str | None,
) -> Decision:
    """The log row of one decision (runs on the writer thread)."""
    extra = extra or {}
    return Decision(
        kind=kind,
        source=logger.source,
        text=text if logger.engine.config.log.text else None,
        text_sha256=text_hash(text),
        intent=c.details.get("routed_from", c.intent) if c.via == "default" else c.intent,
        confidence=float(c.confidence),
        via=c.via,
        alternatives=c.alternatives,
        router_sha256=sha,
        classify_ms=round(classify_ms, 4),
        ts=ts,
        task=extra.get("task"),
        plugin=extra.get("plugin"),
        status=extra.get("status", "ok"),
        execute_ms=extra.get("execute_ms"),
    )
