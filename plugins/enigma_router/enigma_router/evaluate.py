"""Router evaluation: accuracy, macro-F1, per-intent P/R/F1 with confusions, OOS recall, ECE.

``evaluate_file(model, path)`` classifies a labelled file (router Q/A text or JSON lines) and
returns ``(report, predictions)``; on data with ``oos`` requests the report adds in-scope
accuracy, oos recall, AUROC and FPR at 95 % TPR of the unknown score. ``write_report`` adds
``confusion.png``, ``confidence_hist.png``, ``errors.jsonl`` and (with ``oos``) ``tradeoff.png``;
``write_predictions`` writes one JSON line per example ``{"text", "gold", "predicted",
"confidence"}``. numpy only (matplotlib for plots).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from enigma_core.atomic import atomic_path, atomic_write_text
from enigma_core.errors import EnigmaError
from enigma_router.calibrate import expected_calibration_error
from enigma_router.inference import OOS, RouterModel


@dataclass
class Prediction:
    """One classified example."""

    text: str
    gold: str
    predicted: str
    confidence: float
    unknown: float = 0.0  # how unlike the training data (higher: more likely out of scope)

    def to_dict(self) -> dict[str, Any]:
        """JSON line form."""
        return {
            "text": self.text,
            "gold": self.gold,
            "predicted": self.predicted,
            "confidence": round(self.confidence, 6),
        }


def load_labelled(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts and normalised intents of a router data file (Q/A text or JSON lines)."""
    from enigma_core.formats import load_intent_examples, normalize_intent

    records = load_intent_examples(path)
    if not records:
        raise EnigmaError(f"{path}: no labelled examples found")
    return [r.text for r in records], [normalize_intent(r.intent) for r in records]


def predict(
    model: RouterModel, texts: Sequence[str], gold: Sequence[str], budget: float | None = None
) -> list[Prediction]:
    """Classify ``texts`` with the model's oos rule (at ``budget``: None is the calibrated one)
    and pair them with ``gold``; each prediction carries its unknown score."""
    results = model.classify_batch(list(texts), top_k=1, budget=budget)
    scores = unknown_scores(model, texts)
    return [
        Prediction(t, g, intent, float(conf), float(u))
        for t, g, (intent, conf, _), u in zip(texts, gold, results, scores, strict=True)
    ]


def unknown_scores(model: RouterModel, texts: Sequence[str]) -> np.ndarray:
    """A score per request, higher for out-of-scope: the unknown score when the model stores
    its examples, else ``1 - max probability``; a learned ``oos`` answer scores above both."""
    acc = model.bag_sums(list(texts)) if texts else np.zeros((0, model.width), np.float32)
    probs = model.probabilities(model._head(acc))
    pred = probs.argmax(axis=1)
    if model.has_examples:
        score = model.unknown(acc, pred, probs.max(axis=1)).astype(np.float64)
    else:
        score = 1.0 - probs.max(axis=1).astype(np.float64)
    if model.oos_index >= 0:
        score = np.where(pred == model.oos_index, 3.0 + probs[:, model.oos_index], score)
    return score


def auroc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a positive (oos) scores above a negative (in-scope); ties count half."""
    if not len(positive) or not len(negative):
        return float("nan")
    both = np.concatenate([positive, negative])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both), dtype=np.float64)
    ranks[order] = np.arange(1, len(both) + 1)
    for value in np.unique(both):  # average ranks of ties
        tie = both == value
        if tie.sum() > 1:
            ranks[tie] = ranks[tie].mean()
    n_pos = len(positive)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * len(negative)))


def fpr_at_tpr(positive: np.ndarray, negative: np.ndarray, tpr: float = 0.95) -> float:
    """Share of oos requests (``positive`` scores) still accepted when the threshold accepts
    ``tpr`` of the in-scope ones (``negative``): FPR at 95 % TPR, in-scope as the positives."""
    if not len(positive) or not len(negative):
        return float("nan")
    limit = float(np.quantile(negative, tpr))
    return float((positive <= limit).mean())


def metrics(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-intent P/R/F1 + ``confused_with``, OOS recall, ECE."""
    n = len(predictions)
    if n == 0:
        raise EnigmaError("evaluation needs at least one example")
    labels = sorted({p.gold for p in predictions} | {p.predicted for p in predictions})
    correct = np.array([p.gold == p.predicted for p in predictions], dtype=np.float64)
    conf = np.array([p.confidence for p in predictions], dtype=np.float64)
    tp: Counter[str] = Counter()
    pred_count: Counter[str] = Counter()
    gold_count: Counter[str] = Counter()
    confusions: dict[str, Counter[str]] = {}
    for p in predictions:
        gold_count[p.gold] += 1
        pred_count[p.predicted] += 1
        if p.gold == p.predicted:
            tp[p.gold] += 1
        else:
            confusions.setdefault(p.gold, Counter())[p.predicted] += 1
    per_intent: dict[str, dict[str, Any]] = {}
    f1s = []
    for label in labels:
        if gold_count[label] == 0:
            continue
        precision = tp[label] / pred_count[label] if pred_count[label] else 0.0
        recall = tp[label] / gold_count[label]
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        per_intent[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": gold_count[label],
            "confused_with": [
                {"intent": other, "count": c}
                for other, c in confusions.get(label, Counter()).most_common(3)
            ],
        }
    report: dict[str, Any] = {
        "examples": n,
        "accuracy": round(float(correct.mean()), 4),
        "macro_f1": round(float(np.mean(f1s)) if f1s else 0.0, 4),
        "ece": round(expected_calibration_error(conf, correct), 4),
        "per_intent": per_intent,
    }
    if gold_count[OOS]:
        in_scope = [p for p in predictions if p.gold != OOS]
        report["oos_recall"] = per_intent[OOS]["recall"]
        report["oos_precision"] = per_intent[OOS]["precision"]
        report["in_scope_accuracy"] = round(
            sum(p.gold == p.predicted for p in in_scope) / max(len(in_scope), 1), 4
        )
        report["in_scope_rejected"] = round(
            sum(p.predicted == OOS for p in in_scope) / max(len(in_scope), 1), 4
        )
        pos = np.array([p.unknown for p in predictions if p.gold == OOS])
        neg = np.array([p.unknown for p in in_scope])
        report["auroc"] = round(auroc(pos, neg), 4)
        report["fpr_at_95_tpr"] = round(fpr_at_tpr(pos, neg), 4)
    return report


def evaluate_file(
    model: RouterModel, path: str | Path, budget: float | None = None
) -> tuple[dict[str, Any], list[Prediction]]:
    """Classify a labelled file and compute :func:`metrics` (plus the model's calibration)."""
    texts, gold = load_labelled(path)
    preds = predict(model, texts, gold, budget)
    report = metrics(preds)
    unknown = sorted({g for g in gold if g not in model.labels and g != OOS})
    report["data"] = str(path)
    report["calibration"] = model.calibration.to_dict()
    if budget is not None:
        report["oos_budget"] = budget
    if unknown:
        report["labels_unknown_to_model"] = unknown
    return report, preds


def write_predictions(path: str | Path, predictions: Sequence[Prediction]) -> None:
    """One JSON line per example: ``{"text", "gold", "predicted", "confidence"}``."""
    lines = "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in predictions)
    atomic_write_text(Path(path), lines)


def write_report(
    directory: str | Path,
    report: dict[str, Any],
    predictions: Sequence[Prediction],
    curve: Sequence[dict[str, Any]] = (),
) -> list[Path]:
    """Write ``report.json``, ``errors.jsonl``, ``confusion.png``, ``confidence_hist.png`` and,
    on data with ``oos``, ``tradeoff.png`` (this data's curve, the stored validation ``curve``
    and the budget in use marked)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "report.json", json.dumps(report, indent=2) + "\n")
    errors = [p for p in predictions if p.gold != p.predicted]
    errors.sort(key=lambda p: -p.confidence)
    write_predictions(out / "errors.jsonl", errors)
    _plot_confusion(out / "confusion.png", predictions)
    _plot_confidence(out / "confidence_hist.png", predictions)
    names = ["report.json", "errors.jsonl", "confusion.png", "confidence_hist.png"]
    if any(p.gold == OOS for p in predictions) and any(p.gold != OOS for p in predictions):
        from enigma_router.plots import plot_tradeoff

        plot_tradeoff(out / "tradeoff.png", predictions, report, curve)
        names.append("tradeoff.png")
    return [out / n for n in names]


def _save_figure(fig: Any, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")


def _plot_confusion(path: Path, predictions: Sequence[Prediction]) -> None:
    """Row-normalised confusion matrix (gold rows, predicted columns)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({p.gold for p in predictions} | {p.predicted for p in predictions})
    index = {label: i for i, label in enumerate(labels)}
    m = np.zeros((len(labels), len(labels)), dtype=np.float64)
    for p in predictions:
        m[index[p.gold], index[p.predicted]] += 1
    m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    size = min(4 + 0.18 * len(labels), 22)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
    ticks = np.arange(len(labels))
    font = 8 if len(labels) <= 30 else 5
    ax.set_xticks(ticks, labels, rotation=90, fontsize=font)
    ax.set_yticks(ticks, labels, fontsize=font)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title("router confusion (row-normalised)")
    _save_figure(fig, path)
    plt.close(fig)


def _plot_confidence(path: Path, predictions: Sequence[Prediction]) -> None:
    """Histogram of confidence for correct vs wrong predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    right = [p.confidence for p in predictions if p.gold == p.predicted]
    wrong = [p.confidence for p in predictions if p.gold != p.predicted]
    fig, ax = plt.subplots(figsize=(6, 4))
    bins = np.linspace(0, 1, 21)
    ax.hist(right, bins=bins, alpha=0.6, label=f"correct ({len(right)})", color="tab:green")
    ax.hist(wrong, bins=bins, alpha=0.6, label=f"wrong ({len(wrong)})", color="tab:red")
    ax.set_xlabel("confidence")
    ax.set_ylabel("examples")
    ax.set_title("router confidence: correct vs wrong")
    ax.legend()
    _save_figure(fig, path)
    plt.close(fig)


def summary_lines(report: dict[str, Any], worst: int = 5) -> list[str]:
    """Short human-readable summary of a report."""
    lines = [
        f"examples {report['examples']}  accuracy {report['accuracy']:.4f}  "
        f"macro-F1 {report['macro_f1']:.4f}  ECE {report['ece']:.4f}"
    ]
    if "oos_recall" in report:
        lines.append(
            f"in-scope accuracy {report['in_scope_accuracy']:.4f}  oos recall "
            f"{report['oos_recall']:.4f}  AUROC {report['auroc']:.4f}  FPR@95TPR "
            f"{report['fpr_at_95_tpr']:.4f}  (oos precision {report['oos_precision']:.4f}, "
            f"in-scope rejected {report['in_scope_rejected']:.4f})"
        )
    per = sorted(report["per_intent"].items(), key=lambda kv: kv[1]["f1"])[:worst]
    for label, row in per:
        conf = ", ".join(f"{c['intent']}x{c['count']}" for c in row["confused_with"]) or "-"
        lines.append(
            f"  {label:<28} P {row['precision']:.3f} R {row['recall']:.3f} F1 {row['f1']:.3f}"
            f"  confused with: {conf}"
        )
    return lines
