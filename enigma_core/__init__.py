"""enigma: run a team of small specialist models locally behind a tiny router.

Importing this package is cheap: no torch, no weights, no plugin discovery. ``EnigmaEngine``
is imported on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
PLUGIN_API_VERSION = "1.3"
"""Version of the plugin API (hookspecs and types); plugins may declare a compatible range."""

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine

__all__ = ["PLUGIN_API_VERSION", "EnigmaEngine", "__version__"]


def __getattr__(name: str) -> Any:
    """Lazily expose ``EnigmaEngine`` so ``import enigma_core`` stays fast."""
    if name == "EnigmaEngine":
        from enigma_core.engine import EnigmaEngine

        return EnigmaEngine
    raise AttributeError(f"module 'enigma_core' has no attribute {name!r}")
