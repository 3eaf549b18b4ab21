"""A small AdamW (decoupled weight decay) on torch's fused kernel, foreach ops as fallback.

Why not ``torch.optim.AdamW``: constructing any ``torch.optim`` optimizer imports
``torch._dynamo`` (1.5-3 s on a 2-core laptop, longer than a whole router training run).
The math is the same; its state is plain named tensors, saved with safetensors.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


class AdamW:
    """AdamW over parameter groups ``{"params": [...], "weight_decay": wd}`` sharing one lr.

    ``lr`` may be changed between steps (``opt.lr = ...``, the loop's schedule).
    """

    def __init__(
        self,
        groups: Iterable[dict[str, Any]],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        fused: bool = True,
    ) -> None:
        import torch

        self.groups = [
            {"params": list(g["params"]), "weight_decay": float(g.get("weight_decay", 0.0))}
            for g in groups
        ]
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.fused = fused and hasattr(torch, "_fused_adamw_")
        self.params = [p for g in self.groups for p in g["params"]]
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]
        self._index = {id(p): i for i, p in enumerate(self.params)}

    def zero_grad(self) -> None:
        """Drop every gradient (set to None, so backward allocates fresh ones)."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One AdamW update of every parameter that has a gradient."""
        import torch

        with torch.no_grad():
            self._step()

    def _step(self) -> None:
        """:meth:`step`'s update (autograd off)."""
        import torch

        for group in self.groups:
            idx = [self._index[id(p)] for p in group["params"] if p.grad is not None]
            if not idx:
                continue
            params = [self.params[i] for i in idx]
            grads = [p.grad for p in params]
            m = [self.exp_avg[i] for i in idx]
            v = [self.exp_avg_sq[i] for i in idx]
            steps = [self.steps[i] for i in idx]
            torch._foreach_add_(steps, 1)
            if self.fused:
                try:
                    self._fused(params, grads, m, v, steps, group["weight_decay"])
                    continue
                except (RuntimeError, TypeError):  # no fused kernel for this device/build
                    self.fused = False
            self._foreach(params, grads, m, v, steps, group["weight_decay"])

    def _fused(self, params: list, grads: list, m: list, v: list, steps: list, wd: float) -> None:
        """The update with torch's fused AdamW kernel (steps already incremented)."""
        import torch

        torch._fused_adamw_(
            params,
            grads,
            m,
            v,
            [],
            steps,
            lr=self.lr,
            beta1=self.betas[0],
            beta2=self.betas[1],
            weight_decay=wd,
            eps=self.eps,
            amsgrad=False,
            maximize=False,
        )

    def _foreach(self, params: list, grads: list, m: list, v: list, steps: list, wd: float) -> None:
        """The same update with foreach ops (for builds/devices without the fused kernel)."""
        import torch

        b1, b2 = self.betas
        step = float(steps[0].item())
        if wd:
            torch._foreach_mul_(params, 1.0 - self.lr * wd)
        torch._foreach_lerp_(m, grads, 1.0 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1.0 - b2)
        bias1 = 1.0 - b1**step
        bias2_sqrt = math.sqrt(1.0 - b2**step)
        denom = torch._foreach_sqrt(v)
        torch._foreach_div_(denom, bias2_sqrt)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(params, m, denom, value=-self.lr / bias1)

    def state_tensors(self, prefix: str = "optim.") -> dict[str, torch.Tensor]:
        """Moments and step counts as named CPU tensors (``optim.<param index>.<name>``)."""
        out = {}
        for i in range(len(self.params)):
            out[f"{prefix}{i}.exp_avg"] = self.exp_avg[i].detach().cpu().contiguous()
            out[f"{prefix}{i}.exp_avg_sq"] = self.exp_avg_sq[i].detach().cpu().contiguous()
            out[f"{prefix}{i}.step"] = self.steps[i].detach().cpu().reshape(1)
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor], prefix: str = "optim.") -> None:
        """Restore :meth:`state_tensors` output (same model, same parameter order)."""
        for i in range(len(self.params)):
            try:
                self.exp_avg[i].copy_(tensors[f"{prefix}{i}.exp_avg"])
                self.exp_avg_sq[i].copy_(tensors[f"{prefix}{i}.exp_avg_sq"])
                self.steps[i].copy_(tensors[f"{prefix}{i}.step"].reshape(()))
            except (KeyError, RuntimeError) as exc:
                from enigma_core.errors import EnigmaError

                raise EnigmaError(
                    f"checkpoint optimizer state does not match the model (parameter {i}: {exc})"
                ) from None
