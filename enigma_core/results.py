"""What the engine hands back and checks at its door: route results, the module view, requests.

Kept apart from :mod:`enigma_core.engine` so the engine file is only the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError
from enigma_core.types import Classification

MAX_REQUEST_CHARS = 20_000


@dataclass
class RouteResult:
    """Everything ``route`` decided and produced; ``to_dict`` is the ``route --json`` object."""

    text: str
    classification: Classification
    task: str | None
    plugin: str | None
    output: str
    data: dict[str, Any] = field(default_factory=dict)
    timings_ms: dict[str, float] = field(default_factory=dict)
    status: str = "ok"  # ok | missing_plugin | no_answer
    router: dict[str, Any] = field(default_factory=dict)

    @property
    def intent(self) -> str:
        """The intent the request was routed as."""
        return self.classification.intent

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        c = self.classification.to_dict()
        out: dict[str, Any] = {
            "text": self.text,
            "intent": c["intent"],
            "confidence": c["confidence"],
            "via": c["via"],
            "alternatives": c["alternatives"],
            "task": self.task,
            "plugin": self.plugin,
            "status": self.status,
            "output": self.output,
            "timings_ms": {k: round(v, 3) for k, v in self.timings_ms.items()},
        }
        if self.classification.details:
            out["classification"] = self.classification.details
        if self.data:
            out["data"] = self.data
        if self.router:
            out["router"] = self.router
        return out


@dataclass
class ModuleInfo:
    """The module-registry view of a task (the seed's ToolRouterModule shape)."""

    id: str
    task: str
    plugin: str | None
    provides: list[str]
    requires: list[str]
    optional: list[str]
    loaded: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


def _stamp(path: Path | None) -> tuple[int, int] | None:
    """The config file's (mtime_ns, size), or None when it does not exist."""
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def validate_request(text: Any) -> str:
    """Refuse non-strings, empty and oversized requests with a one-line error."""
    if not isinstance(text, str):
        raise EnigmaError(f"request must be text, not {type(text).__name__}")
    if not text.strip():
        raise EnigmaError("empty request: give some text to route (or '-' to read stdin)")
    if len(text) > MAX_REQUEST_CHARS:
        raise EnigmaError(
            f"request too long: {len(text):,} characters (the limit is {MAX_REQUEST_CHARS:,})"
        )
    return text
