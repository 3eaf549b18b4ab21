"""Calibration of the router on validation logits (numpy): temperature, oos threshold and margin.

The temperature minimises validation NLL (golden-section search on log T). When the label set
has ``oos``, the threshold and top-2 margin are picked on a grid to maximise the mean of in-scope
accuracy and oos recall; without ``oos`` examples they stay 0 (nothing is turned into oos).
"""

from __future__ import annotations

import math

import numpy as np

from enigma_router.inference import Calibration


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Row softmax of ``logits / temperature`` (float64 for stable calibration)."""
    z = logits.astype(np.float64) / max(temperature, 1e-6)
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of ``targets`` at ``temperature``."""
    p = softmax(logits, temperature)[np.arange(len(targets)), targets]
    return float(-np.log(np.clip(p, 1e-12, None)).mean())


def fit_temperature(
    logits: np.ndarray, targets: np.ndarray, lo: float = 0.05, hi: float = 20.0
) -> float:
    """The temperature minimising NLL on ``(logits, targets)`` (1.0 when there is no data)."""
    if len(targets) == 0:
        return 1.0
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, targets, math.exp(c)), nll(logits, targets, math.exp(d))
    for _ in range(40):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, targets, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, targets, math.exp(d))
    return round(math.exp((a + b) / 2), 4)


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> float:
    """ECE: bin-size-weighted mean |accuracy - confidence| over equal-width confidence bins."""
    if len(confidence) == 0:
        return 0.0
    edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total / len(confidence))


def fit_oos_knobs(probs: np.ndarray, targets: np.ndarray, oos_index: int) -> tuple[float, float]:
    """``(threshold, margin)`` maximising (in-scope accuracy + oos recall) / 2 on validation.

    Ties go to the smaller knobs (fewer requests diverted to the default task).
    """
    if oos_index < 0 or not (targets == oos_index).any() or (targets != oos_index).sum() == 0:
        return 0.0, 0.0
    order = np.sort(probs, axis=1)
    p1, p2 = order[:, -1], order[:, -2] if probs.shape[1] > 1 else np.zeros(len(probs))
    pred = probs.argmax(axis=1)
    is_oos = targets == oos_index
    best = (-1.0, 0.0, 0.0)
    for threshold in np.round(np.arange(0.0, 0.96, 0.05), 2):
        for margin in np.round(np.arange(0.0, 0.61, 0.05), 2):
            unsure = (p1 < threshold) | (p1 - p2 < margin)
            final = np.where(unsure, oos_index, pred)
            in_acc = float((final[~is_oos] == targets[~is_oos]).mean())
            oos_rec = float((final[is_oos] == oos_index).mean())
            score = (in_acc + oos_rec) / 2
            if score > best[0] + 1e-9:
                best = (score, float(threshold), float(margin))
    return best[1], best[2]


def calibrate(
    logits: np.ndarray, targets: np.ndarray, oos_index: int
) -> tuple[Calibration, dict[str, float]]:
    """Fit all three knobs on validation logits; also report ECE before/after and accuracy."""
    temperature = fit_temperature(logits, targets)
    probs = softmax(logits, temperature)
    threshold, margin = fit_oos_knobs(probs, targets, oos_index)
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == targets).astype(np.float64)
    raw = softmax(logits, 1.0).max(axis=1)
    report = {
        "valid_examples": len(targets),
        "valid_accuracy": float(correct.mean()) if len(targets) else 0.0,
        "ece_before": expected_calibration_error(raw, correct),
        "ece_after": expected_calibration_error(conf, correct),
        "nll_before": nll(logits, targets, 1.0) if len(targets) else 0.0,
        "nll_after": nll(logits, targets, temperature) if len(targets) else 0.0,
    }
    return Calibration(temperature=temperature, threshold=threshold, margin=margin), report
