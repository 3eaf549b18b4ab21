"""What a hook receives from the core: lazy access to models, the tokenizer and output streaming."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_core.types import TaskSpec


@dataclass(frozen=True)
class FileAccess:
    """Whether a task may open file paths that appear in request text, and where.

    The CLI and the Python API act for the local user (``user()``: their own files, minus
    devices, FIFOs, ``/proc`` and ``/sys``). A server answers other people: ``none()`` (a path is
    just text) unless the operator opts in to one directory with ``within(root)``.
    """

    allowed: bool = True
    root: Path | None = None

    @classmethod
    def user(cls) -> FileAccess:
        """The local user's own files (CLI and Python API)."""
        return cls(allowed=True, root=None)

    @classmethod
    def none(cls) -> FileAccess:
        """No file is read; paths in requests are text (the server's default)."""
        return cls(allowed=False, root=None)

    @classmethod
    def within(cls, root: str | Path) -> FileAccess:
        """Only files inside ``root`` (resolved; symlinks may not escape it)."""
        return cls(allowed=True, root=Path(root).resolve())


@dataclass
class TaskContext:
    """Per-call view of the engine handed to hooks; cheap to build, loads nothing by itself.

    ``options`` carries per-call switches from the CLI or API (e.g. ``show_sources``,
    ``max_tokens``); ``emit`` streams text to the user while a task is still running.
    """

    engine: EnigmaEngine
    options: dict[str, Any] = field(default_factory=dict)
    emit_fn: Callable[[str], None] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The whole conversation (OpenAI-style ``{"role", "content"}`` dicts) when the request came
    from a chat API; empty for a single CLI/API request (the request text is then the message)."""
    images: list[Any] = field(default_factory=list)
    """Images attached to the request, already decoded and size-checked (``PIL.Image.Image``)."""
    files: FileAccess = field(default_factory=lambda: FileAccess.user())
    """Which file paths named in the request text a task may read (see :class:`FileAccess`)."""

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
