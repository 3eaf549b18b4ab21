"""Numpy-only inference for enigma models: load a trained directory, classify, generate, stream.

Never imports torch. Typical use in a plugin::

    model, meta = load_model(model_dir, tokenizer)          # refuses a foreign tokenizer
    ids = tokenizer.encode(prompt, add_bos=True)
    for piece in stream_text(model, tokenizer, ids, SamplingParams(max_new_tokens=64)):
        context.emit(piece)

Constrain decoding with logits processors (``processors=[AllowedTokens(ids, vocab)]``, or
any callable ``(generated_ids, logits) -> logits``) rather than a decoding loop of your own.
Every call decodes into its own KV cache: one loaded model may serve many threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.inference.generate import (
    GenerationResult,
    TextStream,
    generate,
    generate_ids,
    stream_text,
)
from enigma_core.inference.numpy_model import KVCache, NumpyTransformer
from enigma_core.inference.processors import AllowedTokens, LogitsProcessor, apply_processors
from enigma_core.inference.sampling import SamplingParams, sample_next
from enigma_core.inference.threads import limit_blas_threads
from enigma_core.training.meta import (
    WEIGHTS_FILE,
    check_tokenizer,
    check_weights_hash,
    model_config_of,
    read_meta,
)

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer

__all__ = [
    "AllowedTokens",
    "GenerationResult",
    "KVCache",
    "LogitsProcessor",
    "NumpyTransformer",
    "SamplingParams",
    "TextStream",
    "apply_processors",
    "generate",
    "generate_ids",
    "limit_blas_threads",
    "load_model",
    "sample_next",
    "stream_text",
]


def load_model(
    model_dir: str | Path,
    tokenizer: SharedTokenizer | None = None,
    *,
    verify_weights: bool = True,
    blas_threads: int | None = 1,
) -> tuple[NumpyTransformer, dict[str, Any]]:
    """Load a trained model directory for numpy inference; returns ``(model, config.json)``.

    ``tokenizer`` (default: the shipped shared tokenizer) must be the one the model was
    trained with, else :class:`~enigma_core.errors.TokenizerMismatchError` names both hashes.
    ``blas_threads`` caps numpy's BLAS threads process-wide (None leaves them alone).
    """
    if blas_threads is not None:
        limit_blas_threads(blas_threads)
    if tokenizer is None:
        from enigma_core.tokenizer import load_default

        tokenizer = load_default()
    from enigma_core.training.modeldir import committed_dir

    directory = committed_dir(model_dir)  # the previous model when an update was cut short
    meta = read_meta(directory)
    check_tokenizer(meta, tokenizer, where=str(directory))
    if verify_weights:
        check_weights_hash(directory, meta)
    model = NumpyTransformer.from_file(directory / WEIGHTS_FILE, model_config_of(meta))
    return model, meta
