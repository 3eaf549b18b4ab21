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
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core import __version__
from enigma_core.errors import EnigmaError
from enigma_core.training.meta import CHECKPOINT_DIR, FORMAT_NAME, FORMAT_VERSION, PLOT_FILE

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_core.training.recipe import Example, FitResult, HyperParams, TrainingRecipe

MAX_LR = 10.0
"""Largest accepted --lr (real ones are 1e-4..1e-1; 1e30 only makes NaN models)."""


def _bounded(name: str, value: float | int | None, low: float, high: float) -> None:
    """One-line error unless ``value`` is None or a finite number in ``[low, high]``."""
    if value is None:
        return
    ok = isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high
    if not ok:
        raise EnigmaError(f"{name} must be a number between {low:g} and {high:g}, not {value}")


@dataclass
class TrainArgs:
    """Options of one training run (``enigma train``); None means the recipe's default."""

    out: Path | None = None  # output directory; None: <enigma home>/models/<task>
    data: tuple[Path, ...] = ()  # training files; empty: the recipe's default_data
    valid: Path | None = None  # validation file; None: recipe default or a carved split
    size: str | None = None
    epochs: int | None = None
    lr: float | None = None
    batch_size: int | None = None
    patience: int | None = None
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    resume: bool = False
    progress: bool = True  # progress on stderr (off for --json)
    checkpoint_every: int = 500  # optimizer steps between checkpoints; 0: never by steps
    checkpoint_seconds: float = 120.0  # also checkpoint when this long since the last; 0: off
    threads: int | None = None  # CPU threads; None: auto_threads(size)
    tokenizer: Path | None = None  # tokenizer file; None: the shipped shared tokenizer

    def __post_init__(self) -> None:
        """Normalise paths and refuse out-of-range options before anything runs."""
        self.data = tuple(Path(p) for p in self.data)
        self.out = Path(self.out) if self.out is not None else None
        self.valid = Path(self.valid) if self.valid is not None else None
        if self.device not in ("auto", "cpu", "cuda"):
            raise EnigmaError(f"--device must be auto, cpu or cuda, not {self.device!r}")
        if self.lr is not None and not (math.isfinite(self.lr) and 0 < self.lr <= MAX_LR):
            raise EnigmaError(
                f"--lr must be a number above 0 and at most {MAX_LR:g}, not {self.lr}"
            )
        _bounded("--epochs", self.epochs, 1, 100_000)
        _bounded("--batch-size", self.batch_size, 1, 1_000_000)
        _bounded("--patience", self.patience, 0, 100_000)
        _bounded("--seed", self.seed, 0, 2**32 - 1)
        _bounded("--threads", self.threads, 1, 1024)
        _bounded("--checkpoint-every", self.checkpoint_every, 0, 10**9)


@dataclass
class TrainOutcome:
    """What a finished run produced (also the ``--json`` summary of ``enigma train``)."""

    task: str
    out_dir: Path
    size: str
    parameters: int
    metric: str
    higher_is_better: bool
    best_value: float | None
    best_epoch: int
    epochs_run: int
    steps: int
    stopped_early: bool
    resumed: bool
    train_seconds: float
    tokens_per_s: float
    n_train: int
    n_valid: int
    device: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (non-finite numbers become None: ``--json`` never prints NaN)."""
        data = asdict(self)
        data["out_dir"] = str(self.out_dir)
        return finite(data)


def finite(obj: Any) -> Any:
    """``obj`` with every NaN/inf float replaced by None (strict JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    return obj


def warn(warnings: list[str], message: str) -> None:
    """Record a warning for the outcome and print it on stderr."""
    warnings.append(message)
    print(f"warning: {message}", file=sys.stderr)


def remove_stale_temps(out: Path) -> None:
    """Delete temp files a killed run left behind (atomic writes use ``.<name>.*.tmp``)."""
    for directory in (out, out / CHECKPOINT_DIR):
        if directory.is_dir():
            for tmp in directory.glob(".*.tmp"):
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)


def load_tokenizer(args: TrainArgs, tokenizer: SharedTokenizer | None) -> SharedTokenizer:
    """The tokenizer given, else ``args.tokenizer``, else the shipped shared one."""
    if tokenizer is not None:
        return tokenizer
    from enigma_core.tokenizer import SharedTokenizer, load_default

    if args.tokenizer is not None:
        return SharedTokenizer.load(args.tokenizer)
    return load_default()


@dataclass
class Dataset:
    """The examples a run trains and validates on, and where they came from."""

    train: list[Example]
    valid: list[Example]
    valid_split: str
    valid_carved: bool
    paths: tuple[Path, ...]
    warnings: list[str] = field(default_factory=list)


def load_dataset(
    recipe: TrainingRecipe,
    paths: list[Path],
    valid_path: Path | None,
    tok: SharedTokenizer,
    hp: HyperParams,
    seed: int,
) -> Dataset:
    """Parse the files, add the recipe's own examples, split validation (the contract)."""
    from enigma_core.training.data import label_warnings
    from enigma_core.training.recipe import carve_validation

    train = list(recipe.load_examples(paths, tok))
    if recipe.add_examples is not None:
        train.extend(recipe.add_examples(tuple(paths), tok))
    if not train:
        raise EnigmaError(f"{paths[0]}: no training examples found")
    warnings: list[str] = []
    for message in label_warnings(train) if recipe.head == "classify" else []:
        warn(warnings, message)
    if valid_path:
        valid = list(recipe.load_examples([valid_path], tok))
        return Dataset(train, valid, str(valid_path), False, tuple(paths), warnings)
    train, valid = carve_validation(train, hp.valid_fraction, seed)
    split = f"carved {hp.valid_fraction:g} of training data"
    return Dataset(train, valid, split, True, tuple(paths), warnings)


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
