"""The one training loop: AdamW, warmup + cosine, early stopping, checkpoints, resume, Ctrl-C.

``run_training(recipe, args)`` trains the recipe's model and writes ``model.safetensors``,
``config.json``, ``loss.png`` and ``checkpoint/`` under ``args.out``. A resumed run (after
Ctrl-C or kill -9) ends with the same weights as an uninterrupted run with the same seed.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from enigma_core import __version__
from enigma_core.errors import EnigmaError, TokenizerMismatchError
from enigma_core.presets import config_for, get_preset
from enigma_core.tokenizer import SharedTokenizer
from enigma_core.training import checkpoint as ck
from enigma_core.training.args import (
    TrainArgs,
    TrainOutcome,
    finite,
    load_dataset,
    remove_stale_temps,
    warn,
)
from enigma_core.training.data import (
    check_files,
    epoch_batches,
    file_hashes,
    fit_examples,
    resolve_labels,
    steps_per_epoch,
)
from enigma_core.training.meta import (
    CHECKPOINT_DIR,
    FORMAT_NAME,
    FORMAT_VERSION,
    PLOT_FILE,
    STATE_FILE,
)
from enigma_core.training.modeldir import check_writable
from enigma_core.training.optim import AdamW
from enigma_core.training.progress import TrainProgress
from enigma_core.training.recipe import (
    HyperParams,
    Optimizer,
    RecipeContext,
    TrainingRecipe,
)
from enigma_core.training.schedule import lr_at

if TYPE_CHECKING:
    import torch

__all__ = ["TrainArgs", "TrainOutcome", "TrainingInterrupted", "lr_at", "run_torch_training"]


class TrainingInterrupted(EnigmaError):
    """Ctrl-C stopped training after a checkpoint was written; ``--resume`` continues it."""


def resolve_device(name: str) -> str:
    """``auto`` -> cuda when available, else cpu; ``cuda`` without a GPU is an error."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise EnigmaError("--device cuda: no CUDA GPU is available (use --device cpu or auto)")
    return name


def make_optimizer(model: torch.nn.Module, hp: HyperParams) -> AdamW:
    """AdamW with weight decay on matrices only (fused kernel when this torch has one)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": hp.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return AdamW(groups, lr=hp.lr, betas=(0.9, 0.98))


class _StopFlag:
    """SIGINT sets a flag the loop checks after each step; a second Ctrl-C aborts at once."""

    def __init__(self) -> None:
        self.requested = False

    def _handle(self, signum: int, frame: Any) -> None:
        """SIGINT handler: first press requests a stop, the second aborts."""
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    @contextmanager
    def installed(self) -> Iterator[_StopFlag]:
        """Install the handler (main thread only) and restore the previous one afterwards."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


class _Run:
    """One training run's state; split from :func:`run_training` to keep each step small."""

    def __init__(self, recipe: TrainingRecipe, args: TrainArgs, tok: SharedTokenizer) -> None:
        from enigma_core.home import models_dir

        self.recipe, self.args, self.tok = recipe, args, tok
        self.out = args.out or models_dir() / recipe.task
        self.warnings: list[str] = []
        self.device = resolve_device(args.device)
        check_writable(self.out)
        remove_stale_temps(self.out)
        self.saved = ck.read_checkpoint(self.out) if args.resume else None
        if args.resume and self.saved is None:
            warn(self.warnings, f"{self.out}: no checkpoint to resume from; starting fresh")
        self.run = self._run_settings()
        self.hp = HyperParams(**self.run["hyper"])

    def _run_settings(self) -> dict[str, Any]:
        """Seed, size, hyper-parameters and data paths: from the checkpoint when resuming."""
        a, r = self.args, self.recipe
        if self.saved is not None:
            run = dict(self.saved[0]["run"])
            if run["task"] != r.task:
                raise EnigmaError(
                    f"{self.out}: checkpoint is for task {run['task']!r}, not {r.task!r}"
                )
            if run.get("tokenizer_sha256") != self.tok.sha256:
                raise TokenizerMismatchError(
                    f"{self.out}: checkpoint was trained with tokenizer sha256 "
                    f"{run.get('tokenizer_sha256')} but the current tokenizer is "
                    f"{self.tok.sha256}; resume with the tokenizer it was trained with "
                    "or train without --resume"
                )
            saved = run["hyper"]
            given = {"size": a.size, "epochs": a.epochs, "lr": a.lr}
            given.update(batch_size=a.batch_size, patience=a.patience)
            changed = [k for k, v in given.items() if v is not None and v != saved[k]]
            other_data = bool(a.data) and [str(p) for p in a.data] != run["data"]
            if changed or a.seed != run["seed"] or other_data:
                warn(
                    self.warnings,
                    "resuming with the checkpoint's data, seed and hyper-parameters; "
                    "the ones given now are ignored",
                )
            return run
        hp = r.hyper.replace(
            size=a.size, epochs=a.epochs, lr=a.lr, batch_size=a.batch_size, patience=a.patience
        )
        get_preset(hp.size)  # fail fast on an unknown size, before reading any data
        if (self.out / CHECKPOINT_DIR / STATE_FILE).exists():
            warn(self.warnings, f"{self.out}: starting over; the old checkpoint is replaced")
        data = a.data or r.default_data
        if not data:
            raise EnigmaError(f"no training data for {r.task!r}: give --data FILE")
        valid = a.valid or r.default_valid
        return {
            "task": r.task,
            "seed": a.seed,
            "hyper": asdict(hp),
            "data": [str(p) for p in data],
            "valid": str(valid) if valid else None,
            "tokenizer_sha256": self.tok.sha256,
        }

    # -- data ---------------------------------------------------------------------------------
    def load_data(self) -> None:
        """Parse, split, label and fit the examples; record file hashes."""
        paths = [Path(p) for p in self.run["data"]]
        valid_path = Path(self.run["valid"]) if self.run["valid"] else None
        check_files(paths + ([valid_path] if valid_path else []))
        self.data_hashes = file_hashes(paths)
        self.valid_hashes = file_hashes([valid_path]) if valid_path else None
        if self.saved is not None and self.saved[0].get("data_sha256") != self._data_digest():
            raise EnigmaError(
                f"{paths[0]}: training data changed since the checkpoint in {self.out}; "
                "train without --resume to start over"
            )
        ds = load_dataset(self.recipe, paths, valid_path, self.tok, self.hp, self.run["seed"])
        train, valid, self.valid_split = ds.train, ds.valid, ds.valid_split
        self.valid_carved, self.train_paths = ds.valid_carved, ds.paths
        self.warnings.extend(ds.warnings)
        lm = self.recipe.head == "lm"
        self.labels = () if lm else resolve_labels(train, valid, self.recipe.labels)
        self.config = config_for(
            self.hp.size,
            vocab_size=self.tok.vocab_size,
            n_labels=len(self.labels),
            dropout=self.hp.dropout,
        )
        train, cut_t = fit_examples(train, self.config.block_size, lm)
        valid, cut_v = fit_examples(valid, self.config.block_size, lm)
        if cut_t + cut_v:
            warn(
                self.warnings,
                f"{cut_t + cut_v} example(s) longer than the {self.config.block_size}-token "
                "context were truncated or dropped",
            )
        if not train:
            raise EnigmaError(f"{paths[0]}: no usable training examples")
        if len(train) < self.hp.min_examples:
            warn(
                self.warnings,
                f"only {len(train)} training examples (fewer than {self.hp.min_examples}); "
                "the model may not learn much",
            )
        if not valid:
            warn(self.warnings, "no validation examples: no early stopping, last epoch is kept")
        self.train, self.valid = train, valid
        self.lengths = np.array([len(ex.ids) for ex in train], dtype=np.int64)

    def _data_digest(self) -> str:
        """One sha256 over all data files' hashes (compared on resume)."""
        import hashlib

        parts = [h["sha256"] for h in self.data_hashes + (self.valid_hashes or [])]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    # -- model --------------------------------------------------------------------------------
    def build(self) -> None:
        """Seed, build the model and optimizer, and restore the checkpoint when resuming."""
        import torch

        torch.manual_seed(self.run["seed"])
        self.model = self.recipe.model_fn()(self.config).to(self.device)
        self.model.train()
        make = self.recipe.make_optimizer or make_optimizer
        self.opt: Optimizer = make(self.model, self.hp)
        self.ctx = RecipeContext(
            tokenizer=self.tok,
            config=self.config,
            labels=self.labels,
            device=self.device,
            batch_size=self.hp.batch_size,
            recipe=self.recipe,
            out_dir=self.out,
            seed=int(self.run["seed"]),
            train_paths=self.train_paths,
            valid_carved=self.valid_carved,
        )
        self.loop: dict[str, Any] = {
            "epoch": 0,
            "step_in_epoch": 0,
            "global_step": 0,
            "epoch_loss_sum": 0.0,
            "history": [],
            "best_value": None,
            "best_epoch": 0,
            "best_val_loss": None,
            "bad_epochs": 0,
            "stopped_early": False,
            "finished": False,
            "train_seconds": 0.0,
            "tokens": 0,
        }
        self.best_state: dict[str, torch.Tensor] | None = None
        if self.saved is None:
            ck.clear_checkpoints(self.out)
            return
        state, tensors = self.saved
        self._load_state(
            {k: v.to(self.device) for k, v in ck.unprefixed("model.", tensors).items()},
            "the checkpoint",
        )
        best = ck.unprefixed("best.", tensors)
        self.best_state = {k: v.to(self.device) for k, v in best.items()} or None
        self.opt.load_state_tensors(tensors)
        ck.restore_rng(tensors)
        self.loop = dict(state["loop"])

    def save(self) -> None:
        """Commit a resumable checkpoint of the current loop state."""
        tensors = ck.prefixed("model.", self.model.state_dict())
        if self.best_state is not None:
            tensors.update(ck.prefixed("best.", self.best_state))
        tensors.update(self.opt.state_tensors())
        tensors.update(ck.rng_tensors())
        state = {"run": self.run, "loop": self.loop, "data_sha256": self._data_digest()}
        ck.save_checkpoint(self.out, self.loop["global_step"], tensors, state)

    # -- training -----------------------------------------------------------------------------
    def train_loop(self, stop: _StopFlag) -> None:
        """Epochs of optimizer steps with per-epoch validation and early stopping."""
        import torch

        hp, lp, recipe = self.hp, self.loop, self.recipe
        n_steps = steps_per_epoch(len(self.train), hp.batch_size)
        total = n_steps * hp.epochs
        loss_fn, eval_fn = recipe.loss_fn(), recipe.eval_fn()
        params = [p for p in self.model.parameters() if p.requires_grad]
        bar = TrainProgress(self.args.progress, total, hp.epochs, recipe.metric, lp["global_step"])
        t_start = time.perf_counter()
        last_ckpt = t_start
        base_seconds = lp["train_seconds"]
        with bar:
            while lp["epoch"] < hp.epochs and not lp["stopped_early"]:
                epoch = lp["epoch"]
                batches = epoch_batches(self.lengths, hp.batch_size, self.run["seed"], epoch)
                bar.epoch(epoch)
                loss_sum = torch.tensor(
                    lp["epoch_loss_sum"], dtype=torch.float32, device=self.device
                )
                for bi in range(lp["step_in_epoch"], len(batches)):
                    self.opt.lr = lr_at(lp["global_step"], total, hp)
                    batch = self.ctx.batch([self.train[i] for i in batches[bi]])
                    loss = loss_fn(self.model, batch)
                    if not torch.isfinite(loss.detach()).all():
                        raise EnigmaError(
                            f"training diverged: loss is {loss.item()} at epoch {epoch + 1} "
                            f"step {lp['global_step'] + 1} (learning rate {self.opt.lr:.3g}); "
                            "lower --lr"
                        )
                    self.opt.zero_grad()
                    loss.backward()
                    if hp.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(params, hp.grad_clip, foreach=True)
                    self.opt.step()
                    loss_sum += loss.detach()
                    lp["global_step"] += 1
                    lp["step_in_epoch"] = bi + 1
                    lp["tokens"] += batch["n_tokens"]
                    bar.step(batch["n_tokens"])
                    if bar.enabled and lp["global_step"] % 10 == 0:
                        bar.show(loss=loss_sum.item() / (bi + 1))
                    now = time.perf_counter()
                    due = (
                        self.args.checkpoint_every
                        and lp["global_step"] % self.args.checkpoint_every == 0
                    ) or (
                        self.args.checkpoint_seconds
                        and now - last_ckpt >= self.args.checkpoint_seconds
                    )
                    if stop.requested or due:
                        lp["epoch_loss_sum"] = loss_sum.item()
                        lp["train_seconds"] = base_seconds + now - t_start
                        self.save()
                        last_ckpt = time.perf_counter()
                        if stop.requested:
                            raise TrainingInterrupted(
                                f"training interrupted at step {lp['global_step']}; checkpoint "
                                f"saved in {self.out}; continue with --resume"
                            )
                self._end_epoch(loss_sum.item() / max(1, len(batches)), eval_fn, bar)
                lp["train_seconds"] = base_seconds + time.perf_counter() - t_start
        self.tokens_per_s = lp["tokens"] / lp["train_seconds"] if lp["train_seconds"] else 0.0

    def _end_epoch(self, train_loss: float, eval_fn: Any, bar: TrainProgress) -> None:
        """Validate, keep the best weights, decide on early stopping, advance the epoch."""
        lp, recipe = self.loop, self.recipe
        metrics = eval_fn(self.model, self.valid, self.ctx) if self.valid else {}
        self.model.train()
        if self.valid and recipe.metric not in metrics:
            raise EnigmaError(
                f"recipe {recipe.task!r}: evaluate() returned {sorted(metrics)}, "
                f"not its metric {recipe.metric!r}"
            )
        value = metrics.get(recipe.metric)
        lp["history"].append({"epoch": lp["epoch"] + 1, "train_loss": train_loss, **metrics})
        improved = self._better(value, metrics.get("val_loss"))
        if improved:
            lp["best_value"], lp["best_epoch"], lp["bad_epochs"] = value, lp["epoch"] + 1, 0
            lp["best_val_loss"] = metrics.get("val_loss")
            skip = set(recipe.export_exclude)  # training-only state: not part of "the best model"
            self.best_state = {
                k: v.detach().clone() for k, v in self.model.state_dict().items() if k not in skip
            }
        else:
            lp["bad_epochs"] += 1
            if self.hp.patience and lp["bad_epochs"] >= self.hp.patience:
                lp["stopped_early"] = True
        bar.show(loss=train_loss, metric=value, epoch_end=True)
        lp["epoch"] += 1
        lp["step_in_epoch"] = 0
        lp["epoch_loss_sum"] = 0.0

    def _load_state(self, tensors: dict[str, torch.Tensor], what: str) -> None:
        """Load model tensors; only the recipe's training-only entries may be missing."""
        try:
            missing, unexpected = self.model.load_state_dict(tensors, strict=False)
        except RuntimeError as exc:  # shapes differ
            first = str(exc).strip().splitlines()[-1].strip()
            raise EnigmaError(
                f"{self.out}: {what} does not fit the model ({first}); train without --resume"
            ) from None
        missing = [k for k in missing if k not in self.recipe.export_exclude]
        if missing or unexpected:
            raise EnigmaError(
                f"{self.out}: {what} does not fit the model (missing {sorted(missing)[:3]}, "
                f"unexpected {sorted(unexpected)[:3]}); train without --resume"
            )

    def _better(self, value: float | None, val_loss: float | None) -> bool:
        """Is ``value`` better than the best so far? Ties are broken by a lower ``val_loss``."""
        best = self.loop["best_value"]
        if value is None or best is None:
            return True
        if value != best:
            return value > best if self.recipe.higher_is_better else value < best
        best_loss = self.loop.get("best_val_loss")
        return val_loss is not None and best_loss is not None and val_loss < best_loss

    # -- results ------------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        """Put the best weights back, run ``finalize``, export the model, plot, checkpoint."""
        lp = self.loop
        if self.best_state is not None:
            self._load_state(self.best_state, "the best epoch's weights")
        self.model.eval()
        extras: dict[str, Any] = {}
        if self.recipe.finalize is not None:
            extras = dict(self.recipe.finalize(self.model, self.train, self.valid, self.ctx) or {})
        lp["finished"] = True  # before metadata(): the exported config.json must say so
        meta = self.metadata()
        clash = sorted(set(extras) & set(meta))
        if clash:
            raise EnigmaError(f"recipe {self.recipe.task!r}: finalize() may not set {clash}")
        meta.update(extras)
        r = self.recipe
        ck.export_model(
            self.out, self.model, finite(meta), r.half_tensors, r.export_exclude, r.protected_meta
        )
        self.model.train()
        self.save()
        from enigma_core.training.plots import plot_history

        plot_history(lp["history"], self.out / PLOT_FILE, self.recipe.metric, self.recipe.task)
        return meta

    def parameter_count(self) -> int:
        """Parameters of the model really trained (a recipe may build a non-transformer model)."""
        return sum(p.numel() for p in self.model.parameters())

    def metadata(self) -> dict[str, Any]:
        """The ``config.json`` content (before ``finalize`` extras)."""
        lp, hp, r = self.loop, self.hp, self.recipe
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "enigma_version": __version__,
            "task": r.task,
            "head": r.head,
            "preset": hp.size,
            "model": self.config.to_dict(),
            "parameters": self.parameter_count(),
            "labels": list(self.labels),
            "tokenizer": {"sha256": self.tok.sha256, "vocab_size": self.tok.vocab_size},
            "training": {
                "seed": self.run["seed"],
                "device": self.device,
                **asdict(hp),
                "epochs_run": lp["epoch"],
                "steps": lp["global_step"],
                "stopped_early": lp["stopped_early"],
                "train_seconds": round(lp["train_seconds"], 3),
                "tokens_per_s": round(getattr(self, "tokens_per_s", 0.0), 1),
            },
            "data": {
                "train": self.data_hashes,
                "valid": self.valid_hashes,
                "valid_split": self.valid_split,
                "n_train": len(self.train),
                "n_valid": len(self.valid),
            },
            "metrics": {
                "name": r.metric,
                "higher_is_better": r.higher_is_better,
                "best": lp["best_value"],
                "best_epoch": lp["best_epoch"],
                "final": lp["history"][-1] if lp["history"] else {},
                "history": lp["history"],
            },
            "loop": {k: lp[k] for k in ("epoch", "global_step", "finished", "stopped_early")},
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **r.meta,
        }

    def outcome(self) -> TrainOutcome:
        """The summary returned to the caller."""
        lp = self.loop
        return TrainOutcome(
            task=self.recipe.task,
            out_dir=self.out,
            size=self.hp.size,
            parameters=self.parameter_count(),
            metric=self.recipe.metric,
            higher_is_better=self.recipe.higher_is_better,
            best_value=lp["best_value"],
            best_epoch=lp["best_epoch"],
            epochs_run=lp["epoch"],
            steps=lp["global_step"],
            stopped_early=lp["stopped_early"],
            resumed=self.saved is not None,
            train_seconds=round(lp["train_seconds"], 3),
            tokens_per_s=round(getattr(self, "tokens_per_s", 0.0), 1),
            n_train=len(self.train),
            n_valid=len(self.valid),
            device=self.device,
            warnings=self.warnings,
        )


def run_torch_training(
    recipe: TrainingRecipe, args: TrainArgs, tokenizer: SharedTokenizer
) -> TrainOutcome:
    """Train ``recipe``'s model with the torch loop (called by ``run.run_training``).

    Raises :class:`TrainingInterrupted` (an EnigmaError) after Ctrl-C, once the checkpoint is
    written. ``--resume`` reuses the checkpoint's seed, size, hyper-parameters and data paths.
    """
    import torch

    run = _Run(recipe, args, tokenizer)
    before = torch.get_num_threads()
    torch.set_num_threads(args.threads or auto_threads(run.hp.size, before))
    try:
        run.load_data()
        run.build()
        stop = _StopFlag()
        with stop.installed():
            if not run.loop["finished"]:
                run.train_loop(stop)
            run.finish()
    finally:
        torch.set_num_threads(before)
    return run.outcome()


SMALL_MODEL_PARAMS = 1_000_000
"""Models with fewer non-embedding parameters than this train on one CPU thread by default."""


def auto_threads(size: str, default: int) -> int:
    """CPU threads for a preset: 1 for the smallest models, torch's default otherwise.

    Their matrices are too small to split; on a busy 2-core laptop two threads made a nano
    step 5-20x slower (threads waiting on each other), one thread never did.
    """
    p = get_preset(size)
    return 1 if p.n_layer * 12 * p.n_embd**2 < SMALL_MODEL_PARAMS else default
