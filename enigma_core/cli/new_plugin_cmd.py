"""``enigma new-plugin NAME [--dir DIR]``: write a complete, installable plugin package."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt


def new_plugin(
    name: Annotated[str, typer.Argument(help="Plugin name: lowercase, e.g. 'weather'.")],
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            help="Project directory to create (absent or empty); default ./enigma_NAME.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Write a new plugin package, ready to pip-install.

    The project has a pyproject.toml with the entry point, hooks with keywords, a README and
    tests that pass after install.
    """
    from enigma_core.scaffold import validate_name, write_plugin

    validate_name(name)
    result = write_plugin(name, directory if directory is not None else Path(f"enigma_{name}"))
    if json_out:
        print_json(result.to_dict())
        return
    out = [f"created {result.distribution} in {result.path}"]
    out += [f"  {file}" for file in result.files]
    out += ["next:"] + [f"  {step}" for step in result.next_steps()]
    sys.stdout.write("\n".join(out) + "\n")
