"""``enigma promote TASK DIR``: make a trained model the one every later request uses."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt


def promote(
    task: Annotated[str, typer.Argument(help="The task whose model to replace, e.g. router.")],
    directory: Annotated[Path, typer.Argument(help="The trained model's directory.")],
    json_out: JsonOpt = False,
) -> None:
    """Check DIR holds a loadable model of TASK, then point the config at it (atomically).

    Running servers pick it up within a second, without a restart.
    """
    from enigma_core.promote import promote_model

    out = promote_model(task, directory)
    if json_out:
        print_json(out)
        return
    sys.stdout.write(f"{task}: now {out['path']}\n")
