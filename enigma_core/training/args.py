"""The options of a training run and the data it trains on: shared by ``run`` and the torch loop.

Torch-free. ``TrainArgs`` validates options before anything runs; ``load_dataset`` applies the
recipe contract (``load_examples``, ``add_examples``, the one validation splitter).
"""

from __future__ import annotations

import math
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.errors import EnigmaError
from enigma_core.training.files import CHECKPOINT_DIR

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_core.training.recipe import Example, HyperParams, TrainingRecipe

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
