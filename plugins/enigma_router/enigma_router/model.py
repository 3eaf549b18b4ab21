"""The router network in torch (training only): a bag of hashed n-grams -> hidden layer -> logits.

``logits = mean_k out_k(drop(relu(sum_i w_i * E_k[row_i] + b_k))) + beta * (X W + c)``: members
of an EmbeddingBag MLP over the sparse tf-idf features (fastText-like, but with a non-linear
hidden layer, trained with cross-entropy; labels whose names share a prefix share part of their
output vector) plus, optionally, a linear member ``W, c``: a one-vs-rest linear SVM on the same
features, solved exactly after training (``linear.py``) and weighted by ``beta`` so both members
have the same spread on the validation split. The two disagree usefully (measured in
docs/ROUTER_BENCHMARKS.md). The feature vocabulary (hash keys and idf) rides along as buffers, so
``model.safetensors`` holds everything numpy inference needs.

Why the table trains itself: the core loop's AdamW is dense, and a dense Adam step over a
50k x 256 table costs more than the whole forward/backward. So the table is frozen to the loop
and updated by a lazy (row-sparse) Adam inside backward, from a gradient hook. Its learning rate
follows the loop's schedule exactly, read from ``lr_probe``: a scalar that gets gradient 1 every
step, so the loop's Adam moves it by exactly the current learning rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from enigma_core.errors import EnigmaError


@dataclass(frozen=True)
class RouterNetConfig:
    """Shape of the router network; stored in ``config.json`` under ``router.net``."""

    n_features: int
    n_labels: int
    hidden: int = 256
    members: int = 1
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
            return cls(**data)
        except TypeError as exc:
            raise EnigmaError(f"config.json: router.net is invalid ({exc})") from None


class LazyAdamTable(nn.Module):
    """An embedding table updated row-sparsely by Adam from a backward hook (see module doc)."""

    def __init__(
        self, rows: int, dim: int, std: float, betas: tuple[float, float] = (0.9, 0.999)
    ) -> None:
        """Make the table (normal init, or zeros when ``std`` is 0) and its Adam moments."""
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(rows, dim), requires_grad=False)
        if std > 0:
            nn.init.normal_(self.weight, std=std)
        # persistent: checkpoints carry them (so --resume is exact); the export leaves them out
        self.register_buffer("exp_avg", torch.zeros(rows, dim))
        self.register_buffer("exp_avg_sq", torch.zeros(rows, dim))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.betas = betas
        self.eps = 1e-8
        self.lr = 0.0

    def forward(
        self, rows: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """Weighted bag sums ``(B, dim)``."""
        return nn.functional.embedding_bag(
            rows, self.weight, offsets, mode="sum", per_sample_weights=weights
        )

    def attach(
        self, out: torch.Tensor, rows: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> None:
        """Update the touched rows with Adam once the gradient of ``out`` is known."""
        if not out.requires_grad:
            return
        n = out.shape[0]

        def hook(grad: torch.Tensor) -> None:
            self.step(grad, rows, offsets, weights, n)

        out.register_hook(hook)

    @torch.no_grad()
    def step(
        self,
        grad: torch.Tensor,
        rows: torch.Tensor,
        offsets: torch.Tensor,
        weights: torch.Tensor,
        n: int,
    ) -> None:
        """One lazy-Adam update of the batch's rows (skipped until a learning rate is known).

        The per-row gradient ``sum_i w_i * grad[bag(i)]`` is one sparse x dense product.
        """
        if self.lr <= 0 or rows.numel() == 0:
            return
        ends = torch.cat([offsets[1:], offsets.new_tensor([rows.numel()])])
        seg = torch.repeat_interleave(torch.arange(n, device=rows.device), ends - offsets)
        uniq, inv = torch.unique(rows, return_inverse=True)
        scatter = torch.sparse_coo_tensor(
            torch.stack([inv, seg]),
            weights.to(grad.dtype),
            (uniq.numel(), n),
            check_invariants=False,
        )
        gsum = torch.sparse.mm(scatter, grad)
        self.steps += 1
        t = int(self.steps)
        b1, b2 = self.betas
        m = self.exp_avg.index_select(0, uniq).mul_(b1).add_(gsum, alpha=1 - b1)
        v = self.exp_avg_sq.index_select(0, uniq).mul_(b2).addcmul_(gsum, gsum, value=1 - b2)
        self.exp_avg[uniq] = m
        self.exp_avg_sq[uniq] = v
        denom = v.sqrt_().div_(math.sqrt(1 - b2**t)).add_(self.eps)
        self.weight.index_add_(0, uniq, m.div_(denom), alpha=-self.lr / (1 - b1**t))


class RouterNet(nn.Module):
    """Bag-of-n-grams MLP classifier plus a linear SVM member (see module doc).

    ``members`` > 1 trains that many independent hidden layers + heads at once (each with its
    own loss), an ensemble in one module whose prediction is the mean of their logits.
    """

    def __init__(self, cfg: RouterNetConfig) -> None:
        """Build the layers; the feature keys/idf buffers are filled in by the recipe."""
        super().__init__()
        self.cfg = cfg
        k, h = cfg.members, cfg.hidden
        self.bag = LazyAdamTable(cfg.n_features, k * h, cfg.init_std)
        self.bag_bias = nn.Parameter(torch.zeros(k * h))
        self.drop = nn.Dropout(cfg.dropout)
        bound = 1.0 / h**0.5
        self.out_weight = nn.Parameter(torch.empty(k, h, cfg.n_labels).uniform_(-bound, bound))
        self.out_bias = nn.Parameter(torch.empty(k, cfg.n_labels).uniform_(-bound, bound))
        groups = tuple(cfg.label_groups)
        if groups and (len(groups) != cfg.n_labels or min(groups) < 0):
            raise EnigmaError("router.net.label_groups must give one group id >= 0 per label")
        self.register_buffer("group_of", torch.tensor(groups, dtype=torch.int64), persistent=False)
        n_groups = max(groups) + 1 if groups else 0
        self.group_weight = nn.Parameter(torch.zeros(k, h, n_groups))
        self.group_bias = nn.Parameter(torch.zeros(k, n_groups))
        # the linear member: fitted after training (never by the loop), zero until then
        self.linear: nn.EmbeddingBag | None = None
        if cfg.linear:
            self.linear = nn.EmbeddingBag(cfg.n_features, cfg.n_labels, mode="sum")
            nn.init.zeros_(self.linear.weight)
            self.linear.weight.requires_grad_(False)
        self.linear_bias = nn.Parameter(torch.zeros(cfg.n_labels), requires_grad=False)
        self.register_buffer("linear_weight", torch.tensor(1.0))
        self.lr_probe = nn.Parameter(torch.zeros(()))
        # [lr_probe after the previous step (nan: none yet), peak lr seen, steps seen]: read
        # by the refit; a buffer so that a resumed run continues exactly. Training-only state
        # (recipe.TRAINING_STATE): not in the loop's best-epoch snapshot, so restoring the best
        # epoch keeps the count of steps the loop really ran.
        self.register_buffer("probe_state", torch.tensor([math.nan, 0.0, 0.0], dtype=torch.float64))
        self.register_buffer("feat_keys", torch.zeros(cfg.n_features, dtype=torch.int64))
        self.register_buffer("feat_idf", torch.ones(cfg.n_features, dtype=torch.float32))

    def _read_lr(self) -> None:
        """Learning rate of the loop's previous step, from how far ``lr_probe`` moved."""
        now = float(self.lr_probe.detach())
        last, peak, seen = self.probe_state.tolist()
        if not math.isnan(last):
            lr = last - now
            peak = max(peak, lr)
            self.set_lr(max(lr, 0.0))
        self.probe_state.copy_(torch.tensor([now, peak, seen + 1], dtype=torch.float64))

    @property
    def peak_lr(self) -> float:
        """Largest learning rate the loop used so far (what the refit reuses)."""
        return float(self.probe_state[1])

    @property
    def steps_seen(self) -> int:
        """Training steps taken so far."""
        return int(self.probe_state[2])

    def set_lr(self, lr: float) -> None:
        """Set the tables' learning rate directly (for loops that are not driven by the probe)."""
        self.bag.lr = lr

    def probe_term(self) -> torch.Tensor:
        """Zero-valued loss term whose gradient w.r.t. ``lr_probe`` is exactly 1."""
        return self.lr_probe - self.lr_probe.detach()

    def forward(
        self, rows: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        """Logits ``(B, n_labels)``: mean MLP member logits + ``linear_weight`` * linear scores."""
        members, scores = self.parts(rows, offsets, weights)
        logits = members.mean(dim=1)
        if scores is not None:
            logits = logits + self.linear_weight * scores
        return logits

    def parts(
        self, rows: torch.Tensor, offsets: torch.Tensor, weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """MLP member logits ``(B, members, n_labels)`` and linear scores ``(B, n_labels)``."""
        training = self.training and torch.is_grad_enabled()
        if training:
            self._read_lr()
        h = self.bag(rows, offsets, weights) + self.bag_bias
        if training:
            self.bag.attach(h, rows, offsets, weights)
        k, hid = self.cfg.members, self.cfg.hidden
        z = self.drop(torch.relu(h)).view(-1, k, hid)
        w_out, b_out = self.out_weight, self.out_bias
        if self.group_of.numel():  # labels of a group share an output vector and bias
            w_out = w_out + self.group_weight[:, :, self.group_of]
            b_out = b_out + self.group_bias[:, self.group_of]
        logits = torch.einsum("bkh,khc->bkc", z, w_out) + b_out
        if self.linear is None:
            return logits, None
        return logits, self.linear(rows, offsets, per_sample_weights=weights) + self.linear_bias

    @torch.no_grad()
    def set_linear(self, weight: torch.Tensor, bias: torch.Tensor, beta: float) -> None:
        """Install the fitted linear member: ``weight (n_features, n_labels)``, bias, ``beta``."""
        if self.linear is None:
            raise EnigmaError("router: this network was built without a linear member")
        self.linear.weight.copy_(weight)
        self.linear_bias.copy_(bias)
        self.linear_weight.fill_(beta)

    @torch.no_grad()
    def fold_groups(self) -> None:
        """Add the label groups' shared output vectors into ``out_weight`` (before export), so
        numpy inference needs no notion of groups; the logits do not change."""
        if self.group_of.numel():
            self.out_weight += self.group_weight[:, :, self.group_of]
            self.out_bias += self.group_bias[:, self.group_of]
            self.group_weight.zero_()
            self.group_bias.zero_()
