"""Process-wide CLI state: one plugin manager and engine per ``enigma`` invocation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine
    from enigma_core.plugins import EnigmaPluginManager

_manager: EnigmaPluginManager | None = None


def plugin_manager() -> EnigmaPluginManager:
    """The plugin manager, built on first use."""
    global _manager
    if _manager is None:
        from enigma_core.plugins import build_plugin_manager

        _manager = build_plugin_manager()
    return _manager


def engine(model_dirs: dict[str, Path] | None = None, use_routing: bool = True) -> EnigmaEngine:
    """A fresh engine over the shared plugin manager (config read now).

    ``model_dirs`` overrides task model directories for this invocation (``--model``).
    """
    from enigma_core.engine import EnigmaEngine

    return EnigmaEngine(
        use_routing=use_routing,
        plugin_manager=plugin_manager(),
        model_dirs=model_dirs,
        source="cli",
    )
