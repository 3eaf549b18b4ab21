"""What a hook receives from the core: lazy access to models, the tokenizer and output streaming."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_core.types import TaskSpec


@dataclass
class TaskContext:
    """Per-call view of the engine handed to hooks; cheap to build, loads nothing by itself.

    ``options`` carries per-call switches from the CLI or API (e.g. ``show_sources``,
    ``max_tokens``); ``emit`` streams text to the user while a task is still running.
    """

    engine: EnigmaEngine
    options: dict[str, Any] = field(default_factory=dict)
    emit_fn: Callable[[str], None] | None = None

    def model(self, name: str) -> Any:
        """The loaded model of task ``name``: loaded on first use, cached, thread-safe."""
        return self.engine.load(name)

    def tokenizer(self) -> SharedTokenizer:
        """The shared tokenizer (loaded once per engine)."""
        return self.engine.tokenizer()

    @property
    def tasks(self) -> dict[str, TaskSpec]:
        """Every registered task by name."""
        return self.engine.tasks

    def emit(self, text: str) -> None:
        """Stream a piece of output to the user (a no-op when nobody listens)."""
        if self.emit_fn is not None and text:
            self.emit_fn(text)

    @property
    def streaming(self) -> bool:
        """True when emitted text reaches the user as it is produced."""
        return self.emit_fn is not None
