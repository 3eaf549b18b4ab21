"""``enigma sizes``: the 15 model size presets with layers, width, heads, parameters and MB."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt
from enigma_core.presets import DEFAULT_VOCAB_SIZE, size_table


def sizes(
    vocab_size: Annotated[
        int,
        typer.Option("--vocab-size", min=1, help="Vocabulary size to count embeddings for."),
    ] = DEFAULT_VOCAB_SIZE,
    json_out: JsonOpt = False,
) -> None:
    """List the model size presets (nano ... xxl) and their exact parameter counts."""
    rows = size_table(vocab_size)
    if json_out:
        print_json({"vocab_size": vocab_size, "sizes": rows})
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"model sizes (vocab {vocab_size:,}, tied embeddings)")
    for column in ("name", "layers", "width", "heads", "context", "parameters", "fp32 MB"):
        table.add_column(column, justify="left" if column == "name" else "right")
    for r in rows:
        table.add_row(
            r["name"],
            str(r["layers"]),
            str(r["width"]),
            str(r["heads"]),
            str(r["context"]),
            f"{r['parameters']:,}",
            f"{r['fp32_mb']:,.1f}",
        )
    Console(file=sys.stdout).print(table)
