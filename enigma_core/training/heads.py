"""Default batches, losses and evaluations of the two heads (``classify`` and ``lm``); torch.

Batches are right-padded to their longest example only; the LM loss projects just the
completion positions through the tied head (no (B, T, vocab) tensor for the prompt part).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

T = TypeVar("T")

if TYPE_CHECKING:
    import torch
    from torch import nn

    # the recipe module imports this one lazily for its defaults
    from enigma_core.training.recipe import Example, RecipeContext


def make_batch(examples: Sequence[Example], ctx: RecipeContext) -> dict[str, Any]:
    """A padded batch on ``ctx.device`` for the recipe's head.

    classify: ``ids`` (B, T), ``lengths`` (B,), ``targets`` (B,).
    lm: ``ids`` (B, T) inputs, ``sel`` flat indices of positions whose next token is a
    completion token and ``tgt`` those next tokens. Both carry ``n_tokens`` (an int).
    """
    import torch

    pad = ctx.tokenizer.pad_id
    lm = ctx.recipe.head == "lm"
    seqs = [ex.ids[:-1] if lm else ex.ids for ex in examples]
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = max(1, int(lengths.max())) if len(seqs) else 1
    ids = np.full((len(seqs), width), pad, dtype=np.int64)
    for row, s in enumerate(seqs):
        ids[row, : len(s)] = s
    dev = ctx.device
    batch: dict[str, Any] = {
        "ids": torch.from_numpy(ids).to(dev, non_blocking=True),
        "n_tokens": int(lengths.sum()),
    }
    if not lm:
        batch["lengths"] = torch.from_numpy(lengths).to(dev, non_blocking=True)
        targets = np.fromiter((ex.target for ex in examples), dtype=np.int64, count=len(examples))
        batch["targets"] = torch.from_numpy(targets).to(dev, non_blocking=True)
        return batch
    sel: list[int] = []
    tgt: list[int] = []
    for row, ex in enumerate(examples):
        first = max(ex.prompt_len - 1, 0)
        sel.extend(range(row * width + first, row * width + len(ex.ids) - 1))
        tgt.extend(ex.ids[first + 1 :])
    batch["sel"] = torch.tensor(sel, dtype=torch.int64).to(dev, non_blocking=True)
    batch["tgt"] = torch.tensor(tgt, dtype=torch.int64).to(dev, non_blocking=True)
    return batch


def classify_loss(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    """Mean cross-entropy of the classification head."""
    import torch.nn.functional as F

    return F.cross_entropy(model.classify(batch["ids"], batch["lengths"]), batch["targets"])


def _completion_logits(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    """LM logits at the completion positions only: (N, vocab)."""
    h = model.hidden(batch["ids"])
    return model.lm_logits(h.reshape(-1, h.shape[-1]).index_select(0, batch["sel"]))


def lm_loss(model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
    """Mean next-token cross-entropy over completion tokens."""
    import torch.nn.functional as F

    return F.cross_entropy(_completion_logits(model, batch), batch["tgt"])


def _no_grad(fn: Callable[..., T]) -> Callable[..., T]:
    """``torch.no_grad()`` as a decorator, with torch imported at call time, not import time."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> T:
        import torch

        with torch.no_grad():
            return fn(*args, **kwargs)

    return run


@_no_grad
def evaluate_classify(
    model: nn.Module, examples: Sequence[Example], ctx: RecipeContext
) -> dict[str, float]:
    """``accuracy`` and ``val_loss`` (mean cross-entropy) over ``examples``."""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=ctx.device)
    loss = torch.zeros((), dtype=torch.float64, device=ctx.device)
    for batch in ctx.eval_batches(examples):
        logits = model.classify(batch["ids"], batch["lengths"])
        loss += F.cross_entropy(logits, batch["targets"], reduction="sum").double()
        correct += (logits.argmax(dim=-1) == batch["targets"]).sum()
    model.train(was_training)
    n = max(len(examples), 1)
    return {"accuracy": correct.item() / n, "val_loss": loss.item() / n}


@_no_grad
def evaluate_lm(
    model: nn.Module, examples: Sequence[Example], ctx: RecipeContext
) -> dict[str, float]:
    """``val_loss`` (mean NLL per completion token) and ``token_accuracy`` (greedy next token)."""
    import torch
    import torch.nn.functional as F

    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=ctx.device)
    loss = torch.zeros((), dtype=torch.float64, device=ctx.device)
    count = 0
    for batch in ctx.eval_batches(examples):
        logits = _completion_logits(model, batch)
        loss += F.cross_entropy(logits, batch["tgt"], reduction="sum").double()
        correct += (logits.argmax(dim=-1) == batch["tgt"]).sum()
        count += int(batch["tgt"].shape[0])
    model.train(was_training)
    n = max(count, 1)
    return {"val_loss": loss.item() / n, "token_accuracy": correct.item() / n}
