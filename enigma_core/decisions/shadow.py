"""A shadow router: a second router model that sees every request off the request path.

``enigma serve --shadow-router DIR`` (or ``EnigmaEngine(shadow_router=DIR)``) classifies each
request with the model in DIR on one background thread and logs its answer next to the real
decision; ``enigma logs --disagreements`` lists where the two differ. The shadow never changes
an answer and never slows one: when it falls behind, its answers are skipped (the decision is
still logged without them).
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enigma_core.decisions.writer import DecisionWriter
    from enigma_core.engine import EnigmaEngine

BACKLOG = 1_000
Pending = "Decision | Callable[[], Decision]"


class ShadowRouter:
    """Classifies with the shadow model on its own thread, then hands the row to the writer."""

    def __init__(self, engine: EnigmaEngine, model_dir: Path) -> None:
        tasks = engine.classifier_tasks()
        if not tasks:
            from enigma_core.errors import EnigmaError

            raise EnigmaError("--shadow-router: no installed plugin classifies intents")
        self.model_dir = Path(model_dir)
        self.shadow = type(engine)(  # the engine's own class: no import back into the engine
            config=engine.config,
            plugin_manager=engine.plugins,
            model_dirs={tasks[0].name: self.model_dir},
            source="shadow",
            log=False,
        )
        self.sha256 = (self.shadow.model_info(tasks[0].name) or {}).get("weights_sha256")
        self._queue: queue.Queue[tuple[Pending, str, DecisionWriter]] = queue.Queue(BACKLOG)
        self.skipped = 0
        threading.Thread(target=self._run, name="enigma-shadow-router", daemon=True).start()

    def submit(self, decision: Pending, text: str, writer: DecisionWriter) -> None:
        """Queue one decision for the shadow; when behind, log it without a shadow answer."""
        try:
            self._queue.put_nowait((decision, text, writer))
        except queue.Full:
            self.skipped += 1
            writer.append(decision)

    def _run(self) -> None:
        while True:
            pending, text, writer = self._queue.get()
            decision = pending() if callable(pending) else pending
            try:
                c = self.shadow.classify(text)
                decision.shadow_intent = c.intent
                decision.shadow_confidence = round(float(c.confidence), 6)
                decision.shadow_sha256 = self.sha256
            except Exception:  # the shadow is an experiment: its failure costs only its answer
                pass
            writer.append(decision)
            self._queue.task_done()

    def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every submitted decision went through the shadow (tests, shutdown)."""
        import time

        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
