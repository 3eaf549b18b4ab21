"""The one exception type the CLI turns into a one-line message and exit code 1."""

from __future__ import annotations


class EnigmaError(Exception):
    """A known, user-facing error: its message is one line that says what and where."""


class PluginError(EnigmaError):
    """A plugin broke a rule of the plugin API (duplicate task, bad registration, ...)."""


class TokenizerMismatchError(EnigmaError):
    """A model was trained with a different shared tokenizer than the one loaded."""
