"""The enigma transformer in torch (training only; the runtime uses ``enigma_core.inference``).

A decoder-only, pre-norm GPT: token + learned position embeddings, ``n_layer`` blocks of causal
self-attention (``F.scaled_dot_product_attention``) and a GELU MLP, a final LayerNorm, a tied
LM head for generation and an optional classification head on the mean-pooled hidden state.
Weights are saved and loaded with safetensors only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.atomic import atomic_write_bytes
from enigma_core.errors import EnigmaError
from enigma_core.presets import ModelConfig

if TYPE_CHECKING:
    import torch
    from torch import nn

CLASSES = ("CausalSelfAttention", "MLP", "Block", "EnigmaTransformer")
"""The ``nn.Module`` classes, defined on first use (importing this module never loads torch)."""


@cache
def _classes() -> dict[str, Any]:
    """Define the torch modules once, when first asked for: ``import torch`` happens here."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class CausalSelfAttention(nn.Module):
        """Multi-head causal self-attention with one fused qkv projection."""

        def __init__(self, config: ModelConfig) -> None:
            super().__init__()
            self.n_head = config.n_head
            self.dropout = config.dropout
            self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd)
            self.c_proj = nn.Linear(config.n_embd, config.n_embd)
            self.resid_drop = nn.Dropout(config.dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """(B, T, C) -> (B, T, C); position t attends to positions <= t."""
            b, t, c = x.shape
            q, k, v = self.c_attn(x).split(c, dim=2)
            q, k, v = (
                z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v)
            )
            drop = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=True)
            y = y.transpose(1, 2).contiguous().view(b, t, c)
            return self.resid_drop(self.c_proj(y))

    class MLP(nn.Module):
        """Position-wise feed-forward: Linear(C, 4C) -> GELU (exact, erf) -> Linear(4C, C)."""

        def __init__(self, config: ModelConfig) -> None:
            super().__init__()
            self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd)
            self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd)
            self.drop = nn.Dropout(config.dropout)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """(B, T, C) -> (B, T, C)."""
            return self.drop(self.c_proj(F.gelu(self.c_fc(x))))

    class Block(nn.Module):
        """Pre-norm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

        def __init__(self, config: ModelConfig) -> None:
            super().__init__()
            self.ln_1 = nn.LayerNorm(config.n_embd)
            self.attn = CausalSelfAttention(config)
            self.ln_2 = nn.LayerNorm(config.n_embd)
            self.mlp = MLP(config)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            """(B, T, C) -> (B, T, C)."""
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class EnigmaTransformer(nn.Module):
        """Shared backbone, a tied LM head (``forward``) and a classification head (``classify``).

        Sequences are right-padded; causal attention means real tokens never see the padding, so
        no attention mask is needed. ``classify`` mean-pools over the first ``lengths`` positions.
        """

        def __init__(self, config: ModelConfig) -> None:
            super().__init__()
            self.config = config
            self.wte = nn.Embedding(config.vocab_size, config.n_embd)
            self.wpe = nn.Embedding(config.block_size, config.n_embd)
            self.drop = nn.Dropout(config.dropout)
            self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
            self.ln_f = nn.LayerNorm(config.n_embd)
            self.cls_head = nn.Linear(config.n_embd, config.n_labels) if config.n_labels else None
            self.apply(self._init_weights)
            for name, p in self.named_parameters():
                if name.endswith("c_proj.weight"):  # GPT-2: scale residual projections by depth
                    nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

        @staticmethod
        def _init_weights(module: nn.Module) -> None:
            """Normal(0, 0.02) weights, zero biases."""
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.zeros_(module.bias)

        def hidden(self, idx: torch.Tensor) -> torch.Tensor:
            """Final normalised hidden states (B, T, C) for token ids (B, T)."""
            t = idx.shape[1]
            if t > self.config.block_size:
                raise EnigmaError(
                    f"sequence of {t} tokens exceeds block_size {self.config.block_size}"
                )
            pos = torch.arange(t, device=idx.device)
            x = self.drop(self.wte(idx) + self.wpe(pos))
            for block in self.blocks:
                x = block(x)
            return self.ln_f(x)

        def lm_logits(self, h: torch.Tensor) -> torch.Tensor:
            """Next-token logits for hidden states of any leading shape (tied to ``wte``)."""
            return F.linear(h, self.wte.weight)

        def forward(self, idx: torch.Tensor) -> torch.Tensor:
            """Next-token logits (B, T, vocab) for token ids (B, T)."""
            return self.lm_logits(self.hidden(idx))

        def pool(self, h: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            """Mean of the first ``lengths[b]`` hidden states of each row: (B, T, C) -> (B, C)."""
            mask = torch.arange(h.shape[1], device=h.device)[None, :] < lengths[:, None]
            summed = (h * mask.unsqueeze(-1).to(h.dtype)).sum(dim=1)
            return summed / lengths.clamp(min=1).unsqueeze(-1).to(h.dtype)

        def classify(self, idx: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            """Class logits (B, n_labels) for right-padded ids (B, T) with true ``lengths`` (B,)."""
            if self.cls_head is None:
                raise EnigmaError("this model has no classification head (n_labels is 0)")
            return self.cls_head(self.pool(self.hidden(idx), lengths))

    for cls in (CausalSelfAttention, MLP, Block, EnigmaTransformer):
        cls.__qualname__ = cls.__name__  # as if defined at module level (reprs, pickling names)
    return {
        "CausalSelfAttention": CausalSelfAttention,
        "MLP": MLP,
        "Block": Block,
        "EnigmaTransformer": EnigmaTransformer,
    }


def __getattr__(name: str) -> Any:
    """``enigma_core.model.EnigmaTransformer`` and the other modules, defined lazily."""
    if name in CLASSES:
        return _classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_model(config: ModelConfig, device: str | torch.device | None = None) -> nn.Module:
    """A freshly initialised :data:`EnigmaTransformer` (seed torch first for reproducibility)."""
    model = _classes()["EnigmaTransformer"](config)
    return model.to(device) if device is not None else model


def model_tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """Contiguous CPU float tensors of the model, keyed as in ``state_dict``."""
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def save_weights(
    model: nn.Module,
    path: str | Path,
    metadata: dict[str, str] | None = None,
    half: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> None:
    """Write the weights to ``path`` as safetensors, atomically (temp file + ``os.replace``).

    Tensors named in ``half`` are stored in float16 (names the model lacks are skipped: a
    recipe may build optional parts); those named in ``exclude`` (training-only state such as
    optimizer moments) are not written.
    """
    from safetensors.torch import save

    tensors = model_tensors(model)
    for name in exclude:
        tensors.pop(name, None)
    for name in half:
        if name not in tensors:
            continue
        if not tensors[name].is_floating_point():
            raise EnigmaError(f"save_weights: {name!r} is not a floating-point tensor")
        tensors[name] = tensors[name].half()
    atomic_write_bytes(path, save(tensors, metadata=metadata))


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load safetensors weights into ``model`` (strict: every tensor must match)."""
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types for bad files
        raise EnigmaError(f"{path}: not a readable safetensors file ({exc})") from None
    try:
        missing, unexpected = model.load_state_dict(tensors, strict=False)
    except RuntimeError as exc:  # shape mismatch
        first = str(exc).strip().splitlines()[-1].strip()
        raise EnigmaError(f"{path}: weights do not match the model config ({first})") from None
    if missing or unexpected:
        raise EnigmaError(
            f"{path}: weights do not match the model config "
            f"(missing {sorted(missing)[:3]}, unexpected {sorted(unexpected)[:3]})"
        )
    return model
