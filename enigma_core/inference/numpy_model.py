"""The enigma transformer's forward pass in numpy (float32), with a preallocated KV cache.

Plugins answer requests with this, never with torch (whose import alone costs ~1 s). It reads
the same ``model.safetensors`` that training writes and matches the torch logits to ~1e-5.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enigma_core.errors import EnigmaError
from enigma_core.presets import ModelConfig

_INV_SQRT2 = np.float32(1.0 / np.sqrt(2.0))
_A5 = np.float32(1.061405429)
_LN_EPS = np.float32(1e-5)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LayerNorm over the last axis (eps 1e-5, as torch)."""
    mu = x.mean(axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    return xc / np.sqrt(var + _LN_EPS) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    """erf(x) in float32 (Abramowitz & Stegun 7.1.26, max abs error 1.5e-7); numpy has none."""
    a = np.abs(x)
    t = np.float32(1.0) / (np.float32(1.0) + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * _A5))
        )
    )
    return np.copysign(np.float32(1.0) - poly * np.exp(-a * a), x)


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x * Phi(x), as torch's default ``F.gelu``."""
    return np.float32(0.5) * x * (np.float32(1.0) + _erf(x * _INV_SQRT2))


@dataclass
class _Layer:
    """One block's weights; linear weights are transposed views (in, out) for ``x @ w``."""

    ln1_w: np.ndarray
    ln1_b: np.ndarray
    qkv_w: np.ndarray
    qkv_b: np.ndarray
    proj_w: np.ndarray
    proj_b: np.ndarray
    ln2_w: np.ndarray
    ln2_b: np.ndarray
    fc_w: np.ndarray
    fc_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray


class KVCache:
    """Preallocated keys/values for every layer: arrays of shape (n_layer, n_head, T, head_dim).

    One cache belongs to one generation at a time. The buffers are left uninitialised (cheap to
    make one per call): a position is only ever read after it was written.
    """

    def __init__(self, config: ModelConfig, max_len: int | None = None) -> None:
        self.max_len = min(max_len or config.block_size, config.block_size)
        shape = (config.n_layer, config.n_head, self.max_len, config.head_dim)
        self.k = np.empty(shape, dtype=np.float32)
        self.v = np.empty(shape, dtype=np.float32)
        self.length = 0

    def reset(self) -> None:
        """Forget every cached position (the buffers are reused)."""
        self.length = 0


class NumpyTransformer:
    """Numpy twin of :class:`enigma_core.model.EnigmaTransformer` (same weights, same outputs)."""

    def __init__(self, config: ModelConfig, tensors: dict[str, np.ndarray]) -> None:
        self.config = config

        def get(name: str) -> np.ndarray:
            """Tensor ``name`` as contiguous float32; missing ones are an EnigmaError."""
            if name not in tensors:
                raise EnigmaError(f"weights: tensor {name!r} is missing for this model config")
            return np.ascontiguousarray(tensors[name], dtype=np.float32)

        self.wte = get("wte.weight")
        self.wpe = get("wpe.weight")
        if self.wte.shape != (config.vocab_size, config.n_embd):
            raise EnigmaError(
                f"weights: wte.weight has shape {self.wte.shape}, config expects "
                f"{(config.vocab_size, config.n_embd)}"
            )
        self.layers = []
        for i in range(config.n_layer):
            p = f"blocks.{i}."
            self.layers.append(
                _Layer(
                    get(p + "ln_1.weight"), get(p + "ln_1.bias"),
                    get(p + "attn.c_attn.weight").T, get(p + "attn.c_attn.bias"),
                    get(p + "attn.c_proj.weight").T, get(p + "attn.c_proj.bias"),
                    get(p + "ln_2.weight"), get(p + "ln_2.bias"),
                    get(p + "mlp.c_fc.weight").T, get(p + "mlp.c_fc.bias"),
                    get(p + "mlp.c_proj.weight").T, get(p + "mlp.c_proj.bias"),
                )
            )  # fmt: skip
        self.lnf_w, self.lnf_b = get("ln_f.weight"), get("ln_f.bias")
        self.cls_w = get("cls_head.weight").T if config.n_labels else None
        self.cls_b = get("cls_head.bias") if config.n_labels else None
        self._scale = np.float32(1.0 / np.sqrt(config.head_dim))

    @classmethod
    def from_file(cls, path: str | Path, config: ModelConfig) -> NumpyTransformer:
        """Load ``model.safetensors`` with ``safetensors.numpy`` (no torch)."""
        from safetensors.numpy import load_file

        try:
            tensors = load_file(str(path))
        except FileNotFoundError:
            raise EnigmaError(f"{path}: weights file not found") from None
        except Exception as exc:  # safetensors raises its own error types for bad files
            raise EnigmaError(f"{path}: not a readable safetensors file ({exc})") from None
        return cls(config, tensors)

    def new_cache(self, max_len: int | None = None) -> KVCache:
        """An empty KV cache for up to ``max_len`` positions (default: the block size)."""
        return KVCache(self.config, max_len)

    def _check_ids(self, ids: np.ndarray) -> None:
        """Refuse ids outside the vocabulary (numpy would wrap negative ones silently)."""
        if ids.size and (ids.min() < 0 or ids.max() >= self.config.vocab_size):
            raise EnigmaError(
                f"token id outside the model vocabulary 0..{self.config.vocab_size - 1}"
            )

    def _blocks(self, ids: np.ndarray, cache: KVCache | None) -> np.ndarray:
        """Run the blocks on ``ids`` (T,) after ``cache.length`` cached positions; (T, C) out."""
        cfg = self.config
        t = ids.shape[0]
        start = cache.length if cache is not None else 0
        end = start + t
        limit = cache.max_len if cache is not None else cfg.block_size
        if end > limit:
            raise EnigmaError(f"sequence of {end} tokens exceeds the context of {limit}")
        self._check_ids(ids)
        h, hd, c = cfg.n_head, cfg.head_dim, cfg.n_embd
        x = self.wte[ids] + self.wpe[start:end]
        mask = None
        if t > 1:  # causal mask over (new positions) x (all positions so far)
            rows = np.arange(start, end)[:, None]
            mask = np.where(np.arange(end)[None, :] > rows, np.float32(-np.inf), np.float32(0))
        for li, layer in enumerate(self.layers):
            a = _layer_norm(x, layer.ln1_w, layer.ln1_b)
            qkv = a @ layer.qkv_w + layer.qkv_b  # (T, 3C)
            qkv = qkv.reshape(t, 3, h, hd).transpose(1, 2, 0, 3)  # (3, H, T, hd)
            q = qkv[0]
            if cache is not None:
                cache.k[li, :, start:end] = qkv[1]
                cache.v[li, :, start:end] = qkv[2]
                k, v = cache.k[li, :, :end], cache.v[li, :, :end]
            else:
                k, v = qkv[1], qkv[2]
            att = (q @ k.transpose(0, 2, 1)) * self._scale  # (H, T, end)
            if mask is not None:
                att += mask
            att -= att.max(axis=-1, keepdims=True)
            np.exp(att, out=att)
            att /= att.sum(axis=-1, keepdims=True)
            y = (att @ v).transpose(1, 0, 2).reshape(t, c)  # (T, C)
            x = x + (y @ layer.proj_w + layer.proj_b)
            m = _layer_norm(x, layer.ln2_w, layer.ln2_b)
            x = x + (_gelu(m @ layer.fc_w + layer.fc_b) @ layer.out_w + layer.out_b)
        if cache is not None:
            cache.length = end
        return x

    def hidden(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Final normalised hidden states (T, C) of a whole sequence (no cache)."""
        x = self._blocks(np.asarray(ids, dtype=np.int64), None)
        return _layer_norm(x, self.lnf_w, self.lnf_b)

    def logits(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Next-token logits (T, vocab) for every position of ``ids`` (no cache)."""
        return self.hidden(ids) @ self.wte.T

    def step(self, ids: np.ndarray | list[int], cache: KVCache) -> np.ndarray:
        """Append ``ids`` to ``cache`` and return the next-token logits (vocab,) after the last."""
        x = self._blocks(np.asarray(ids, dtype=np.int64), cache)
        last = _layer_norm(x[-1], self.lnf_w, self.lnf_b)
        return self.wte @ last

    def classify_logits(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Class logits (n_labels,) from the mean-pooled hidden state of ``ids``."""
        if self.cls_w is None:
            raise EnigmaError("this model has no classification head (n_labels is 0)")
        if len(ids) == 0:
            raise EnigmaError("cannot classify an empty token sequence")
        return self.hidden(ids).mean(axis=0) @ self.cls_w + self.cls_b

    def classify(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Class probabilities (n_labels,) (softmax of :meth:`classify_logits`)."""
        z = self.classify_logits(ids)
        z = np.exp(z - z.max())
        return z / z.sum()
