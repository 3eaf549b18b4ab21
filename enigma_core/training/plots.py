"""``loss.png``: training and validation loss (and the validation metric) per epoch.

matplotlib is imported lazily with the Agg backend, so nothing needs a display.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from enigma_core.atomic import atomic_write_bytes


def plot_history(
    history: Sequence[dict[str, Any]], path: Path, metric: str, title: str = ""
) -> bool:
    """Draw ``history`` (one dict per epoch) to ``path`` atomically; False if matplotlib is absent.

    Each entry holds ``epoch``, ``train_loss`` and the validation results (``val_loss`` and
    ``metric`` when present).
    """
    if not history:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    val = [(h["epoch"], h["val_loss"]) for h in history if h.get("val_loss") is not None]
    if val:
        ax.plot(*zip(*val, strict=True), label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if metric != "val_loss":
        points = [(h["epoch"], h[metric]) for h in history if h.get(metric) is not None]
        if points:
            ax2 = ax.twinx()
            (line,) = ax2.plot(
                *zip(*points, strict=True), color="tab:green", linestyle="--", label=metric
            )
            ax2.set_ylabel(metric)
            handles.append(line)
            labels.append(f"validation {metric}")
    ax.legend(handles, labels, loc="best")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return True
