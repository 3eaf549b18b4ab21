"""Choosing the next token from logits: greedy, temperature, top-k and top-p (nucleus)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enigma_core.errors import EnigmaError


@dataclass(frozen=True)
class SamplingParams:
    """How to decode. ``temperature == 0`` means greedy (top-k/top-p are then ignored).

    ``stop`` strings end generation when they appear in the decoded text (they are not
    returned); ``stop_ids`` end it on those token ids (eos always stops).
    """

    max_new_tokens: int = 128
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    stop: tuple[str, ...] = ()
    stop_ids: tuple[int, ...] = ()
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 0:
            raise EnigmaError(f"max_new_tokens must be >= 0, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise EnigmaError(f"temperature must be >= 0, got {self.temperature}")
        if self.top_k < 0:
            raise EnigmaError(f"top_k must be >= 0, got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise EnigmaError(f"top_p must be in (0, 1], got {self.top_p}")
        if isinstance(self.stop, str):
            object.__setattr__(self, "stop", (self.stop,))
        object.__setattr__(self, "stop", tuple(s for s in self.stop if s))
        object.__setattr__(self, "stop_ids", tuple(int(i) for i in self.stop_ids))

    @property
    def greedy(self) -> bool:
        """True when decoding always takes the most likely token."""
        return self.temperature == 0.0


def sample_next(logits: np.ndarray, params: SamplingParams, rng: np.random.Generator) -> int:
    """One token id drawn from ``logits`` (vocab,) under ``params``."""
    if params.greedy:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / params.temperature
    if 0 < params.top_k < z.shape[0]:
        cand = np.argpartition(-z, params.top_k - 1)[: params.top_k]
    else:
        cand = np.arange(z.shape[0])
    zc = z[cand]
    order = np.argsort(-zc, kind="stable")
    cand, zc = cand[order], zc[order]
    probs = np.exp(zc - zc[0])
    probs /= probs.sum()
    if params.top_p < 1.0:
        keep = int(np.searchsorted(np.cumsum(probs), params.top_p)) + 1
        cand, probs = cand[:keep], probs[:keep] / probs[:keep].sum()
    return int(cand[rng.choice(cand.shape[0], p=probs)]) if cand.shape[0] > 1 else int(cand[0])
