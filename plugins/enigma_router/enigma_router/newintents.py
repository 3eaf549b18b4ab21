"""Intents the trained router does not know yet, matched by nearest neighbours until a retrain.

An installed task whose intent is not one of the model's labels teaches the router through its
``TaskSpec.examples``: a request goes to the new intent when its nearest example there is more
similar than its nearest training example of the intent the model chose. Similarity is the
cosine of the router's own sparse n-gram features (the rows and weights it sums): measured on a
new 20-example intent, the hidden layer (trained without the new intent) pulled 10 % of the
other intents' held-out requests away, the n-gram features 1.5 % (docs/ROUTER_BENCHMARKS.md).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from enigma_router.inference import RouterModel


def _unit(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A sparse vector (duplicate rows summed, rows sorted) scaled to unit length."""
    if not len(rows):
        return rows.astype(np.int64), weights.astype(np.float32)
    uniq, inv = np.unique(rows, return_inverse=True)
    w = np.bincount(inv, weights=weights).astype(np.float32)
    norm = float(np.sqrt(np.dot(w, w)))
    return uniq, (w / norm if norm > 0 else w)


class SparseSet:
    """Unit sparse vectors as an inverted index (rows sorted): a query's cosine to every
    member costs one search and one ``bincount`` over the postings of its rows."""

    def __init__(self, vectors: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
        """Index ``vectors`` (each ``(rows, weights)``, unit length)."""
        self.size = len(vectors)
        rows = [r for r, _ in vectors]
        owner = [np.full(len(r), i, dtype=np.int64) for i, (r, _) in enumerate(vectors)]
        r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        order = np.argsort(r, kind="stable")
        self.rows = r[order]
        self.owner = (np.concatenate(owner) if owner else np.zeros(0, np.int64))[order]
        weights = [w for _, w in vectors]
        self.weights = (np.concatenate(weights) if weights else np.zeros(0, np.float32))[order]

    def cosines(self, query: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Cosine of the unit ``query`` to every member."""
        q_rows, q_w = query
        lo = np.searchsorted(self.rows, q_rows, side="left")
        hi = np.searchsorted(self.rows, q_rows, side="right")
        counts = hi - lo
        if not self.size or not counts.sum():
            return np.zeros(self.size, dtype=np.float32)
        idx = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        w = self.weights[idx] * np.repeat(q_w, counts)
        return np.bincount(self.owner[idx], weights=w, minlength=self.size)


class NeighbourIndex:
    """The new intents' examples and the model's own examples, per label, as sparse sets."""

    def __init__(self, model: RouterModel, new: dict[str, Sequence[str]]) -> None:
        """Featurise ``{intent: examples}`` once; the model's examples on first use."""
        self.model = model
        self.intents = [intent for intent, texts in new.items() for _ in texts]
        self.new = SparseSet([self.vector(t) for texts in new.values() for t in texts])
        self._known: list[SparseSet] | None = None
        self._lock = threading.Lock()

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The request's n-gram rows and weights as a unit sparse vector."""
        rows, weights = self.model.featurizer.one(text)
        return _unit(rows, weights)

    def known(self, label: int) -> SparseSet:
        """The model's stored training examples of ``label``."""
        with self._lock:
            if self._known is None:
                m = self.model
                offsets = m.ex_offsets
                self._known = [
                    SparseSet(
                        [self.vector(m.example_text(i)) for i in range(offsets[j], offsets[j + 1])]
                    )
                    for j in range(len(m.labels))
                ]
        return self._known[label]

    def match(self, text: str, predicted: int) -> tuple[str, float, float] | None:
        """``(new intent, its similarity, the predicted intent's)`` when a new intent's example
        is nearer than every example of the predicted intent; None otherwise."""
        if not self.new.size or not self.model.has_examples:
            return None
        q = self.vector(text)
        sims = self.new.cosines(q)
        best = int(sims.argmax())
        if sims[best] <= 0:
            return None
        rival = self.known(predicted).cosines(q)
        near = float(rival.max()) if len(rival) else 0.0
        return (self.intents[best], float(sims[best]), near) if sims[best] > near else None


_CACHE: dict[tuple[int, tuple[tuple[str, tuple[str, ...]], ...]], NeighbourIndex] = {}
_CACHE_LOCK = threading.Lock()


def index_for(model: RouterModel, new: dict[str, Sequence[str]]) -> NeighbourIndex:
    """The (cached) index of ``new`` intents for ``model`` (rebuilt when examples change)."""
    key = (id(model), tuple(sorted((i, tuple(t)) for i, t in new.items())))
    with _CACHE_LOCK:
        got = _CACHE.get(key)
        if got is None or got.model is not model:
            if len(_CACHE) > 16:
                _CACHE.clear()
            got = _CACHE[key] = NeighbourIndex(model, new)
        return got
