"""The whole router training run in numpy: features, network, linear member, calibration, refit.

``train_router`` takes labelled train/valid requests and returns the arrays to export and the
``router`` block of ``config.json``:

1. hash every request once, build the n-gram vocabulary and the sparse matrices;
2. train the MLP members on ``train`` (``fit.train_net``), validating each epoch;
3. solve the linear member on ``train`` (``linear.py``; only its first few passes when the
   refit solves the shipped one) and give it ``linear_share`` of the fused spread on
   ``valid``; calibrate temperature and oos knobs on the fused ``valid`` logits;
4. refit: when ``valid`` was carved from the training files, continue training on train +
   valid for ``refit_epochs`` epochs (warm start) and solve the linear member again on all of
   it, keeping the calibration measured on the held-out split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from enigma_router import unknown
from enigma_router.features import FeatureSpec, Featurizer, Hasher
from enigma_router.fit import Matrix, Schedule, mlp_logits, new_net, train_net
from enigma_router.network import RouterNet, RouterNetConfig

ROUTER_FORMAT = 2
"""2: trained in numpy, inference-critical config in the weights file's metadata."""


@dataclass
class RouterSettings:
    """Network, features and refit of a router training run (besides the loop's hyper).

    Defaults measured in docs/ROUTER_BENCHMARKS.md: two 128-wide MLP members, labels grouped by
    name prefix, the exact linear member with half of the fused spread, a warm refit, and the
    request's static word vector distilled from all-MiniLM-L6-v2 as extra inputs
    (``vectors=False``: the n-grams alone, the from-scratch recipe).
    """

    features: FeatureSpec = field(default_factory=FeatureSpec)
    hidden: int = 128  # per member
    members: int = 2  # MLP members, each with its own loss; logits averaged
    linear: bool = True  # fit the linear SVM member (needs scikit-learn at training time)
    linear_share: float = 0.5  # its share of the fused logits' spread on validation
    label_smoothing: float = 0.1
    refit: str = "warm"  # after calibrating on a carved split: "warm", "full" or "none"
    refit_epochs: int = 1  # warm refit: epochs over train + valid (2 until issue 21)
    refit_lr: float = 0.25  # warm refit: peak lr as a fraction of the run's
    refit_linear: bool = True  # refit: solve the linear member again on train + valid
    label_groups: bool = True  # labels sharing a prefix before "_" share an output vector
    oos_budget: float = -1.0  # share of in-scope validation to reject as unknown; < 0: default
    examples: bool = True  # store the training examples' hidden vectors (unknown score, explain)
    balance: bool = True  # a class k >= 2 times smaller than the median weighs k times more
    balance_cap: int = 4  # ... at most this many times in the MLP (the linear member: uncapped)
    vectors: bool = True  # append the request's static MiniLM word vector (vectors.py)
    vector_scale: float = 3.0  # its length among the MLP's inputs (the n-gram groups have 1 each)
    vector_linear_scale: float = 1.0  # ... among the linear member's
    vector_linear_dims: int = 32  # the linear member reads this many leading (PCA) dimensions

    def to_dict(self) -> dict[str, Any]:
        """JSON form (recorded in ``config.json``)."""
        out = asdict(self)
        out["features"] = self.features.to_dict()
        return out


@dataclass
class Hyper:
    """The loop settings the router uses (a subset of the core's HyperParams)."""

    epochs: int = 10
    lr: float = 4e-3
    batch_size: int = 128
    warmup: float = 0.1
    min_lr_ratio: float = 0.01
    weight_decay: float = 0.0
    dropout: float = 0.5

    @classmethod
    def of(cls, hp: Any) -> Hyper:
        """The router's subset of the core's ``HyperParams`` ``hp``."""
        return cls(**{name: getattr(hp, name) for name in cls.__dataclass_fields__})


@dataclass
class RouterResult:
    """What one run produced: export arrays, the ``router`` config block, per-epoch history."""

    tensors: dict[str, np.ndarray]
    router: dict[str, Any]
    history: list[dict[str, Any]]
    parameters: int
    seconds: dict[str, float]
    steps: int


Log = Callable[[dict[str, Any]], None]


def label_groups(labels: Sequence[str]) -> tuple[int, ...]:
    """Group id per label by the name's prefix before ``_`` (empty when that groups nothing)."""
    prefixes = [lab.split("_", 1)[0] if "_" in lab else lab for lab in labels]
    names = sorted(set(prefixes))
    if len(names) in (1, len(labels)):
        return ()
    return tuple(names.index(p) for p in prefixes)


def class_repeats(y: np.ndarray, n_labels: int, cap: int | None = None) -> np.ndarray:
    """Class balance: ``floor(median / count)`` per label, at least 1, at most ``cap`` (None:
    no cap), the median taken over labels that have examples.

    A task declared with 20 examples next to intents of ~250 is otherwise outvoted by its
    neighbours (57 % of its held-out phrasings routed to it; docs/ROUTER_BENCHMARKS.md). Labels
    at least half the median's size get 1, so nearly balanced sets train exactly as without it.
    """
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=n_labels)
    present = counts[counts > 0]
    if not len(present):
        return np.ones(n_labels, dtype=np.int64)
    ratio = np.floor(float(np.median(present)) / np.maximum(counts, 1)).astype(np.int64)
    reps = np.maximum(ratio, 1)
    if cap is not None:
        reps = np.minimum(reps, max(int(cap), 1))
    return np.where(counts > 0, reps, 1)


def _balance(y: np.ndarray, n_labels: int, settings: RouterSettings) -> tuple[Any, Any]:
    """``(MLP repeats, linear member class weights)`` per label, or ``(None, None)`` when off.

    The MLP repeats small classes at most ``balance_cap`` times (more over-fits their few
    examples: measured), the exact linear member weighs them by the uncapped ratio."""
    if not settings.balance:
        return None, None
    return class_repeats(y, n_labels, settings.balance_cap), class_repeats(y, n_labels)


def train_router(
    train: tuple[Sequence[str], np.ndarray],
    valid: tuple[Sequence[str], np.ndarray],
    labels: Sequence[str],
    hyper: Hyper,
    settings: RouterSettings,
    seed: int = 0,
    *,
    valid_carved: bool = True,
    log: Log | None = None,
    valid_oos: Sequence[str] = (),
) -> RouterResult:
    """Train, calibrate and (maybe) refit a router; see the module doc.

    ``valid_oos`` are validation requests labelled ``oos`` when training has no such label:
    they only measure the trade-off curve (oos recall per budget), nothing is trained on them.
    """
    from enigma_router import linear
    from enigma_router.calibrate import calibrate
    from enigma_router.dataset import build_vocab, hash_texts, matrix

    clock = _Clock()
    spec = settings.features
    hasher = Hasher(spec)
    train_docs = hash_texts(train[0], hasher)
    valid_docs = hash_texts(valid[0], hasher)
    vocab = build_vocab([*train_docs, *valid_docs], hasher, spec)
    featurizer = Featurizer(spec, vocab, hasher)
    table = _vector_table(settings)
    tr = _with_vectors(matrix(train_docs, featurizer), train[0], table, settings)
    va = _with_vectors(matrix(valid_docs, featurizer), valid[0], table, settings)
    tr.y, va.y = np.asarray(train[1], dtype=np.int64), np.asarray(valid[1], dtype=np.int64)
    va_oos = (
        _with_vectors(matrix(hash_texts(valid_oos, hasher), featurizer), valid_oos, table, settings)
        if len(valid_oos)
        else None
    )
    feat_keys, feat_idf = vocab.keys, vocab.idf
    # peak memory: the per-word caches and the key index are not needed past this point
    del train_docs, valid_docs, featurizer, hasher, vocab
    clock.lap("features")
    use_linear = settings.linear and linear.available()
    cfg = RouterNetConfig(
        n_features=tr.x.shape[1],  # the n-grams, then the word-vector columns
        n_labels=max(len(labels), 2),
        hidden=settings.hidden,
        members=settings.members,
        dropout=hyper.dropout,
        linear=use_linear,
        label_groups=label_groups(labels) if settings.label_groups else (),
    )
    schedule = _schedule(hyper, settings, hyper.epochs, hyper.lr)
    repeats, class_weight = _balance(tr.y, cfg.n_labels, settings)
    net = train_net(new_net(cfg, seed), tr, schedule, seed, valid=va, log=log, repeats=repeats)
    history = list(schedule.history)
    steps = schedule.steps
    clock.lap("network")
    refits = settings.refit != "none" and valid_carved and len(va) > 0
    # With a refit, this member only calibrates (fusion weight, temperature, unknown score on
    # valid) and the shipped one is solved again on train + valid: a few liblinear passes give
    # the same spread and calibration at a fraction of an exact solve (docs/ROUTER_BENCHMARKS.md).
    resolve = refits and settings.refit_linear
    iters = linear.CALIBRATION_ITERATIONS if resolve else linear.MAX_ITERATIONS
    lin = (
        linear.fit(tr.lx, tr.y, cfg.n_labels, seed, weights=class_weight, max_iter=iters)
        if use_linear
        else None
    )
    beta = None
    if lin is not None:
        probe = va if len(va) else tr  # no validation split: the spread on the training data
        share = min(max(settings.linear_share, 0.0), 0.99)
        spread = linear.spread_ratio(mlp_logits(net, probe.x), linear.scores(probe.lx, *lin))
        beta = spread * share / (1.0 - share)
    clock.lap("linear")
    logits = _fused(net, va, lin, beta)
    oos_index = list(labels).index("oos") if "oos" in labels else -1
    calibration, report = calibrate(logits, va.y, oos_index)
    budget = unknown.DEFAULT_BUDGET if settings.oos_budget < 0 else settings.oos_budget
    unknown_cal = None
    if settings.examples:
        oos_logits = None if va_oos is None else _fused(net, va_oos, lin, beta)
        unknown_cal = _unknown_calibration(
            net,
            tr,
            va,
            (None if va_oos is None else va_oos.x, oos_logits),
            logits,
            calibration,
            oos_index,
            budget,
        )
    clock.lap("calibration")
    refit_info = None
    final = tr
    if refits:
        final = Matrix(
            _vstack(tr.x, va.x),
            np.concatenate([tr.y, va.y]),
            None if tr.xl is None else _vstack(tr.lx, va.lx),
            dense_from=tr.dense_from,
        )
        del tr, va  # peak memory: only train + valid is used from here on
        repeats, class_weight = _balance(final.y, cfg.n_labels, settings)
        net, refit_info = _refit(net, cfg, final, hyper, settings, seed, log, repeats)
        steps += int(refit_info["steps"])
        if lin is not None and resolve:
            lin = None  # the first solution's weights go before the second is solved
            lin = linear.fit(final.lx, final.y, cfg.n_labels, seed, weights=class_weight)
        clock.lap("refit")
    tensors = {**net.folded(), "feat_keys": feat_keys, "feat_idf": feat_idf}
    vec_info = None
    if table is not None:  # the vector rows leave the n-gram table: their own tensor
        # float32 rows, scaled: ``unit vector @ vec_table`` adds to the bag sum what the
        # appended columns did (the MLP rows rounded to float16 as ``hidden`` computes them)
        d = table.dims
        rows = tensors["table"][-d:].astype(np.float16).astype(np.float32)
        tensors["vec_table"] = rows * np.float32(settings.vector_scale)
        tensors["table"] = tensors["table"][:-d]
        if lin is not None:  # the linear member's vector rows: its first k columns past the n-grams
            k = lin[0].shape[0] - len(feat_keys)
            lin_rows = np.zeros((d, lin[0].shape[1]), dtype=np.float32)
            lin_rows[:k] = lin[0][len(feat_keys) :] * np.float32(settings.vector_linear_scale)
            tensors["vec_table"] = np.concatenate([tensors["vec_table"], lin_rows], axis=1)
            lin = (lin[0][: len(feat_keys)], lin[1])
        vec_info = {
            "file": table.path.name,
            "sha256": table.sha256,
            "dims": d,
            "scale": settings.vector_scale,
            "linear_scale": settings.vector_linear_scale,
            "linear_dims": settings.vector_linear_dims,
            "source": table.meta.get("source", ""),
        }
    if settings.examples:
        texts = [*train[0], *valid[0]] if refit_info is not None else list(train[0])
        tensors.update(_example_tensors(net, final, texts, cfg.n_labels, oos_index))
    if lin is not None and beta is not None:  # one table: [MLP rows | linear member rows]
        tensors["table"] = np.concatenate([tensors["table"], lin[0]], axis=1)
        tensors["linear_bias"] = lin[1]
        tensors["linear_weight"] = np.array(beta, dtype=np.float32)
    router = {
        "format": ROUTER_FORMAT,
        "architecture": "ngram-bag-mlp",
        "features": spec.to_dict(),
        "net": cfg.to_dict(),
        "parameters": net.parameter_count() + (0 if lin is None else lin[0].size + lin[1].size),
        "label_smoothing": settings.label_smoothing,
        "calibration": {**calibration.to_dict(), **(unknown_cal or {})},
        "calibration_report": report,
        "refit": refit_info,
        "linear": None if beta is None else {"c": linear.LINEAR_C, "weight": round(beta, 6)},
        "oos_label": "oos" if oos_index >= 0 else None,
        "vectors": vec_info,
    }
    return RouterResult(tensors, router, history, router["parameters"], clock.laps, steps)


def hidden(net: RouterNet, x: Any, chunk: int = 4096) -> np.ndarray:
    """The MLP's ReLU activations ``(n, members * hidden)`` of a sparse matrix: the router's own
    feature space (what the unknown score and explanations compare), computed as inference does
    on the float16 table."""
    table = net.table.astype(np.float16).astype(np.float32)
    bias = net.dense["bag_bias"]
    parts = [
        np.maximum(np.asarray(x[s : s + chunk] @ table) + bias, 0.0)
        for s in range(0, x.shape[0], chunk)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, table.shape[1]), np.float32)


def _unknown_calibration(
    net: RouterNet,
    tr: Matrix,
    va: Matrix,
    held_oos: tuple[Any, np.ndarray | None],
    logits: np.ndarray,
    calibration: Any,
    oos_index: int,
    budget: float,
) -> dict[str, Any] | None:
    """Unknown scores of the validation requests against the training examples, the trade-off
    curve over budgets and the threshold of ``budget`` (see ``unknown.py``)."""
    from enigma_router.calibrate import softmax

    n_labels = logits.shape[1]
    keep = tr.y != oos_index
    order, offsets = unknown.by_label(tr.y[keep], n_labels)
    # as inference will read them: float16 example vectors (fewer ties moved by the rounding)
    ref = unknown.normalise(hidden(net, tr.x)[np.flatnonzero(keep)[order]])
    ref = ref.astype(np.float16).astype(np.float32)
    is_oos = va.y == oos_index if oos_index >= 0 else np.zeros(len(va), bool)
    if not len(va) or is_oos.all():
        return None
    centres = unknown.intent_centres(ref, offsets)
    probs = softmax(logits, calibration.temperature)
    pred = probs.argmax(axis=1)
    top = np.sort(probs, axis=1)
    unsure = (top[:, -1] < calibration.threshold) | (top[:, -1] - top[:, -2] < calibration.margin)
    learned = (pred == oos_index) | (unsure & (pred != oos_index) & (oos_index >= 0))
    scores = unknown.unknown_scores(hidden(net, va.x), pred, ref, offsets, centres)
    plain = ~is_oos & ~learned  # in-scope requests no learned rule already rejects
    doubt = unknown.doubt_coefficient(scores[plain], probs.max(axis=1)[plain])
    scores = unknown.mixed(scores, probs.max(axis=1), doubt)
    oos_scores, caught = scores[is_oos], learned[is_oos]
    x_oos, oos_logits = held_oos
    if x_oos is not None and oos_logits is not None:  # a validation file's oos, none in training
        p_oos = oos_logits.argmax(axis=1)
        extra = unknown.unknown_scores(hidden(net, x_oos), p_oos, ref, offsets, centres)
        extra = unknown.mixed(extra, softmax(oos_logits, calibration.temperature).max(1), doubt)
        oos_scores = np.concatenate([oos_scores, extra])
        caught = np.concatenate([caught, np.zeros(len(extra), bool)])
    ins = ~is_oos
    curve = unknown.fit_curve(
        scores[ins],
        pred[ins] == va.y[ins],
        oos_scores if len(oos_scores) else None,
        learned[ins],
        caught if len(oos_scores) else None,
    )
    return {
        "unknown": unknown.DESCRIPTION,
        "unknown_doubt": doubt,
        "oos_budget": round(budget, 6),
        "unknown_threshold": _finite_or_none(unknown.threshold_for(curve, budget)),
        "valid_oos": len(oos_scores),
        "curve": curve,
    }


def _finite_or_none(value: float) -> float | None:
    return None if value == unknown.NEVER else value


def _example_tensors(
    net: RouterNet, data: Matrix, texts: Sequence[str], n_labels: int, oos_index: int
) -> dict[str, np.ndarray]:
    """Unit hidden vectors of the final model's training examples, sorted by label (learned
    ``oos`` examples left out), their label offsets, each label's centre (``unknown.py``, from
    the vectors as stored: float16) and texts (UTF-8 blob + offsets)."""
    keep = np.flatnonzero(data.y != oos_index)
    order, offsets = unknown.by_label(data.y[keep], n_labels)
    rows = keep[order]
    vectors = unknown.normalise(hidden(net, data.x)[rows])  # no reordered copy of the matrix
    raw = [texts[int(i)].encode("utf-8") for i in rows]
    ends = np.cumsum([len(b) for b in raw], dtype=np.int64)
    return {
        "ex_vectors": vectors,
        "ex_offsets": offsets,
        "ex_centre": unknown.intent_centres(vectors.astype(np.float16), offsets),
        "ex_text": np.frombuffer(b"".join(raw), dtype=np.uint8).copy(),
        "ex_text_ends": ends,
    }


def _schedule(hyper: Hyper, settings: RouterSettings, epochs: int, lr: float) -> Schedule:
    return Schedule(
        epochs=epochs,
        batch_size=hyper.batch_size,
        lr=lr,
        warmup=hyper.warmup,
        min_lr_ratio=hyper.min_lr_ratio,
        weight_decay=hyper.weight_decay,
        label_smoothing=settings.label_smoothing,
    )


def _refit(
    net: RouterNet,
    cfg: RouterNetConfig,
    both: Matrix,
    hyper: Hyper,
    settings: RouterSettings,
    seed: int,
    log: Log | None,
    repeats: np.ndarray | None = None,
) -> tuple[RouterNet, dict[str, Any]]:
    """Train on train + carved valid: continue ``net`` (warm) or start over (full)."""
    if settings.refit == "full":
        schedule = _schedule(hyper, settings, hyper.epochs, hyper.lr)
        net = train_net(
            new_net(cfg, seed + 1),
            both,
            schedule,
            seed + 1,
            log=log,
            phase="refit",
            repeats=repeats,
        )
        info = {"mode": "full", "examples": len(both), "epochs": hyper.epochs}
        return net, {**info, "steps": schedule.steps}
    lr = hyper.lr * settings.refit_lr
    schedule = _schedule(hyper, settings, settings.refit_epochs, lr)
    schedule.warmup = 0.0
    net = train_net(net, both, schedule, seed + 1, log=log, phase="refit", repeats=repeats)
    return net, {
        "mode": "warm",
        "examples": len(both),
        "epochs": settings.refit_epochs,
        "lr": round(lr, 8),
        "steps": schedule.steps,
    }


def _fused(
    net: RouterNet, data: Matrix, lin: tuple[np.ndarray, np.ndarray] | None, beta: float | None
) -> np.ndarray:
    """MLP logits plus ``beta`` times the linear scores (what inference computes)."""
    from enigma_router import linear

    logits = mlp_logits(net, data.x)
    if lin is not None and beta is not None:
        logits = logits + np.float32(beta) * linear.scores(data.lx, *lin)
    return logits


def _vector_table(settings: RouterSettings) -> Any:
    """The shipped static word vectors when the settings use them, else None."""
    if not settings.vectors:
        return None
    from enigma_router import vectors

    return vectors.load()


def _with_vectors(x: Any, texts: Sequence[str], table: Any, settings: RouterSettings) -> Matrix:
    """``Matrix`` of the n-gram rows ``x`` with each request's unit word vector appended as
    dense columns: times ``vector_scale`` for the MLP (``x``), times ``vector_linear_scale`` for
    the linear member (``xl``, sharing ``x``'s index arrays). Labels are filled in after."""
    from scipy.sparse import csr_matrix, hstack

    y = np.zeros(x.shape[0], dtype=np.int64)
    if table is None:
        return Matrix(x, y)
    units = table.units(texts)
    both = hstack([x, csr_matrix(units)], format="csr", dtype=np.float32)
    both.sort_indices()
    dense = both.indices >= x.shape[1]
    k = min(max(int(settings.vector_linear_dims), 0), table.dims)
    if k == table.dims:  # the linear member's copy shares the index arrays
        lin_data = both.data.copy()
        lin_data[dense] *= np.float32(settings.vector_linear_scale)
        xl = csr_matrix((lin_data, both.indices, both.indptr), shape=both.shape)
    else:
        part = csr_matrix(units[:, :k] * np.float32(settings.vector_linear_scale))
        xl = hstack([x, part], format="csr", dtype=np.float32)
    both.data[dense] *= np.float32(settings.vector_scale)
    return Matrix(both, y, xl, dense_from=x.shape[1])


def _vstack(a: Any, b: Any) -> Any:
    from scipy.sparse import vstack

    return vstack([a, b], format="csr", dtype=np.float32)


class _Clock:
    """Seconds spent in each phase (reported in ``--json`` and the bench)."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(self.laps.get(name, 0.0) + now - self.t, 3)
        self.t = now
