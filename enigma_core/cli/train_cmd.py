"""``enigma train TASK``: train a task's model with the recipe its plugin supplies.

Progress goes to stderr (off with ``--json``); the summary (JSON with ``--json``) to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from enigma_core.cli.common import print_json
from enigma_core.cli.task_options import CallOptions
from enigma_core.commands import JsonOpt

DataOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--data",
        metavar="FILE",
        help="Training data file (repeat for several); default: the task's.",
    ),
]


def train(
    task: Annotated[str, typer.Argument(help="Task to train, e.g. router, vision, code.")],
    data: DataOpt = None,
    valid: Annotated[
        Path | None,
        typer.Option("--valid", help="Validation file; default: a deterministic split of --data."),
    ] = None,
    size: Annotated[
        str | None, typer.Option("--size", help="Model size preset (see `enigma sizes`).")
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", min=1, help="Training epochs.")] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory; default: <enigma home>/models/<task>."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in --out.")
    ] = False,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same model).")] = 0,
    device: Annotated[
        str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")
    ] = "auto",
    lr: Annotated[
        float | None, typer.Option("--lr", help="Peak learning rate (above 0, at most 10).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Examples per step.")
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option("--patience", min=0, help="Stop after N epochs without improvement (0: off)."),
    ] = None,
    checkpoint_every: Annotated[
        int, typer.Option("--checkpoint-every", min=0, help="Checkpoint every N steps (0: off).")
    ] = 500,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="CPU threads for torch (default: 1 for nano/micro)."),
    ] = None,
    json_out: JsonOpt = False,
    *,
    call: CallOptions | None = None,
) -> None:
    """Train TASK's model on plain-text data and write model.safetensors + config.json."""
    from enigma_core.cli import state
    from enigma_core.errors import EnigmaError
    from enigma_core.training.run import TrainArgs, run_training

    for flag, owner in (call.owners if call else {}).items():
        if owner != task:
            raise EnigmaError(f"{flag} is an option of 'enigma train {owner}', not of {task!r}")
    engine = state.engine(use_routing=False)
    recipe = engine.training_recipe(task)
    recipe.options.update(call.options if call else {})
    if recipe.fit is None:  # the torch loop; recipes that train themselves (router) need no torch
        require_torch()
    args = TrainArgs(
        out=out,
        data=tuple(data or ()),
        valid=valid,
        size=size,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        patience=patience,
        seed=seed,
        device=device,
        resume=resume,
        progress=not json_out,
        checkpoint_every=checkpoint_every,
        threads=threads,
    )
    outcome = run_training(recipe, args, tokenizer=engine.tokenizer())
    if json_out:
        print_json(outcome.to_dict())
        return
    best = "n/a" if outcome.best_value is None else f"{outcome.best_value:.4f}"
    sys.stdout.write(
        f"trained {outcome.task} ({outcome.size}, {outcome.parameters:,} parameters) in "
        f"{outcome.train_seconds:.1f} s: {outcome.epochs_run} epochs, {outcome.steps} steps, "
        f"best {outcome.metric} {best} at epoch {outcome.best_epoch}"
        f"{' (stopped early)' if outcome.stopped_early else ''}\n"
        f"model: {outcome.out_dir}\n"
    )


def require_torch() -> None:
    """Training needs torch (inference does not): say how to get it instead of a traceback."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        from enigma_core.errors import EnigmaError

        raise EnigmaError(
            "training needs torch, which is not installed: "
            "pip install torch==2.13.0 'enigma-core[torch]' (routing works without it)"
        )
