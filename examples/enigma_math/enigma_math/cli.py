"""``enigma calc EXPRESSION``: the math plugin's own CLI command (added by a hook)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from enigma_core.errors import EnigmaError

from enigma_math.solver import solve


def calc(
    expression: Annotated[list[str], typer.Argument(help="e.g. 17% of 240, or 12*(3+4)")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Compute an arithmetic expression exactly, without routing."""
    result = solve(" ".join(expression))
    if "error" in result.data:
        raise EnigmaError(result.output)
    if json_out:
        sys.stdout.write(json.dumps({"output": result.output, **result.data}) + "\n")
    else:
        sys.stdout.write(result.output + "\n")
