"""enigma-code: a small code specialist trained on real mined Python.

``generate_code(prompt)`` (the seed's API) is imported lazily so that importing the package
(as the plugin manager does) loads no model and no numpy.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "generate_code"]


def __getattr__(name: str) -> Any:
    """Lazy access to :func:`enigma_code.generate.generate_code`."""
    if name == "generate_code":
        from enigma_code.generate import generate_code

        return generate_code
    raise AttributeError(f"module 'enigma_code' has no attribute {name!r}")
