"""The router's training recipe: data in, a :class:`FitJob` trained by ``trainer.py`` (numpy).

``make_router_recipe(context)`` returns a :class:`TrainingRecipe` with ``fit``: the core loads
and splits the data (the one contract every trainer follows) and hands the router its train and
validation examples; the router trains itself in numpy (no torch, seconds on one thread) and
returns the arrays to export. The example requests of every installed plugin are added to the
training set whenever the training files include the seed file (``router_training.txt``),
however its path is spelled.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from enigma_core.datafiles import find_data_file
from enigma_core.errors import EnigmaError
from enigma_core.training.recipe import Example, FitJob, FitResult, HyperParams, TrainingRecipe
from enigma_router.trainer import ROUTER_FORMAT, Hyper, RouterSettings

if TYPE_CHECKING:
    from enigma_core.context import TaskContext
    from enigma_core.tokenizer import SharedTokenizer

__all__ = ["DEFAULT_HYPER", "ROUTER_FORMAT", "RouterSettings", "make_router_recipe"]

SEED_DATA = find_data_file("data/specialized/router_training.txt", __file__)
DEFAULT_HYPER = HyperParams(
    size="nano",
    epochs=10,
    lr=6e-3,
    batch_size=256,
    warmup=0.1,
    min_lr_ratio=0.01,
    weight_decay=0.0,
    grad_clip=0.0,
    patience=0,
    dropout=0.5,
    valid_fraction=0.1,
    min_examples=20,
)
"""Measured on banking77/hwu64/snips (docs/ROUTER_BENCHMARKS.md)."""


@dataclass
class RouterExample(Example):
    """An :class:`Example` of the router: its text is what is trained on (ids stay empty)."""


def plugin_examples(context: TaskContext | None) -> list[tuple[str, str, str]]:
    """``(text, intent, source)`` of every installed task's registered example requests."""
    if context is None:
        return []
    out = []
    for task in context.tasks.values():
        if not task.intents:
            continue
        for i, text in enumerate(task.examples):
            out.append((text, task.intents[0], f"plugin task {task.name!r} example {i + 1}"))
    return out


def plugin_versions(context: TaskContext | None) -> dict[str, str]:
    """Installed plugin name -> version (recorded in ``config.json``)."""
    if context is None:
        return {}
    try:
        records = context.engine.plugin_records()
    except AttributeError:
        return {}
    return {r.name: str(r.version or "") for r in records if getattr(r, "status", "ok") == "ok"}


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (relative, absolute, via links: all alike)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def make_router_recipe(
    context: TaskContext | None = None,
    settings: RouterSettings | None = None,
    hyper: HyperParams | None = None,
    seed_data: Path = SEED_DATA,
) -> TrainingRecipe:
    """The router recipe (see module doc)."""
    from enigma_core.formats import load_intent_examples, normalize_intent

    cfg = settings or RouterSettings()
    extra = plugin_examples(context)
    plugins = plugin_versions(context)
    added: list[int] = [0]

    def load_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        out: list[Example] = []
        for path in paths:
            for rec in load_intent_examples(path):
                src = f"{rec.source or path}:{rec.line}"
                label = normalize_intent(rec.intent)
                out.append(RouterExample(ids=[], label=label, source=src, text=rec.text))
        return out

    def add_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        if not any(same_file(Path(p), seed_data) for p in paths):
            return []
        added[0] = len(extra)
        return [
            RouterExample(ids=[], label=normalize_intent(intent), source=src, text=text)
            for text, intent, src in extra
        ]

    def fit(job: FitJob) -> FitResult:
        return _fit(job, cfg, plugins, added[0])

    return TrainingRecipe(
        task="router",
        load_examples=load_examples,
        add_examples=add_examples,
        fit=fit,
        head="classify",
        default_data=(seed_data,),
        metric="accuracy",
        higher_is_better=True,
        hyper=hyper or DEFAULT_HYPER,
        description="intent router: hashed word/char n-grams -> MLP + linear SVM, calibrated oos",
        half_tensors=("table",),
        protected_meta=("router",),
    )


def _fit(
    job: FitJob, settings: RouterSettings, plugins: dict[str, str], n_plugin: int
) -> FitResult:
    """Train the router on the job's examples (numpy, one BLAS thread)."""
    from enigma_router import linear
    from enigma_router.trainer import train_router

    _require_scipy()
    if settings.linear and not linear.available():
        print(
            "note: scikit-learn is not installed, so the router trains without its linear "
            "member (about 0.3 points less accuracy); pip install 'enigma-router[train]'",
            file=sys.stderr,
        )
    hp = job.hyper
    hyper = Hyper(
        epochs=hp.epochs,
        lr=hp.lr,
        batch_size=hp.batch_size,
        warmup=hp.warmup,
        min_lr_ratio=hp.min_lr_ratio,
        weight_decay=hp.weight_decay,
        dropout=hp.dropout,
    )
    index = {label: i for i, label in enumerate(job.labels)}

    def split(examples: Sequence[Example]) -> tuple[list[str], np.ndarray]:
        texts = [ex.text for ex in examples]
        y = np.fromiter((index[str(ex.label)] for ex in examples), np.int64, len(examples))
        return texts, y

    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        result = train_router(
            split(job.train),
            split(job.valid),
            job.labels,
            hyper,
            settings,
            job.seed,
            valid_carved=job.valid_carved,
            log=job.log,
        )
    router = {**result.router, "plugins": plugins, "plugin_examples": n_plugin}
    router["settings"] = settings.to_dict()
    best = max(result.history, key=lambda r: r.get("accuracy", -1.0), default={})
    return FitResult(
        tensors=result.tensors,
        meta={"router": router, "phase_seconds": result.seconds},  # timings: not protected
        history=result.history,
        parameters=result.parameters,
        steps=result.steps,
        epochs_run=len(result.history),
        best_value=best.get("accuracy"),
        best_epoch=int(best.get("epoch", 0)),
    )


def _require_scipy() -> None:
    """Training needs scipy's sparse matrices (inference does not): one line when missing."""
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        raise EnigmaError(
            "router training needs scipy (and scikit-learn for the linear member): "
            "pip install 'enigma-router[train]' (routing works without them)"
        )
