"""Logits processors: small callables that edit each step's next-token logits before sampling.

The one decoding loop (:func:`~enigma_core.inference.generate.generate_ids`) calls every
processor in order at every step, then samples. This is how a plugin constrains decoding
(code's syntax guards, vision's allowed words) without a decoding loop of its own. A
processor is built per call, so it may keep state between steps; one that keeps none (as
:class:`AllowedTokens`) may be shared between calls and threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np


class LogitsProcessor(Protocol):
    """Edits the logits of one decoding step (like Hugging Face's ``LogitsProcessor``)."""

    def __call__(self, generated: Sequence[int], logits: np.ndarray) -> np.ndarray:
        """Return the logits to sample from (may be ``logits`` changed in place).

        ``generated`` holds the ids produced so far in this call (prompt excluded; read only).
        Setting an entry to ``-inf`` forbids that token.
        """
        ...


def apply_processors(
    processors: Sequence[LogitsProcessor], generated: Sequence[int], logits: np.ndarray
) -> np.ndarray:
    """Run ``processors`` in order over ``logits``."""
    for processor in processors:
        logits = processor(generated, logits)
    return logits


class AllowedTokens:
    """Only the given token ids may be chosen (an additive 0 / ``-inf`` mask); stateless."""

    def __init__(self, allowed: Iterable[int], vocab_size: int) -> None:
        self.mask = np.full(vocab_size, -np.inf, dtype=np.float32)
        ids = sorted({int(i) for i in allowed if 0 <= int(i) < vocab_size})
        self.mask[ids] = 0.0

    def __call__(self, generated: Sequence[int], logits: np.ndarray) -> np.ndarray:
        """``logits`` with every other token at ``-inf``."""
        return logits + self.mask
