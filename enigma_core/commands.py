"""What plugin commands share with the core's: the command groups handed to plugins by the
``enigma_register_commands`` hook, the ``--json`` option and the one JSON printer."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

Command = Callable[..., Any]

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
"""The ``--json`` flag every command spells the same way."""


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


@dataclass
class CommandGroups:
    """Typer apps plugins add commands to: ``root``, ``data``, ``eval``, ``bench``, ``config``."""

    root: typer.Typer
    data: typer.Typer
    eval: typer.Typer
    bench: typer.Typer
    config: typer.Typer | None = None
    """``enigma config``: plugins that own a config section add commands here (``add-task``)."""

    def add_task_commands(
        self,
        task: str,
        *,
        data: Command | None = None,
        eval: Command | None = None,
        bench: Command | None = None,
    ) -> None:
        """Register ``enigma data|eval|bench TASK`` in one call (each only when given)."""
        for group, command in ((self.data, data), (self.eval, eval), (self.bench, bench)):
            if command is not None:
                group.command(task)(command)
