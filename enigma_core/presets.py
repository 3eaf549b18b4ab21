"""Model configuration and the 15 named size presets (``nano`` … ``xxl``); no torch here.

The parameter count is computed analytically so ``enigma sizes`` never builds a model; a test
checks it against the real torch module for every preset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from enigma_core.errors import EnigmaError

DEFAULT_VOCAB_SIZE = 8192
"""Vocabulary size of the shared tokenizer that the presets are sized for."""

MLP_RATIO = 4
"""Hidden width of each MLP as a multiple of ``n_embd``."""


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build the transformer (torch) or run it (numpy).

    Decoder-only, pre-norm, learned positions, GELU (tanh) MLP, tied input/output embeddings.
    ``n_labels > 0`` adds a classification head on the mean-pooled final hidden state.
    """

    vocab_size: int = DEFAULT_VOCAB_SIZE  # shared tokenizer vocabulary
    n_layer: int = 2  # transformer blocks
    n_embd: int = 96  # residual width
    n_head: int = 3  # attention heads (n_embd % n_head == 0)
    block_size: int = 512  # longest sequence (learned position table)
    dropout: float = 0.0  # residual/attention dropout while training
    n_labels: int = 0  # classification classes; 0 = no classification head

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_layer", "n_embd", "n_head", "block_size"):
            if int(getattr(self, name)) <= 0:
                raise EnigmaError(f"model config: {name} must be > 0, got {getattr(self, name)}")
        if self.n_embd % self.n_head:
            raise EnigmaError(
                f"model config: n_embd {self.n_embd} is not divisible by n_head {self.n_head}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise EnigmaError(f"model config: dropout must be in [0, 1), got {self.dropout}")
        if self.n_labels < 0:
            raise EnigmaError(f"model config: n_labels must be >= 0, got {self.n_labels}")

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.n_embd // self.n_head

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (stored in every checkpoint's ``config.json``)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from ``to_dict`` output; unknown keys are refused, missing ones get defaults."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EnigmaError(f"model config: unknown field(s) {', '.join(unknown)}")
        return cls(**data)


@dataclass(frozen=True)
class SizePreset:
    """One named size: depth, width, heads and context length."""

    name: str
    n_layer: int
    n_embd: int
    n_head: int
    block_size: int = 512


_PRESET_LIST: tuple[SizePreset, ...] = (
    SizePreset("nano", 2, 96, 3),
    SizePreset("micro", 4, 128, 4),
    SizePreset("tiny", 4, 256, 4),
    SizePreset("mini", 6, 320, 5),
    SizePreset("small", 7, 512, 8),
    SizePreset("medium", 8, 640, 10),
    SizePreset("base", 12, 768, 12),
    SizePreset("large", 16, 1024, 16, 1024),
    SizePreset("xlarge", 20, 1280, 20, 1024),
    SizePreset("huge", 24, 1536, 24, 1024),
    SizePreset("giant", 28, 1792, 28, 1024),
    SizePreset("titan", 32, 2048, 32, 1024),
    SizePreset("colossal", 36, 2304, 36, 1024),
    SizePreset("mega", 40, 2560, 40, 1024),
    SizePreset("xxl", 48, 3072, 48, 1024),
)

PRESETS: dict[str, SizePreset] = {p.name: p for p in _PRESET_LIST}
"""The 15 size presets by name, smallest first."""

PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)


def get_preset(name: str) -> SizePreset:
    """The preset called ``name``; an unknown name is an :class:`EnigmaError` listing them all."""
    try:
        return PRESETS[name]
    except KeyError:
        raise EnigmaError(
            f"unknown model size {name!r}; choose one of: {', '.join(PRESET_NAMES)}"
        ) from None


def config_for(
    size: str,
    *,
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    n_labels: int = 0,
    dropout: float = 0.0,
    block_size: int | None = None,
) -> ModelConfig:
    """The :class:`ModelConfig` of preset ``size`` for a vocabulary and (optional) label count."""
    p = get_preset(size)
    return ModelConfig(
        vocab_size=vocab_size,
        n_layer=p.n_layer,
        n_embd=p.n_embd,
        n_head=p.n_head,
        block_size=block_size or p.block_size,
        dropout=dropout,
        n_labels=n_labels,
    )


def count_parameters(config: ModelConfig) -> int:
    """Exact number of trainable parameters of :class:`enigma_core.model.EnigmaTransformer`.

    Token + position embeddings, per block two LayerNorms, qkv/out projections and the MLP
    (all with biases), a final LayerNorm, the tied LM head (free) and the optional
    classification head.
    """
    d, hidden = config.n_embd, MLP_RATIO * config.n_embd
    embeddings = config.vocab_size * d + config.block_size * d
    attention = (d * 3 * d + 3 * d) + (d * d + d)
    mlp = (d * hidden + hidden) + (hidden * d + d)
    block = 2 * (2 * d) + attention + mlp
    head = config.n_labels * d + config.n_labels if config.n_labels else 0
    return embeddings + config.n_layer * block + 2 * d + head


def fp32_megabytes(n_params: int) -> float:
    """Size of ``n_params`` float32 weights in MB (10**6 bytes)."""
    return n_params * 4 / 1e6


def size_table(vocab_size: int = DEFAULT_VOCAB_SIZE) -> list[dict[str, Any]]:
    """One row per preset: name, layers, width, heads, context, parameters and fp32 MB."""
    rows = []
    for p in _PRESET_LIST:
        n = count_parameters(config_for(p.name, vocab_size=vocab_size))
        rows.append(
            {
                "name": p.name,
                "layers": p.n_layer,
                "width": p.n_embd,
                "heads": p.n_head,
                "context": p.block_size,
                "parameters": n,
                "fp32_mb": round(fp32_megabytes(n), 2),
            }
        )
    return rows


def with_overrides(config: ModelConfig, **changes: Any) -> ModelConfig:
    """A copy of ``config`` with some fields changed (validated again)."""
    return replace(config, **changes)
