"""Strict JSON text and the one ``--json`` printer, without typer.

Kept apart from :mod:`enigma_core.commands` (which builds typer options) so that the CLI's
fast path for ``enigma classify``/``route`` can print JSON without importing typer or click.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

JSON_HELP = "Print machine-readable JSON on stdout."
"""Help text of the ``--json`` flag every command spells the same way."""


def _finite(obj: Any) -> Any:
    """``obj`` with NaN and infinities replaced by None (JSON has no such numbers)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def to_json(obj: Any, indent: int | None = None) -> str:
    """Strict JSON text: never ``NaN``/``Infinity`` (they become null), UTF-8 kept as is."""
    try:
        return json.dumps(obj, ensure_ascii=False, indent=indent, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(obj), ensure_ascii=False, indent=indent, allow_nan=False)


def print_json(obj: Any, indent: int | None = None) -> None:
    """One JSON document (or line) on stdout, flushed: what ``--json`` prints everywhere."""
    sys.stdout.write(to_json(obj, indent) + "\n")
    sys.stdout.flush()
