"""enigma-vision: describes images from features it can really extract, offline.

``describe_image`` (the seed's API) is imported lazily, so loading the plugin stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["describe", "describe_image"]


def __getattr__(name: str) -> Any:
    """Lazy access to the public API (imports Pillow and numpy only when first used)."""
    if name in __all__:
        from enigma_vision import api

        return getattr(api, name)
    raise AttributeError(f"module 'enigma_vision' has no attribute {name!r}")
