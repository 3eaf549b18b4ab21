"""Unknown-request scores and the rejection budget (numpy only, shared by training and use).

A request is scored "unlike anything I know" by how far its hidden vector (the MLP's ReLU layer,
the router's own feature space) is from the nearest *training example of the intent it was given*
(``distance = 1 - max cosine``; it needs no out-of-scope examples and beat max-probability,
max-logit, energy, class centroids and nearest-over-all-intents at catching unknown requests),
*centred* on that intent's own spread (minus the mean distance of its training examples to their
nearest other example, :func:`intent_centres`: a loose intent's requests are not outliers for
being as far from their neighbours as its own examples are), plus the model's *doubt* in that
intent: ``unknown = distance - centre + doubt x (1 - max probability)``.
Distance catches unknown requests; doubt spends the rejection budget on in-scope requests the
model would get wrong anyway (a rejected request it had right is what costs in-scope accuracy).
The coefficient is :data:`DEFAULT_DOUBT` in z-units of validation scores, stored per model as
``unknown_doubt`` (docs/ROUTER_BENCHMARKS.md, "Out-of-scope"; 0 in older models: distance only).

Calibration stores the validation trade-off as a curve: for each in-scope rejection rate
(the *budget*) the score threshold reaching it, and the oos recall / in-scope accuracy there when
validation holds ``oos`` requests. Any budget is then a look-up, per call, without retraining.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

DEFAULT_BUDGET = 0.10
"""Share of in-scope validation requests a router may reject: chosen on banking77-oos and
hwu64-oos validation (best accuracy over the 4:1 in-scope:oos mix on both), see the docs."""
DEFAULT_DOUBT = 0.25
"""Weight of doubt (``1 - max probability``) next to distance in the unknown score, in z-units
of in-scope validation scores. Chosen on banking77-oos and hwu64-oos *validation* (seeds 0-2):
the worse of our two margins (in-scope accuracy, oos recall at the default budget) to the better
baseline is flat from 0 to 0.25 and falls beyond; 0.25 is the flat region's end with the most
in-scope accuracy. Re-checked for the centred score (session 7): that rule now prefers 1.0 and
routing accuracy over the validation mix prefers 0, each by about two validation requests over
0.25, which stays. See docs/ROUTER_BENCHMARKS.md, "Out-of-scope" and "Session 7"."""
DESCRIPTION = (
    "1 - max cosine to the predicted intent's training examples (hidden layer) "
    "- the intent's centre (ex_centre) + unknown_doubt x (1 - max probability)"
)
DOUBT_MIN_SPREAD = 1e-4
"""Standard deviation of ``1 - max probability`` over validation below which doubt is left out."""
CENTRE_PRIOR = 5.0
"""Pseudo-examples at the mean over all intents that each intent's centre is shrunk towards
(:func:`intent_centres`): an intent with 5 examples gets half its own mean; with 100, 95 %."""
CENTRE_QUERIES = 1000
"""At most this many examples of one intent (evenly spaced) are measured against all of its
examples: the centre is a mean, and a 100,000-example intent would otherwise cost n^2."""
CENTRE_CHUNK = 250
"""Examples measured per block (a block holds ``CENTRE_CHUNK x intent size`` similarities)."""
CURVE_STEP = 0.005
CURVE_MAX = 0.5
NEVER = float("inf")


def normalise(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero), float32."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(n > 0, n, np.float32(1.0))


def by_label(y: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """``(order, offsets)``: example indices sorted by label (stable) and each label's start."""
    order = np.argsort(y, kind="stable")
    counts = np.bincount(y, minlength=n_labels)
    offsets = np.zeros(n_labels + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return order.astype(np.int64), offsets


def nearest_same_label(
    queries: np.ndarray, pred: np.ndarray, vectors: np.ndarray, offsets: np.ndarray
) -> np.ndarray:
    """Max cosine of each (unit) query to the (unit, label-sorted) examples of its predicted
    label; -1 when that label has no example (e.g. a learned ``oos`` label)."""
    best = np.full(len(queries), -1.0, dtype=np.float32)
    for label in np.unique(pred):
        s, e = int(offsets[label]), int(offsets[label + 1])
        if e <= s:
            continue
        rows = np.flatnonzero(pred == label)
        best[rows] = (queries[rows] @ np.asarray(vectors[s:e], dtype=np.float32).T).max(axis=1)
    return best


def unknown_scores(
    queries: np.ndarray,
    pred: np.ndarray,
    vectors: np.ndarray,
    offsets: np.ndarray,
    centres: np.ndarray | None = None,
) -> np.ndarray:
    """``1 - max cosine`` to the predicted label's examples (0: a known example, 2: opposite),
    minus that label's entry of ``centres`` when given (:func:`intent_centres`)."""
    dist = 1.0 - nearest_same_label(normalise(queries), pred, vectors, offsets)
    if centres is None:
        return dist
    return dist - np.asarray(centres, dtype=np.float32)[pred]


def intent_centres(
    vectors: np.ndarray, offsets: np.ndarray, prior: float = CENTRE_PRIOR
) -> np.ndarray:
    """Per label, the mean over its (unit, label-sorted) examples of ``1 - max cosine`` to
    another example of the same label (leave-one-out; over at most :data:`CENTRE_QUERIES` of
    them, evenly spaced), shrunk towards the mean over all measured examples by ``prior``
    pseudo-examples; a label with fewer than two examples gets that mean (0 when no label has
    two). float32, one entry per label."""
    n_labels = len(offsets) - 1
    own = [np.zeros(0, dtype=np.float64)] * n_labels
    for label in range(n_labels):
        s, e = int(offsets[label]), int(offsets[label + 1])
        if e - s < 2:
            continue
        block = np.asarray(vectors[s:e], dtype=np.float32)
        picked = np.unique(np.linspace(0, e - s - 1, min(e - s, CENTRE_QUERIES)).round())
        picked = picked.astype(np.int64)
        nearest = np.empty(len(picked), dtype=np.float64)
        for a in range(0, len(picked), CENTRE_CHUNK):  # bounded memory for big intents
            at = picked[a : a + CENTRE_CHUNK]
            sims = block[at] @ block.T
            sims[np.arange(len(at)), at] = -np.inf  # not itself
            nearest[a : a + len(at)] = 1.0 - sims.max(axis=1)
        own[label] = nearest
    pooled = np.concatenate(own) if n_labels else np.zeros(0)
    overall = float(pooled.mean()) if len(pooled) else 0.0
    return np.array([(d.sum() + prior * overall) / (len(d) + prior) for d in own], dtype=np.float32)


def doubt_coefficient(
    distance: np.ndarray, p_max: np.ndarray, weight: float | None = None
) -> float:
    """The coefficient of doubt (``1 - max probability``) in :func:`mixed`: ``weight`` times
    the ratio of the two parts' standard deviations over in-scope validation requests, so that
    ``weight`` is unit-free (``weight`` z-units of doubt per z-unit of distance; None:
    :data:`DEFAULT_DOUBT`); 0 when either part does not vary (no data, one label, or
    confidences within :data:`DOUBT_MIN_SPREAD` of each other: the ratio would be huge and
    float rounding would decide)."""
    weight = DEFAULT_DOUBT if weight is None else weight
    d = np.asarray(distance, dtype=np.float64)
    q = 1.0 - np.asarray(p_max, dtype=np.float64)
    if weight <= 0 or len(d) < 2:
        return 0.0
    sd_d, sd_q = float(d.std()), float(q.std())
    if sd_d <= 0 or sd_q < DOUBT_MIN_SPREAD:  # confidences that hardly vary say nothing
        return 0.0
    return round(weight * sd_d / sd_q, 6)


def mixed(distance: np.ndarray, p_max: np.ndarray, doubt: float) -> np.ndarray:
    """The unknown score: ``distance + doubt * (1 - p_max)`` (``doubt`` 0: distance alone)."""
    if not doubt:
        return np.asarray(distance, dtype=np.float64)
    return np.asarray(distance, dtype=np.float64) + doubt * (
        1.0 - np.asarray(p_max, dtype=np.float64)
    )


def threshold_at(in_scope: np.ndarray, budget: float) -> float:
    """A score threshold that rejects (score > threshold) at most ``budget`` of ``in_scope``
    scores, midway between the lowest score it rejects and the highest it keeps (a score moved
    by float rounding after reload stays on its side); ``inf`` for budget 0 or no data."""
    if budget <= 0 or not len(in_scope):
        return NEVER
    s = np.sort(np.asarray(in_scope, dtype=np.float64))
    k = int(np.floor(budget * len(s) + 1e-9))  # requests allowed above the threshold
    if k <= 0:
        return NEVER
    if k >= len(s):
        return float(s[0]) - 1e-6
    lo, hi = float(s[len(s) - k - 1]), float(s[len(s) - k])
    return lo + (hi - lo) / 2  # midway: a score moved by float rounding stays on its side


def fit_curve(
    in_scope: np.ndarray,
    in_correct: np.ndarray,
    oos: np.ndarray | None,
    rejected_in: np.ndarray | None = None,
    caught_oos: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """The trade-off curve: one point per budget step (0 .. :data:`CURVE_MAX`).

    ``in_scope``/``oos`` are validation unknown scores; ``in_correct`` marks in-scope requests
    the model classifies right; ``rejected_in``/``caught_oos`` mark requests already ``oos`` by
    a learned label (they count as rejected at every threshold). Each point: ``budget``,
    ``threshold``, ``in_scope_rejected``, ``in_scope_accuracy`` and, with oos data, ``oos_recall``.
    """
    n_in = len(in_scope)
    pre_in = np.zeros(n_in, bool) if rejected_in is None else rejected_in
    points = []
    steps = round(CURVE_MAX / CURVE_STEP)
    for i in range(steps + 1):
        budget = round(i * CURVE_STEP, 6)
        free = in_scope[~pre_in]
        spare = max(budget - float(pre_in.mean()) if n_in else budget, 0.0)
        # the threshold must keep the *total* in-scope rejection within the budget
        thr = threshold_at(free, spare * n_in / max(len(free), 1))
        rej_in = pre_in | (in_scope > thr)
        point: dict[str, Any] = {
            "budget": budget,
            "threshold": None if thr == NEVER else thr,
            "in_scope_rejected": round(float(rej_in.mean()) if n_in else 0.0, 6),
            "in_scope_accuracy": round(float((in_correct & ~rej_in).mean()) if n_in else 0.0, 6),
        }
        if oos is not None and len(oos):
            pre_oos = np.zeros(len(oos), bool) if caught_oos is None else caught_oos
            point["oos_recall"] = round(float((pre_oos | (oos > thr)).mean()), 6)
        points.append(point)
    return points


def threshold_for(curve: Sequence[dict[str, Any]], budget: float) -> float:
    """The score threshold of ``budget``: that of the last stored point whose budget is not
    above it (so validation rejection never exceeds the budget asked for)."""
    if budget <= 0 or not curve:
        return NEVER
    budgets = [float(p["budget"]) for p in curve]
    j = int(np.searchsorted(budgets, budget + 1e-12, side="right")) - 1
    thr = curve[max(j, 0)]["threshold"]
    return NEVER if thr is None else float(thr)


def point_at(curve: Sequence[dict[str, Any]], budget: float) -> dict[str, Any] | None:
    """The stored curve point nearest ``budget`` (for reports and the trade-off plot)."""
    if not curve:
        return None
    return min(curve, key=lambda p: abs(float(p["budget"]) - budget))
