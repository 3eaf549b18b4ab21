"""The CLI command groups handed to plugins by the ``enigma_register_commands`` hook."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer


@dataclass
class CommandGroups:
    """Typer apps a plugin may add commands to: ``root``, ``data``, ``eval`` and ``bench``."""

    root: typer.Typer
    data: typer.Typer
    eval: typer.Typer
    bench: typer.Typer
