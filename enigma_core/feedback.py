"""Labels people gave logged decisions: ``ENIGMA_HOME/data/router_feedback.jsonl``.

One ``{"text", "intent", "decision", "ts"}`` JSON line per label (the router's JSON-lines data
format), appended atomically; ``enigma train router`` trains on it by default. A label for a
request whose text was not logged (``log.text: false``) cannot teach anything and is refused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from enigma_core.atomic import atomic_write_text
from enigma_core.errors import EnigmaError
from enigma_core.home import enigma_home

FEEDBACK_FILE = "router_feedback.jsonl"


def feedback_path() -> Path:
    """``ENIGMA_HOME/data/router_feedback.jsonl``."""
    return enigma_home() / "data" / FEEDBACK_FILE


def append_label(text: str | None, intent: str, decision_id: int) -> Path:
    """Add one labelled request to the feedback file; returns its path."""
    if text is None:
        raise EnigmaError(
            f"decision {decision_id} was logged without its text (log.text is false): "
            "nothing to learn from"
        )
    path = feedback_path()
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if old and not old.endswith("\n"):
        old += "\n"
    line = {"text": text, "intent": intent, "decision": decision_id, "ts": round(time.time(), 3)}
    atomic_write_text(path, old + json.dumps(line, ensure_ascii=False) + "\n")
    return path


def count_labels(path: Path | None = None) -> int:
    """How many labelled requests the feedback file holds (0 when there is none)."""
    path = path or feedback_path()
    if not path.is_file():
        return 0
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip())
