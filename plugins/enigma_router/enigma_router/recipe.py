"""The router's training recipe for the core loop: data, n-gram features, network, calibration.

``make_router_recipe(context)`` returns a :class:`TrainingRecipe` whose examples carry hashed
n-gram features next to their shared-tokenizer ids. The feature vocabulary (and idf) is built
from the loaded data when the model is built. ``finalize`` fits the linear member and weighs
it on the validation split, calibrates temperature and the oos knobs there, refits network and
linear member on train + valid, and records labels, features, calibration and plugin versions.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from enigma_core.datafiles import find_data_file
from enigma_core.errors import EnigmaError
from enigma_core.training.recipe import Example, HyperParams, RecipeContext, TrainingRecipe
from enigma_router.features import FeatureSpec, FeatureVocab, Featurizer, Hasher
from enigma_router.linear import LINEAR_C

TRAINING_STATE = ("bag.exp_avg", "bag.exp_avg_sq", "bag.steps", "probe_state")
"""Router state-dict entries that only training needs: checkpointed, never exported."""

if TYPE_CHECKING:
    import torch
    from torch import nn

    from enigma_core.context import TaskContext
    from enigma_core.presets import ModelConfig
    from enigma_core.tokenizer import SharedTokenizer

SEED_DATA = find_data_file("data/specialized/router_training.txt", __file__)
ROUTER_FORMAT = 1
DEFAULT_HYPER = HyperParams(
    size="nano",
    epochs=10,
    lr=4e-3,
    batch_size=128,
    warmup=0.1,
    min_lr_ratio=0.01,
    weight_decay=0.0,
    grad_clip=0.0,
    patience=0,
    dropout=0.5,
    valid_fraction=0.1,
    min_examples=20,
)
"""Measured on banking77/hwu64/snips (docs/ROUTER_BENCHMARKS.md): ~10 epochs suffice."""


@dataclass
class RouterExample(Example):
    """An :class:`Example` that also keeps its text and hashed n-gram counts."""

    text: str = ""
    from_train: bool = True
    rows: np.ndarray | None = None
    weights: np.ndarray | None = None


@dataclass
class RouterSettings:
    """Network and feature settings of a router training run (besides the loop's hyper).

    Defaults measured in docs/ROUTER_BENCHMARKS.md: two 128-wide MLP members, labels grouped by
    name prefix, the exact linear member with half of the fused spread, refit on all data.
    """

    features: FeatureSpec = field(default_factory=FeatureSpec)
    hidden: int = 128  # per member
    members: int = 2  # MLP members, each with its own loss; logits averaged
    linear: bool = True  # fit the linear SVM member (needs scikit-learn at training time)
    linear_share: float = 0.5  # its share of the fused logits' spread on validation
    label_smoothing: float = 0.1
    refit: bool = True  # retrain on train + carved validation after calibrating
    label_groups: bool = True  # labels sharing a prefix before "_" share an output vector


class _State:
    """What the recipe's closures share: settings, hasher, every loaded example, the vocab."""

    def __init__(self, settings: RouterSettings) -> None:
        self.settings = settings
        self.hasher = Hasher(settings.features)
        self.loaded: list[RouterExample] = []
        self.featurizer: Featurizer | None = None
        self.plugins: dict[str, str] = {}
        self.plugin_examples = 0
        self.loads = 0

    def example(
        self, text: str, label: str, tokenizer: SharedTokenizer, source: str
    ) -> RouterExample:
        """Tokenize + hash one labelled request and remember it for the vocabulary."""
        ids = tokenizer.encode(text, prefix_space=True) or [tokenizer.unk_id]
        ex = RouterExample(ids=ids, label=label, source=source, text=text)
        self.loaded.append(ex)
        return ex

    def build_vocab(self) -> FeatureVocab:
        """Vocabulary + idf over every example loaded so far (idf is label-free)."""
        h = self.hasher
        vocab = FeatureVocab.build(
            (h.all_keys(h.raw(ex.text, ex.ids)) for ex in self.loaded),
            self.settings.features.min_df,
        )
        self.featurizer = Featurizer(self.settings.features, vocab, h)
        for ex in self.loaded:
            ex.rows = None
        return vocab

    def bag(self, ex: RouterExample) -> tuple[np.ndarray, np.ndarray]:
        """Cached ``(rows, weights)`` of one example under the current vocabulary."""
        if ex.rows is None or ex.weights is None:
            if self.featurizer is None:
                raise EnigmaError("router recipe: batches requested before the model was built")
            pieces = ex.ids if self.settings.features.piece_n > 0 else ()
            ex.rows, ex.weights = self.featurizer.one(ex.text, pieces)
        return ex.rows, ex.weights


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


def make_router_recipe(
    context: TaskContext | None = None,
    settings: RouterSettings | None = None,
    hyper: HyperParams | None = None,
    seed_data: Path = SEED_DATA,
) -> TrainingRecipe:
    """The router recipe: plugs the n-gram network into the core loop (see module doc)."""
    from enigma_core.formats import load_intent_examples, normalize_intent

    state = _State(settings or RouterSettings())
    extra = plugin_examples(context)
    state.plugins = plugin_versions(context)
    default_data = (seed_data,)

    def load_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        out: list[RouterExample] = []
        first = state.loads == 0  # the loop loads the training files first, then --valid
        state.loads += 1
        for path in paths:
            for rec in load_intent_examples(path):
                src = f"{rec.source or path}:{rec.line}"
                out.append(state.example(rec.text, normalize_intent(rec.intent), tokenizer, src))
                out[-1].from_train = first
        if tuple(Path(p) for p in paths) == default_data and extra:
            state.plugin_examples = len(extra)
            for text, intent, src in extra:
                out.append(state.example(text, normalize_intent(intent), tokenizer, src))
        return list(out)

    def build_model(config: ModelConfig) -> nn.Module:
        return _build(state, config)

    return TrainingRecipe(
        task="router",
        load_examples=load_examples,
        head="classify",
        default_data=default_data,
        metric="accuracy",
        higher_is_better=True,
        hyper=hyper or DEFAULT_HYPER,
        build_model=build_model,
        make_batch=lambda examples, ctx: _make_batch(state, examples, ctx),
        loss=lambda model, batch: _loss(state, model, batch),
        evaluate=lambda model, examples, ctx: _evaluate(state, model, examples, ctx),
        finalize=lambda model, train, valid, ctx: _finalize(state, model, train, valid, ctx),
        description="intent router: hashed word/char/piece n-grams -> MLP, calibrated oos",
        half_tensors=("bag.weight", "linear.weight"),
        export_exclude=TRAINING_STATE,
    )


# -- torch parts (imported lazily: this module stays importable without torch) ---------------
def _build(state: _State, config: ModelConfig) -> nn.Module:
    import torch

    from enigma_router.model import RouterNet, RouterNetConfig

    vocab = state.build_vocab()
    s = state.settings
    net = RouterNet(
        RouterNetConfig(
            n_features=len(vocab),
            n_labels=max(config.n_labels, 2),
            hidden=s.hidden,
            members=s.members,
            dropout=config.dropout,
            linear=_use_linear(s),
            label_groups=_label_groups(state, config.n_labels) if s.label_groups else (),
        )
    )
    with torch.no_grad():
        net.feat_keys.copy_(torch.from_numpy(vocab.keys))
        net.feat_idf.copy_(torch.from_numpy(vocab.idf))
    return net


def _use_linear(settings: RouterSettings) -> bool:
    """Whether to fit the linear member (needs scikit-learn; one stderr line when missing)."""
    from enigma_router import linear

    if not settings.linear:
        return False
    if linear.available():
        return True
    print(
        "note: scikit-learn is not installed, so the router trains without its linear member "
        "(about 0.3 points less accuracy); pip install 'enigma-router[train]'",
        file=sys.stderr,
    )
    return False


def _label_groups(state: _State, n_labels: int) -> tuple[int, ...]:
    """Group id per label (sorted label order) by the name's prefix before ``_``."""
    labels = sorted({str(ex.label) for ex in state.loaded})
    if len(labels) != n_labels:
        return ()
    prefixes = [lab.split("_", 1)[0] if "_" in lab else lab for lab in labels]
    names = sorted(set(prefixes))
    if len(names) in (1, len(labels)):
        return ()
    return tuple(names.index(p) for p in prefixes)


def _make_batch(state: _State, examples: Sequence[Example], ctx: RecipeContext) -> dict[str, Any]:
    import torch

    rows, weights, offsets = [], [], np.empty(len(examples), dtype=np.int64)
    n = 0
    for i, ex in enumerate(examples):
        if not isinstance(ex, RouterExample):
            raise EnigmaError(f"{ex.source or 'router data'}: not loaded by the router recipe")
        r, w = state.bag(ex)
        offsets[i] = n
        n += len(r)
        rows.append(r)
        weights.append(w)
    targets = np.fromiter((ex.target for ex in examples), dtype=np.int64, count=len(examples))
    dev = ctx.device
    return {
        "rows": torch.from_numpy(np.concatenate(rows) if rows else np.zeros(0, np.int64)).to(dev),
        "offsets": torch.from_numpy(offsets).to(dev),
        "weights": torch.from_numpy(
            np.concatenate(weights) if weights else np.zeros(0, np.float32)
        ).to(dev),
        "targets": torch.from_numpy(targets).to(dev),
        "n_tokens": int(sum(len(ex.ids) for ex in examples)),
    }


def _loss(state: _State, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    import torch.nn.functional as F

    logits, _ = model.parts(batch["rows"], batch["offsets"], batch["weights"])
    k = logits.shape[1]
    loss = F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]),
        batch["targets"].repeat_interleave(k),
        label_smoothing=state.settings.label_smoothing,
    )
    return loss + model.probe_term()


def _logits(
    state: _State, model: nn.Module, examples: Sequence[Example], ctx: RecipeContext
) -> np.ndarray:
    """Validation logits in example order (eval mode, no grad)."""
    import torch

    was = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for s in range(0, len(examples), 1024):
            b = _make_batch(state, examples[s : s + 1024], ctx)
            out.append(model(b["rows"], b["offsets"], b["weights"]).float().cpu().numpy())
    model.train(was)
    return np.concatenate(out) if out else np.zeros((0, len(ctx.labels)), np.float32)


def _evaluate(
    state: _State, model: nn.Module, examples: Sequence[Example], ctx: RecipeContext
) -> dict[str, float]:
    from enigma_router.calibrate import nll

    logits = _logits(state, model, examples, ctx)
    targets = np.array([ex.target for ex in examples], dtype=np.int64)
    if not len(targets):
        return {"accuracy": 0.0, "val_loss": 0.0}
    return {
        "accuracy": float((logits.argmax(axis=1) == targets).mean()),
        "val_loss": nll(logits, targets, 1.0),
    }


def _finalize(
    state: _State,
    model: nn.Module,
    train: Sequence[Example],
    valid: Sequence[Example],
    ctx: RecipeContext,
) -> dict[str, Any]:
    """Calibrate on ``valid`` and return the ``router`` block of ``config.json``."""
    from enigma_router.calibrate import calibrate

    targets = np.array([ex.target for ex in valid], dtype=np.int64)
    beta = _fit_linear(state, model, train, valid, ctx, beta=None)
    logits = _logits(state, model, valid, ctx)
    oos_index = ctx.labels.index("oos") if "oos" in ctx.labels else -1
    calibration, report = calibrate(logits, targets, oos_index)
    refit_info = _maybe_refit(state, model, train, valid, ctx)
    if refit_info is not None and beta is not None:  # the refit network has no linear member yet
        _fit_linear(state, model, [*train, *valid], (), ctx, beta=beta)
    model.fold_groups()
    net_cfg = model.cfg.to_dict()
    n_params = sum(int(p.numel()) for p in model.parameters())
    return {
        "router": {
            "format": ROUTER_FORMAT,
            "architecture": "ngram-bag-mlp",
            "features": state.settings.features.to_dict(),
            "net": net_cfg,
            "parameters": n_params,
            "label_smoothing": state.settings.label_smoothing,
            "calibration": calibration.to_dict(),
            "calibration_report": report,
            "refit": refit_info,
            "linear": None if beta is None else {"c": LINEAR_C, "weight": round(beta, 6)},
            "plugins": state.plugins,
            "plugin_examples": state.plugin_examples,
            "oos_label": "oos" if oos_index >= 0 else None,
        }
    }


def _maybe_refit(
    state: _State,
    model: nn.Module,
    train: Sequence[Example],
    valid: Sequence[Example],
    ctx: RecipeContext,
) -> dict[str, Any] | None:
    """Retrain on train + carved valid (see ``refit.py``); None when not applicable."""
    import torch

    from enigma_router.refit import refit

    carved = bool(valid) and all(getattr(ex, "from_train", False) for ex in valid)
    if not (state.settings.refit and carved and model.steps_seen > 0):
        return None
    per_epoch = -(-len(train) // ctx.batch_size)
    epochs = max(1, round(model.steps_seen / per_epoch))
    lr = model.peak_lr or ctx.recipe.hyper.lr
    hyper = ctx.recipe.hyper.replace(epochs=epochs, lr=lr, batch_size=ctx.batch_size)
    examples = [*train, *valid]
    net = refit(model, examples, ctx, hyper, lambda m, b: _loss(state, m, b), seed=ctx.seed)
    weights = {k: v for k, v in net.state_dict().items() if k not in TRAINING_STATE}
    with torch.no_grad():  # the loop's own counters stay (a resumed finished run refits alike)
        model.load_state_dict(weights, strict=False)
    return {"examples": len(examples), "epochs": epochs, "lr": round(lr, 8)}


def _fit_linear(
    state: _State,
    model: nn.Module,
    train: Sequence[Example],
    valid: Sequence[Example],
    ctx: RecipeContext,
    beta: float | None,
) -> float | None:
    """Solve the linear member on ``train`` and install it; returns its weight ``beta``.

    With ``beta`` None it is measured: the linear scores get ``linear_share`` of the spread on
    ``valid`` (0.5: the same spread as the MLP's logits, an equal say in the sum). None when
    the network has no linear member.
    """
    import torch

    from enigma_router import linear

    if model.linear is None:
        return None
    bags = [state.bag(ex) for ex in train]
    targets = np.array([ex.target for ex in train], dtype=np.int64)
    weight, bias = linear.fit(bags, targets, model.cfg.n_features, model.cfg.n_labels, ctx.seed)
    if beta is None:
        probe = valid or train  # no validation split: the spread on the training data
        mlp = _logits(state, model, probe, ctx)
        lin = linear.scores([state.bag(ex) for ex in probe], weight, bias)
        share = min(max(state.settings.linear_share, 0.0), 0.99)
        beta = linear.spread_ratio(mlp, lin) * share / (1.0 - share)
    model.set_linear(torch.from_numpy(weight), torch.from_numpy(bias), beta)
    return beta
