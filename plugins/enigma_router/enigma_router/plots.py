"""The out-of-scope trade-off picture of ``enigma eval router --report`` (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from enigma_core.atomic import atomic_path

if TYPE_CHECKING:
    from enigma_router.evaluate import Prediction

OOS = "oos"


def sweep(predictions: Sequence[Prediction]) -> tuple[np.ndarray, np.ndarray]:
    """Over every threshold on the unknown score: share of in-scope rejected, oos recall."""
    ins = np.array([p.gold != OOS for p in predictions])
    score = np.array([p.unknown for p in predictions])
    thresholds = np.unique(np.concatenate([score, [score.max() + 1.0]]))[::-1]
    rejected = score[None, :] > thresholds[:, None]
    return rejected[:, ins].mean(axis=1), rejected[:, ~ins].mean(axis=1)


def plot_tradeoff(
    path: Path,
    predictions: Sequence[Prediction],
    report: dict[str, Any],
    curve: Sequence[dict[str, Any]] = (),
) -> None:
    """In-scope rejection rate (x) vs oos recall (y) on this data, the validation curve stored
    at training (dashed), and the operating point of the budget in use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rej, rec = sweep(predictions)
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    ax.plot(rej, rec, color="tab:blue", label=f"this data (AUROC {report.get('auroc', 0):.3f})")
    stored = [p for p in curve if p.get("oos_recall") is not None]
    if stored:
        ax.plot(
            [p["in_scope_rejected"] for p in stored],
            [p["oos_recall"] for p in stored],
            "--",
            color="tab:gray",
            label="validation curve (stored at training)",
        )
    x, y = report.get("in_scope_rejected"), report.get("oos_recall")
    if x is not None and y is not None:
        budget = report.get("oos_budget", report.get("calibration", {}).get("oos_budget"))
        name = "budget" if budget is None else f"budget {float(budget):g}"
        ax.scatter([x], [y], color="tab:red", zorder=3, label=f"{name}: {x:.3f} / {y:.3f}")
        if budget is not None:
            ax.axvline(float(budget), color="tab:red", alpha=0.3, linestyle=":")
    ax.set_xlim(0, min(1.0, max(0.5, float(x or 0) * 2)))
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("in-scope requests rejected (share)")
    ax.set_ylabel("out-of-scope requests caught (recall)")
    ax.set_title("router out-of-scope trade-off")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    plt.close(fig)
