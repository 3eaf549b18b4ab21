"""``enigma route`` and ``enigma classify`` as typer commands: single requests or a batch file.

The work is in :mod:`enigma_core.cli.requests`, typer-free, which the fast path also runs;
the options here are built from its :data:`~enigma_core.cli.requests.OPTIONS` declarations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from enigma_core.cli import requests
from enigma_core.cli.requests import BATCH, JSON, NO_ANSWER, NO_ANSWER_EXIT, SHOW_SOURCES
from enigma_core.cli.task_options import CallOptions

__all__ = ["NO_ANSWER", "NO_ANSWER_EXIT", "classify", "route"]

TextArg = Annotated[str | None, typer.Argument(help=requests.TEXT_HELP, show_default=False)]
BatchOpt = Annotated[Path | None, typer.Option(BATCH.flag, help=BATCH.help)]
ShowSourcesOpt = Annotated[bool, typer.Option(SHOW_SOURCES.flag, help=SHOW_SOURCES.help)]
JsonOpt = Annotated[bool, typer.Option(JSON.flag, help=JSON.help)]


def _exit(code: int) -> None:
    if code:
        raise typer.Exit(code)


def route(
    text: TextArg = None,
    batch: BatchOpt = None,
    show_sources: ShowSourcesOpt = False,
    json_out: JsonOpt = False,
    *,
    call: CallOptions,
) -> None:
    """Classify a request, hand it to the specialist that owns it, and print the answer.

    A request that starts with '-' works as it is ("-40 C to F") or after '--'.
    Exit status 3: the task answered but could not stand behind an answer (no_answer).
    """
    _exit(requests.route(text, batch, show_sources, json_out, call=call))


def classify(
    text: TextArg = None,
    batch: BatchOpt = None,
    json_out: JsonOpt = False,
    *,
    call: CallOptions,
) -> None:
    """Say which intent a request has (and how sure), without running any task."""
    _exit(requests.classify(text, batch, json_out, call=call))
