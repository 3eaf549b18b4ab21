"""The learning-rate schedule every trainer shares (torch-free): linear warmup, then cosine."""

from __future__ import annotations

import math
from typing import Protocol


class _Shape(Protocol):
    """What the schedule reads from :class:`~enigma_core.training.recipe.HyperParams`."""

    lr: float
    warmup: float
    min_lr_ratio: float


def lr_at(step: int, total: int, hp: _Shape) -> float:
    """Learning rate at optimizer step ``step``: linear warmup, then cosine to ``min_lr_ratio``."""
    warm = max(1, round(hp.warmup * total)) if hp.warmup > 0 else 0
    if step < warm:
        return hp.lr * (step + 1) / warm
    progress = min(1.0, (step - warm) / max(1, total - warm))
    return hp.lr * (
        hp.min_lr_ratio + (1 - hp.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    )
