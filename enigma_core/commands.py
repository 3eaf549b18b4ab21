"""What plugin commands share with the core's: the command groups handed to plugins by the
``enigma_register_commands`` hook, the ``--json`` option and the one JSON printer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from enigma_core.jsonout import JSON_HELP, print_json, to_json

__all__ = ["Command", "CommandGroups", "JsonOpt", "print_json", "to_json"]

Command = Callable[..., Any]

JsonOpt = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
"""The ``--json`` flag every command spells the same way."""


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
