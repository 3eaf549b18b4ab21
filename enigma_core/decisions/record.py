"""One logged decision: what was asked, what was decided, by which model, how fast."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def text_hash(text: str) -> str:
    """sha256 of the request text (logged instead of the text when ``log.text`` is false)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Decision:
    """A row of the ``decisions`` table (``id`` is None until it is written)."""

    kind: str  # classify | route
    source: str  # cli | api | server
    text: str | None
    text_sha256: str
    intent: str
    confidence: float
    via: str
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    task: str | None = None
    plugin: str | None = None
    router_sha256: str | None = None
    classify_ms: float | None = None
    execute_ms: float | None = None
    status: str = "ok"
    shadow_intent: str | None = None
    shadow_confidence: float | None = None
    shadow_sha256: str | None = None
    ts: float = field(default_factory=time.time)
    id: int | None = None
    label: str | None = None

    COLUMNS = (
        "ts", "kind", "source", "text", "text_sha256", "intent", "confidence", "via",
        "alternatives", "task", "plugin", "router_sha256", "classify_ms", "execute_ms", "status",
        "shadow_intent", "shadow_confidence", "shadow_sha256",
    )  # fmt: skip

    def row(self) -> tuple[Any, ...]:
        """The values of :attr:`COLUMNS`, in order, as SQLite stores them."""
        alternatives = _compact([[i, round(float(c), 6)] for i, c in self.alternatives])
        return (
            self.ts, self.kind, self.source, self.text, self.text_sha256, self.intent,
            self.confidence, self.via, alternatives, self.task, self.plugin, self.router_sha256,
            self.classify_ms, self.execute_ms, self.status, self.shadow_intent,
            self.shadow_confidence, self.shadow_sha256,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Decision:
        """Back from a ``sqlite3.Row`` (as a dict)."""
        data = {k: row[k] for k in (*cls.COLUMNS, "id", "label") if k in row}
        data["alternatives"] = [tuple(a) for a in json.loads(data.get("alternatives") or "[]")]
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``enigma logs --json``)."""
        out = {k: v for k, v in self.__dict__.items() if v is not None or k in ("task", "text")}
        out["alternatives"] = [{"intent": i, "confidence": c} for i, c in self.alternatives]
        return out
