"""Where enigma keeps per-user state: ``ENIGMA_HOME`` or the platform's user data directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def enigma_home() -> Path:
    """The per-user enigma directory (not created here); a file there is a one-line error.

    ``ENIGMA_HOME`` wins; otherwise ``$XDG_DATA_HOME/enigma`` (default ``~/.local/share/enigma``)
    on Linux, ``~/Library/Application Support/enigma`` on macOS, ``%LOCALAPPDATA%\\enigma`` on
    Windows.
    """
    explicit = os.environ.get("ENIGMA_HOME")
    if explicit:
        home = Path(explicit).expanduser()
        if home.exists() and not home.is_dir():
            from enigma_core.errors import EnigmaError

            raise EnigmaError(f"ENIGMA_HOME={explicit}: not a directory (point it at a folder)")
        return home
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "enigma"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "enigma"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "enigma"


def config_path() -> Path:
    """The config file: ``<ENIGMA_HOME>/config.json``."""
    return enigma_home() / "config.json"


def models_dir() -> Path:
    """Default parent directory of trained models: ``<ENIGMA_HOME>/models``."""
    return enigma_home() / "models"
