"""The router network in numpy for training: a bag of hashed n-grams -> hidden layer -> logits.

``logits = mean_k out_k(drop(relu(X E_k + b_k)))``: ``members`` hidden layers of width
``hidden`` over the sparse tf-idf features ``X`` (one table ``E`` of ``members * hidden``
columns), each with its own output layer and its own cross-entropy. Labels whose names share a
prefix share part of their output vector (``w_label + w_group``), folded into the labels' own
weights at export. The linear member (``linear.py``) is solved after training and added by
``fit.py``; inference (``inference.py``) reads the exported arrays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from enigma_core.errors import EnigmaError


@dataclass(frozen=True)
class RouterNetConfig:
    """Shape of the router network; stored in ``config.json`` under ``router.net``."""

    n_features: int
    n_labels: int
    hidden: int = 128
    members: int = 2
    dropout: float = 0.5
    linear: bool = False
    init_std: float = 0.02
    label_groups: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RouterNetConfig:
        """Rebuild from ``config.json`` (one-line error on unknown or missing fields)."""
        try:
            cfg = cls(**data)
        except TypeError as exc:
            raise EnigmaError(f"config.json: router.net is invalid ({exc})") from None
        return cls(**{**asdict(cfg), "label_groups": tuple(cfg.label_groups)})


class RouterNet:
    """The network's arrays (float32) and its training forward/backward passes."""

    def __init__(self, cfg: RouterNetConfig, rng: np.random.Generator) -> None:
        """Initialise: table ~ N(0, init_std), output layers ~ U(+-1/sqrt(hidden)), groups 0."""
        groups = tuple(cfg.label_groups)
        if groups and (len(groups) != cfg.n_labels or min(groups) < 0):
            raise EnigmaError("router.net.label_groups must give one group id >= 0 per label")
        self.cfg = cfg
        k, h, c = cfg.members, cfg.hidden, cfg.n_labels
        self.table = (rng.standard_normal((cfg.n_features, k * h), dtype=np.float32)) * np.float32(
            cfg.init_std
        )
        bound = 1.0 / h**0.5
        self.dense: dict[str, np.ndarray] = {
            "bag_bias": np.zeros(k * h, np.float32),
            "out_weight": rng.uniform(-bound, bound, (k, h, c)).astype(np.float32),
            "out_bias": rng.uniform(-bound, bound, (k, c)).astype(np.float32),
        }
        self.group_of = np.asarray(groups, dtype=np.int64)
        if groups:
            n_groups = max(groups) + 1
            self.dense["group_weight"] = np.zeros((k, h, n_groups), np.float32)
            self.dense["group_bias"] = np.zeros((k, n_groups), np.float32)
            self.group_onehot = np.zeros((c, n_groups), np.float32)
            self.group_onehot[np.arange(c), self.group_of] = 1.0

    # -- forward ---------------------------------------------------------------------------------
    def _out(self) -> tuple[np.ndarray, np.ndarray]:
        """Effective output weights ``(k, hidden, labels)`` and biases (groups added)."""
        w, b = self.dense["out_weight"], self.dense["out_bias"]
        if self.group_of.size:
            w = w + self.dense["group_weight"][:, :, self.group_of]
            b = b + self.dense["group_bias"][:, self.group_of]
        return w, b

    def member_logits(self, hidden_in: np.ndarray) -> np.ndarray:
        """Member logits ``(k, B, labels)`` from bag sums ``(B, k * hidden)`` (eval: no dropout)."""
        k, h = self.cfg.members, self.cfg.hidden
        z = np.maximum(hidden_in + self.dense["bag_bias"], 0.0)
        w, b = self._out()
        return np.matmul(z.reshape(-1, k, h).transpose(1, 0, 2), w) + b[:, None, :]

    def logits(self, x: Any) -> np.ndarray:
        """Mean member logits ``(B, labels)`` of a sparse feature matrix ``x`` (eval mode)."""
        return self.member_logits(np.asarray(x @ self.table)).mean(axis=0)

    # -- training step ---------------------------------------------------------------------------
    def loss_and_grads(
        self,
        bag: np.ndarray,
        targets: np.ndarray,
        smoothing: float,
        rng: np.random.Generator,
    ) -> tuple[float, np.ndarray, dict[str, np.ndarray]]:
        """Label-smoothed cross-entropy of every member on one batch, and its gradients.

        ``bag`` is ``X_batch @ table`` ``(B, k * hidden)``. Returns the mean loss, the gradient
        w.r.t. ``bag`` (for the table's rows) and the gradients of the dense arrays.
        """
        cfg = self.cfg
        k, h, c = cfg.members, cfg.hidden, cfg.n_labels
        n = bag.shape[0]
        pre = bag + self.dense["bag_bias"]
        active = pre > 0
        z = np.where(active, pre, np.float32(0.0))
        if cfg.dropout > 0:
            keep = rng.random(z.shape, dtype=np.float32) >= np.float32(cfg.dropout)
            mask = keep * np.float32(1.0 / (1.0 - cfg.dropout))
            z *= mask
        zk = np.ascontiguousarray(z.reshape(n, k, h).transpose(1, 0, 2))  # (k, B, h)
        w, b = self._out()
        logits = np.matmul(zk, w) + b[:, None, :]  # (k, B, c)
        logits -= logits.max(axis=2, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=2, keepdims=True)
        logp = logits - np.log(total)
        probs = exp / total
        rows = np.arange(n)
        nll = -logp[:, rows, targets].mean()
        loss = (1.0 - smoothing) * nll - smoothing * logp.mean(axis=2).mean()
        grad = probs
        grad[:, rows, targets] -= np.float32(1.0 - smoothing)
        grad -= np.float32(smoothing / c)
        grad *= np.float32(1.0 / (n * k))  # (k, B, c): d loss / d logits
        d_w = np.matmul(zk.transpose(0, 2, 1), grad)  # (k, h, c)
        d_b = grad.sum(axis=1)  # (k, c)
        grads = {"out_weight": d_w, "out_bias": d_b}
        if self.group_of.size:
            grads["group_weight"] = d_w @ self.group_onehot
            grads["group_bias"] = d_b @ self.group_onehot
        dz = np.matmul(grad, w.transpose(0, 2, 1)).transpose(1, 0, 2).reshape(n, k * h)
        if cfg.dropout > 0:
            dz *= mask
        dz *= active
        grads["bag_bias"] = dz.sum(axis=0)
        return float(loss), dz, grads

    # -- export ----------------------------------------------------------------------------------
    def folded(self) -> dict[str, np.ndarray]:
        """Exported MLP arrays: label groups folded into ``out_weight``/``out_bias``."""
        w, b = self._out()
        return {
            "table": self.table,
            "bag_bias": self.dense["bag_bias"],
            "out_weight": np.ascontiguousarray(w, dtype=np.float32),
            "out_bias": np.ascontiguousarray(b, dtype=np.float32),
        }

    def parameter_count(self) -> int:
        """Trainable numbers in the network (table + dense arrays)."""
        return int(self.table.size + sum(a.size for a in self.dense.values()))
