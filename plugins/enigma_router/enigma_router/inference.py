"""Router inference in numpy only (no torch): load a model directory and classify requests.

The forward pass mirrors :class:`enigma_router.model.RouterNet`: hashed n-gram features ->
weighted sum of embedding rows -> ReLU -> output layer -> softmax at the calibrated temperature.
Each word's char n-gram rows are summed once and cached, so a request costs a few dictionary
look-ups and one small gather. An unsure answer (confidence under the threshold, or top-2
margin too small) becomes ``oos``. Loading checks the shared tokenizer's and weights' sha256.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from enigma_core.errors import EnigmaError
from enigma_core.training.meta import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    check_tokenizer,
    check_weights_hash,
)
from enigma_router.features import CACHE_LIMIT, FeatureSpec, FeatureVocab, Featurizer

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer

OOS = "oos"
Alternatives = list[tuple[str, float]]
Result = tuple[str, float, Alternatives]


@dataclass
class Calibration:
    """Softmax temperature plus the two out-of-scope knobs (``config.json`` ``router.calibration``).

    A prediction is ``oos`` when its confidence < ``threshold`` or top1 - top2 < ``margin``.
    """

    temperature: float = 1.0
    threshold: float = 0.0
    margin: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON form."""
        return {"temperature": self.temperature, "threshold": self.threshold, "margin": self.margin}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Calibration:
        """Read from ``config.json`` (missing keys keep neutral defaults)."""
        data = data or {}
        return cls(
            temperature=float(data.get("temperature", 1.0)),
            threshold=float(data.get("threshold", 0.0)),
            margin=float(data.get("margin", 0.0)),
        )


def _read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnigmaError(
            f"{path}: router model config not found (train with 'enigma train router')"
        ) from None
    except (OSError, ValueError) as exc:
        raise EnigmaError(f"{path}: unreadable router config ({exc})") from None
    if not isinstance(meta, dict) or "router" not in meta or "labels" not in meta:
        raise EnigmaError(f"{path}: not a router model (no 'router' or 'labels' field)")
    return meta


class RouterModel:
    """A loaded router: numpy weights, feature vocabulary, labels and calibration."""

    def __init__(
        self,
        meta: dict[str, Any],
        tensors: dict[str, np.ndarray],
        tokenizer: SharedTokenizer | None,
        *,
        threshold: float | None = None,
        margin: float | None = None,
        temperature: float | None = None,
    ) -> None:
        """Wrap already-read ``config.json`` and weights; overrides replace calibrated knobs."""
        self.meta = meta
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        router = meta["router"]
        self.spec = FeatureSpec.from_dict(router["features"])
        self.calibration = Calibration.from_dict(router.get("calibration"))
        if threshold is not None:
            self.calibration.threshold = float(threshold)
        if margin is not None:
            self.calibration.margin = float(margin)
        if temperature is not None:
            self.calibration.temperature = float(temperature)
        self.tokenizer = tokenizer
        vocab = FeatureVocab(tensors["feat_keys"], tensors["feat_idf"])
        self.featurizer = Featurizer(self.spec, vocab)
        emb = tensors["bag.weight"].astype(np.float32)
        linear = tensors.get("linear.weight")  # (n_features, n_labels): the linear member
        self.has_linear = linear is not None
        self.table = np.ascontiguousarray(
            emb if linear is None else np.concatenate([emb, linear.astype(np.float32)], axis=1)
        )
        self.emb_bias = tensors["bag_bias"].astype(np.float32)
        out_w = tensors["out_weight"].astype(np.float32)  # (members, hidden, labels)
        self.out_w = np.ascontiguousarray(out_w.reshape(-1, out_w.shape[-1]) / out_w.shape[0])
        self.out_b = tensors["out_bias"].astype(np.float32).mean(axis=0)
        zeros = np.zeros(len(self.labels), dtype=np.float32)
        self.linear_bias = tensors.get("linear_bias", zeros).astype(np.float32)
        self.linear_weight = np.float32(tensors.get("linear_weight", np.float32(1.0)))
        self._zero = np.zeros(self.table.shape[1], dtype=np.float32)
        self._chars = self.featurizer.use_chars()
        self._lock = threading.Lock()
        self._wid: dict[str, int] = {}
        self._wq: list[float] = []
        self._wv = np.zeros((1024, self.table.shape[1]), dtype=np.float32)
        self.oos_index = self.labels.index(OOS) if OOS in self.labels else -1

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        tokenizer: SharedTokenizer | None = None,
        *,
        threshold: float | None = None,
        margin: float | None = None,
        temperature: float | None = None,
    ) -> RouterModel:
        """Load ``model_dir``; refuses another tokenizer (:class:`TokenizerMismatchError`)."""
        from safetensors.numpy import load_file

        directory = Path(model_dir)
        meta = _read_config(directory)
        if tokenizer is None:
            from enigma_core.tokenizer import load_default

            tokenizer = load_default()
        check_tokenizer(meta, tokenizer, str(directory))
        weights = directory / WEIGHTS_FILE
        if not weights.is_file():
            raise EnigmaError(f"{weights}: weights file not found")
        check_weights_hash(directory, meta)
        try:
            tensors = load_file(str(weights))
        except Exception as exc:  # safetensors has its own error types
            raise EnigmaError(f"{weights}: not a readable safetensors file ({exc})") from None
        missing = {
            "feat_keys",
            "feat_idf",
            "bag.weight",
            "bag_bias",
            "out_weight",
            "out_bias",
        } - set(tensors)
        if missing:
            raise EnigmaError(f"{weights}: not router weights (missing {sorted(missing)})")
        if "wide.weight" in tensors:
            raise EnigmaError(
                f"{weights}: trained by an older enigma-router (its 'wide' member is no longer "
                "supported); retrain with 'enigma train router'"
            )
        return cls(
            meta, tensors, tokenizer, threshold=threshold, margin=margin, temperature=temperature
        )

    # -- forward --------------------------------------------------------------------------------
    def _pieces(self, text: str) -> list[int]:
        if self.spec.piece_n <= 0 or self.tokenizer is None:
            return []
        return self.tokenizer.encode(text, prefix_space=True)

    def _word_vector(self, word: str) -> tuple[np.ndarray, float]:
        """``(sum_r w_r table[r], sum_r w_r^2)`` over a word's char n-grams (not cached)."""
        rows, weights, sq = self.featurizer.word_char(word)
        return (weights @ self.table[rows] if len(rows) else self._zero), sq

    def _word_id(self, word: str) -> int:
        """Row of ``word`` in the cached word-vector matrix, added on first sight; -1 when the
        cache is full. Thread-safe: a row is written before its id is published."""
        got = self._wid.get(word)
        if got is not None:
            return got
        with self._lock:
            got = self._wid.get(word)
            if got is not None:
                return got
            n = len(self._wq)
            if n >= CACHE_LIMIT:
                return -1
            if n >= self._wv.shape[0]:
                grown = np.zeros((2 * self._wv.shape[0], self._wv.shape[1]), dtype=np.float32)
                grown[:n] = self._wv[:n]
                self._wv = grown
            vec, sq = self._word_vector(word)
            self._wv[n] = vec
            self._wq.append(sq)
            self._wid[word] = n
            return n

    def bag_sum(self, text: str) -> np.ndarray:
        """``sum_i w_i * [E | linear][row_i]`` of one request, exactly as ``Featurizer.one``:
        word/piece rows are gathered, the char group is a sum of cached per-word vectors."""
        feats = self.featurizer
        doc = feats.hasher.raw(text, self._pieces(text))
        rows, coefs = feats.word_part(doc)
        acc = np.asarray(coefs, dtype=np.float32) @ self.table[rows] if rows else self._zero.copy()
        if not (self._chars and doc.words):
            return acc
        ids = [self._word_id(w) for w in doc.words]
        if -1 in ids:  # cache full: the words without a row are summed on the fly
            extra = [self._word_vector(w) for w, i in zip(doc.words, ids, strict=True) if i < 0]
            ids = [i for i in ids if i >= 0]
            uncached = np.sum([v for v, _ in extra], axis=0)
            sq = sum(q for _, q in extra)
        else:
            uncached, sq = None, 0.0
        wq = self._wq
        sq += sum([wq[i] for i in ids])
        if sq > 0:
            char = self._wv[ids].sum(axis=0) if ids else self._zero.copy()
            if uncached is not None:
                char += uncached
            acc += char * np.float32(1.0 / math.sqrt(sq))
        return acc

    def _head(self, acc: np.ndarray) -> np.ndarray:
        """Logits from bag sums ``(..., hidden [+ n_labels])``."""
        hidden = self.emb_bias.shape[0]
        h = np.maximum(acc[..., :hidden] + self.emb_bias, 0.0)
        logits = h @ self.out_w + self.out_b
        if self.has_linear:
            logits += self.linear_weight * (acc[..., hidden:] + self.linear_bias)
        return logits

    def logits_one(self, text: str) -> np.ndarray:
        """Raw logits ``(n_labels,)`` of one request (before temperature)."""
        return self._head(self.bag_sum(text))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits ``(len(texts), n_labels)``."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self._head(np.stack([self.bag_sum(t) for t in texts]))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Softmax of ``logits / temperature`` along the last axis."""
        z = logits / max(self.calibration.temperature, 1e-6)
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    # -- decisions -----------------------------------------------------------------------------
    def decide(
        self,
        probs: np.ndarray,
        top_k: int = 3,
        order: np.ndarray | None = None,
        threshold: float | None = None,
        margin: float | None = None,
    ) -> Result:
        """``(intent, confidence, alternatives)`` of one probability row, with the oos rule.

        ``alternatives`` holds the next ``top_k - 1`` intents. When the model is unsure the
        answer is ``oos`` with confidence ``1 - p(best)``, and the best intent leads the
        alternatives. ``order`` (label indices, best first) may be given by batch callers;
        ``threshold``/``margin`` override the calibrated knobs for this call.
        """
        if order is None:
            order = np.argsort(-probs)
        best = int(order[0])
        p1 = float(probs[best])
        p2 = float(probs[order[1]]) if len(order) > 1 else 0.0
        n_alt = max(top_k - 1, 0)
        runners = [(self.labels[int(i)], float(probs[i])) for i in order[1 : 1 + n_alt]]
        cal = self.calibration
        threshold = cal.threshold if threshold is None else threshold
        margin = cal.margin if margin is None else margin
        if best != self.oos_index and (p1 < threshold or p1 - p2 < margin):
            return OOS, 1.0 - p1, [(self.labels[best], p1), *runners][:n_alt]
        if best == self.oos_index:
            return OOS, p1, runners
        return self.labels[best], p1, runners

    def classify(self, text: str, top_k: int = 3) -> Result:
        """Classify one request: ``(intent, confidence, [(runner_up, prob), ...])``."""
        return self.decide(self.probabilities(self.logits_one(text)), top_k)

    def classify_batch(self, texts: Sequence[str], top_k: int = 3) -> list[Result]:
        """Classify many requests at once (vectorised forward pass)."""
        probs = self.probabilities(self.logits(list(texts)))
        k = min(max(top_k, 2), probs.shape[1])
        top = np.argpartition(-probs, k - 1, axis=1)[:, :k] if probs.size else probs.astype(int)
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(probs, top, 1), 1), 1)
        return [self.decide(p, top_k, o) for p, o in zip(probs, top, strict=True)]

    def predict(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Fast path for benchmarks: raw argmax labels (no oos rule) and their probabilities."""
        probs = self.probabilities(self.logits(list(texts)))
        best = probs.argmax(axis=1)
        return [self.labels[int(i)] for i in best], probs[np.arange(len(best)), best]
