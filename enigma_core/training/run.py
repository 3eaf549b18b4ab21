"""``run_training``: the one entry point of training (torch-free until a recipe needs torch).

It validates the options, checks the output directory is writable, loads the data through the
recipe contract (``load_examples``, ``add_examples``, the one validation splitter) and then
either runs the torch loop (``loop.py``) or, for a recipe with ``fit``, hands it a
:class:`~enigma_core.training.recipe.FitJob` and exports what it returns. Either way the model
directory is replaced without ever losing the previous model (``modeldir.commit``).
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core import __version__
from enigma_core.errors import EnigmaError
from enigma_core.training.args import (  # re-exported: the public training API
    MAX_LR,
    Dataset,
    TrainArgs,
    TrainOutcome,
    finite,
    load_dataset,
    load_tokenizer,
    remove_stale_temps,
    warn,
)
from enigma_core.training.meta import CHECKPOINT_DIR, FORMAT_NAME, FORMAT_VERSION, PLOT_FILE

__all__ = [
    "MAX_LR",
    "Dataset",
    "TrainArgs",
    "TrainOutcome",
    "finite",
    "load_dataset",
    "load_tokenizer",
    "remove_stale_temps",
    "run_training",
    "warn",
]

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_core.training.recipe import FitResult, HyperParams, TrainingRecipe


def run_training(
    recipe: TrainingRecipe, args: TrainArgs, tokenizer: SharedTokenizer | None = None
) -> TrainOutcome:
    """Train ``recipe``'s model per ``args`` and write it to ``args.out`` (see module doc).

    Raises :class:`~enigma_core.training.loop.TrainingInterrupted` (an EnigmaError) after
    Ctrl-C in the torch loop, once its checkpoint is written.
    """
    if recipe.fit is not None:
        return _run_fit(recipe, args, load_tokenizer(args, tokenizer))
    from enigma_core.training.loop import run_torch_training

    return run_torch_training(recipe, args, load_tokenizer(args, tokenizer))


def output_dir(recipe: TrainingRecipe, args: TrainArgs) -> Path:
    """``--out`` or ``<enigma home>/models/<task>``."""
    from enigma_core.home import models_dir

    return args.out or models_dir() / recipe.task


def base_metadata(
    recipe: TrainingRecipe,
    hp: HyperParams,
    labels: tuple[str, ...],
    tok: SharedTokenizer,
    data: dict[str, Any],
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """The ``config.json`` entries every trained model has."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "enigma_version": __version__,
        "task": recipe.task,
        "head": recipe.head,
        "preset": hp.size,
        "labels": list(labels),
        "tokenizer": {"sha256": tok.sha256, "vocab_size": tok.vocab_size},
        "training": {**training, **asdict(hp)},
        "data": data,
        "metrics": metrics,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **recipe.meta,
    }


class _FitLog:
    """Progress of a ``fit`` recipe: a bar on a terminal, one line per epoch when piped."""

    def __init__(self, enabled: bool, recipe: TrainingRecipe, epochs: int) -> None:
        from enigma_core.training.progress import TrainProgress

        self.metric = recipe.metric
        self.bar = TrainProgress(enabled, epochs, epochs, recipe.metric)
        self.phase = ""

    def __call__(self, row: dict[str, Any]) -> None:
        """Print one epoch's row; a non-finite loss stops training with one line."""
        loss = row.get("train_loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise EnigmaError(
                f"training diverged: loss is {loss} at epoch {row.get('epoch')}; lower --lr"
            )
        bar = self.bar
        phase = str(row.get("phase", "train"))
        if phase != self.phase:
            self.phase = phase
            bar.epochs = int(row.get("epochs", bar.epochs))
            bar.total, bar.done = bar.epochs, 0
            if phase != "train":
                bar.log(f"{phase}: {row.get('epochs')} epoch(s) on train + validation data")
        bar.epoch(int(row.get("epoch", 1)) - 1)
        bar.step(0)
        bar.show(loss=loss, metric=row.get(self.metric), epoch_end=True)


def _run_fit(recipe: TrainingRecipe, args: TrainArgs, tok: SharedTokenizer) -> TrainOutcome:
    """Train a recipe that trains itself (``fit``) and export its arrays (no torch)."""
    from enigma_core.training.data import check_files, file_hashes, resolve_labels
    from enigma_core.training.modeldir import check_writable
    from enigma_core.training.recipe import FitJob

    warnings: list[str] = []
    out = output_dir(recipe, args)
    if args.resume:
        warn(warnings, f"{recipe.task} training runs in one go (no checkpoints): starting over")
    hp = recipe.hyper.replace(
        size=args.size,
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        patience=args.patience,
    )
    paths = [Path(p) for p in (args.data or recipe.default_data)]
    if not paths:
        raise EnigmaError(f"no training data for {recipe.task!r}: give --data FILE")
    valid_path = args.valid or recipe.default_valid
    check_files(paths + ([valid_path] if valid_path else []))
    check_writable(out)
    remove_stale_temps(out)
    start = time.perf_counter()
    ds = load_dataset(recipe, paths, valid_path, tok, hp, args.seed)
    labels = resolve_labels(ds.train, ds.valid, recipe.labels)
    warnings.extend(ds.warnings)
    if len(ds.train) < hp.min_examples:
        warn(
            warnings,
            f"only {len(ds.train)} training examples (fewer than {hp.min_examples}); "
            "the model may not learn much",
        )
    log = _FitLog(args.progress, recipe, hp.epochs)
    job = FitJob(
        train=ds.train,
        valid=ds.valid,
        labels=labels,
        hyper=hp,
        seed=args.seed,
        tokenizer=tok,
        train_paths=ds.paths,
        valid_carved=ds.valid_carved,
        out_dir=out,
        log=log,
    )
    with log.bar:
        result = recipe.fit(job)
    seconds = time.perf_counter() - start
    data = {
        "train": file_hashes(paths),
        "valid": file_hashes([valid_path]) if valid_path else None,
        "valid_split": ds.valid_split,
        "n_train": len(ds.train),
        "n_valid": len(ds.valid),
    }
    training = {
        "seed": args.seed,
        "device": "cpu",
        "epochs_run": result.epochs_run,
        "steps": result.steps,
        "stopped_early": False,
        "train_seconds": round(seconds, 3),
    }
    metrics = {
        "name": recipe.metric,
        "higher_is_better": recipe.higher_is_better,
        "best": result.best_value,
        "best_epoch": result.best_epoch,
        "final": result.history[-1] if result.history else {},
        "history": result.history,
    }
    meta = base_metadata(recipe, hp, labels, tok, data, training, metrics)
    meta["parameters"] = result.parameters
    clash = sorted(set(result.meta) & set(meta))
    if clash:
        raise EnigmaError(f"recipe {recipe.task!r}: fit() may not set {clash}")
    meta.update(result.meta)
    export_arrays(out, result, meta, recipe)
    return TrainOutcome(
        task=recipe.task,
        out_dir=out,
        size=hp.size,
        parameters=result.parameters,
        metric=recipe.metric,
        higher_is_better=recipe.higher_is_better,
        best_value=result.best_value,
        best_epoch=result.best_epoch,
        epochs_run=result.epochs_run,
        steps=result.steps,
        stopped_early=False,
        resumed=False,
        train_seconds=round(seconds, 3),
        tokens_per_s=0.0,
        n_train=len(ds.train),
        n_valid=len(ds.valid),
        device="cpu",
        warnings=warnings,
    )


def export_arrays(
    out: Path, result: FitResult, meta: dict[str, Any], recipe: TrainingRecipe
) -> None:
    """Write a fit recipe's arrays and config: float16 where asked, never a NaN model."""
    import json

    import numpy as np

    from enigma_core.atomic import atomic_write_bytes
    from enigma_core.training import modeldir, weights
    from enigma_core.training.meta import sha256_bytes

    tensors = {}
    for name, arr in result.tensors.items():
        a = np.asarray(arr)
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise EnigmaError(
                f"training produced non-finite weights in {name!r} (diverged); lower --lr"
            )
        tensors[name] = a.astype(np.float16) if name in recipe.half_tensors else a
    meta = finite(meta)
    meta["model_id"] = modeldir.model_id(tensors, meta, recipe.protected_meta)
    stored = modeldir.protected(meta, recipe.protected_meta)
    blob = weights.encode(tensors, {modeldir.META_KEY: json.dumps(stored, sort_keys=True)})
    config = {**meta, "weights_sha256": sha256_bytes(blob)}
    modeldir.commit(out, lambda p: atomic_write_bytes(p, blob), config)
    shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)  # an older torch run's resume state
    (out / PLOT_FILE).unlink(missing_ok=True)  # an older run's plot would describe another model
