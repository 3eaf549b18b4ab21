"""The one exception type the CLI turns into a one-line message and exit code 1."""

from __future__ import annotations


class EnigmaError(Exception):
    """A known, user-facing error: its message is one line that says what and where."""


class PluginError(EnigmaError):
    """A plugin broke a rule of the plugin API (duplicate task, bad registration, ...)."""


class TokenizerMismatchError(EnigmaError):
    """A model was trained with a different shared tokenizer than the one loaded."""


class UpstreamError(EnigmaError):
    """A model server a task forwards to failed (down, timed out, refused, broke its stream).

    ``http_status`` is what a gateway answers its own client: 504 for a timeout, 502 otherwise;
    ``code`` is the OpenAI-style error code.
    """

    def __init__(self, message: str, http_status: int = 502, code: str = "upstream_error") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code


class TaskFailed(EnigmaError):
    """The plugin that owns a task failed to load, run or train it (its own fault, not the
    request's): a server answers 502 naming ``plugin``."""

    def __init__(self, message: str, plugin: str | None, task: str) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.task = task
