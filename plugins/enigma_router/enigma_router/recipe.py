"""The router's training recipe: data in, a :class:`FitJob` trained by ``trainer.py`` (numpy).

``make_router_recipe(context)`` returns a :class:`TrainingRecipe` with ``fit``: the core loads
and splits the data (the one contract every trainer follows) and hands the router its train and
validation examples; the router trains itself in numpy (no torch, seconds on one thread) and
returns the arrays to export. The example requests of every installed plugin are added to the
training set whenever the training files include the seed file (``router_training.txt``),
however its path is spelled; so are the labels people gave in ``enigma review``
(``ENIGMA_HOME/data/router_feedback.jsonl``, whatever the training files) when the recipe is
made for ``enigma train`` (with a context; benchmarks and tests pass none).

A validation file may hold ``oos`` requests when the training data has none: they are kept
out of the label set and only measure the out-of-scope trade-off curve (``unknown.py``).
The rejection budget is ``--oos-budget`` when given, else 0 when the labels include the default
task's intent (a rejected request would only go there: the default router's ``chat``), else
:data:`~enigma_router.unknown.DEFAULT_BUDGET`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    epochs=9,  # 10 until issue 21: same accuracy (docs/ROUTER_BENCHMARKS.md "Training speed")
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


def task_provenance(context: TaskContext | None) -> tuple[dict[str, str], dict[str, str]]:
    """``({intent: plugin}, {task: sha256 of its examples})`` of the installed tasks."""
    if context is None:
        return {}, {}
    owners = getattr(context.engine, "plugins", None)
    task_owner = dict(getattr(owners, "task_owner", {}) or {})
    sources: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for task in context.tasks.values():
        if not task.intents:
            continue
        for intent in task.intents:
            sources.setdefault(intent, str(task_owner.get(task.name) or task.origin or task.name))
        hashes[task.name] = task.examples_sha256
    return sources, hashes


def _default_intent(context: TaskContext | None) -> str | None:
    """The intent of the engine's default task (where rejected requests go), if any."""
    try:
        task = context.engine.default_task() if context is not None else None
    except (AttributeError, EnigmaError):
        return None
    return task.intents[0] if task is not None and task.intents else None


def feedback_file() -> Path | None:
    """``ENIGMA_HOME/data/router_feedback.jsonl`` when it exists and holds a label."""
    from enigma_core.feedback import count_labels, feedback_path

    path = feedback_path()
    return path if count_labels(path) else None


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
    sources, hashes = task_provenance(context)
    state = _RunState(use_feedback=context is not None)
    default_intent = _default_intent(context)

    def read(paths: Sequence[Path]) -> list[Example]:
        out: list[Example] = []
        for path in paths:
            for rec in load_intent_examples(path):
                src = f"{rec.source or path}:{rec.line}"
                label = normalize_intent(rec.intent)
                out.append(RouterExample(ids=[], label=label, source=src, text=rec.text))
        return out

    def load_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        out = read(paths)
        if not state.loaded_train:  # the core reads the training files first
            state.loaded_train = True
            state.train_labels.update(str(ex.label) for ex in out)
            return out
        if "oos" in state.train_labels:
            return out
        # a validation file: its oos requests calibrate the unknown score, they are no label
        state.valid_oos.extend(ex.text for ex in out if ex.label == "oos")
        return [ex for ex in out if ex.label != "oos"]

    def add_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        added: list[Example] = []
        if any(same_file(Path(p), seed_data) for p in paths):
            state.n_plugin = len(extra)
            added += [
                RouterExample(ids=[], label=normalize_intent(intent), source=src, text=text)
                for text, intent, src in extra
            ]
        feedback = feedback_file() if state.use_feedback else None
        if feedback is not None and not any(same_file(Path(p), feedback) for p in paths):
            labelled = read([feedback])
            state.feedback = {"path": str(feedback), "examples": len(labelled)}
            added += labelled
        state.train_labels.update(str(ex.label) for ex in added)
        return added

    def fit(job: FitJob) -> FitResult:
        budget = recipe.options.get("oos_budget")
        if budget is None and cfg.oos_budget < 0 and default_intent in job.labels:
            budget = 0.0  # rejected requests would go to the default intent: already a label
        run = cfg if budget is None else replace(cfg, oos_budget=float(budget))
        if recipe.options.get("from_scratch"):  # `enigma train router --from-scratch`
            run = replace(run, vectors=False)
        return _fit(job, run, plugins, state, (sources, hashes))

    recipe = TrainingRecipe(
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
        half_tensors=("table", "ex_vectors"),
        protected_meta=("router",),
    )
    return recipe


@dataclass
class _RunState:
    """What one training run's recipe learns while the core reads its data."""

    loaded_train: bool = False
    train_labels: set[str] = field(default_factory=set)
    valid_oos: list[str] = field(default_factory=list)
    n_plugin: int = 0
    feedback: dict[str, Any] | None = None
    use_feedback: bool = True  # ``enigma train`` (a context) yes; benchmarks and tests (none) no


def _fit(
    job: FitJob,
    settings: RouterSettings,
    plugins: dict[str, str],
    state: _RunState,
    provenance: tuple[dict[str, str], dict[str, str]],
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
    hyper = Hyper.of(hp)
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
            valid_oos=state.valid_oos,
        )
    sources, hashes = provenance
    router = {
        **result.router,
        "plugins": plugins,
        "plugin_examples": state.n_plugin,
        "feedback": state.feedback,
        "intent_sources": {k: v for k, v in sources.items() if k in job.labels},
        "example_hashes": hashes,
    }
    if state.feedback is not None:
        print(
            f"router feedback: {state.feedback['examples']} labelled request(s) from "
            f"{state.feedback['path']} included",
            file=sys.stderr,
        )
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
