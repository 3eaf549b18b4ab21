"""The decoding loop (KV cache, logits processors, sampling) and text streaming with stop strings.

``generate_ids`` is enigma's one decoding loop: it yields token ids, and plugins shape it with
logits processors (:mod:`enigma_core.inference.processors`) instead of writing their own.
:class:`TextStream` turns ids into text pieces that are safe to show (no half UTF-8
characters, nothing that may still become a stop string); ``stream_text`` and ``generate``
combine both. Every call decodes into its own KV cache, so one loaded model serves many
threads at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from enigma_core.errors import EnigmaError
from enigma_core.inference.numpy_model import KVCache, NumpyTransformer
from enigma_core.inference.processors import LogitsProcessor, apply_processors
from enigma_core.inference.sampling import SamplingParams, sample_next


class TextCodec(Protocol):
    """What decoding needs from the tokenizer (``SharedTokenizer`` satisfies it)."""

    eos_id: int

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``."""
        ...


def fit_prompt(prompt_ids: Sequence[int], context: int, max_new_tokens: int) -> list[int]:
    """The prompt, left-truncated when it would leave no room to generate in ``context``."""
    ids = [int(i) for i in prompt_ids]
    if not ids:
        raise EnigmaError("cannot generate from an empty prompt (give at least one token)")
    room = max(1, min(max_new_tokens, context // 4))
    if len(ids) + room > context:
        ids = ids[-(context - room) :]
    return ids


def generate_ids(
    model: NumpyTransformer,
    prompt_ids: Sequence[int],
    params: SamplingParams,
    eos_id: int | None = None,
    cache: KVCache | None = None,
    status: dict[str, str] | None = None,
    processors: Sequence[LogitsProcessor] = (),
) -> Iterator[int]:
    """Yield new token ids one by one until eos/stop id, ``max_new_tokens`` or a full context.

    The prompt is run once through the cache (prefill), then one token per step; before each
    sample the ``processors`` edit the logits in order. Stop/eos ids are not yielded. Each call
    gets a fresh KV cache unless ``cache`` is given (the caller then owns it: never share one
    between threads). When given, ``status["reason"]`` is set to ``"eos"`` or ``"length"``.
    """
    status = status if status is not None else {}
    status["reason"] = "length"
    if params.max_new_tokens == 0:
        return
    cache = cache if cache is not None else model.new_cache()
    cache.reset()
    ids = fit_prompt(prompt_ids, cache.max_len, params.max_new_tokens)
    stops = set(params.stop_ids)
    if eos_id is not None:
        stops.add(int(eos_id))
    rng = np.random.default_rng(params.seed)
    generated: list[int] = []
    logits = model.step(ids, cache)
    for produced in range(params.max_new_tokens):
        if processors:
            logits = apply_processors(processors, generated, logits)
        token = sample_next(logits, params, rng)
        if token in stops:
            status["reason"] = "eos"
            return
        generated.append(token)
        yield token
        if produced + 1 == params.max_new_tokens or cache.length >= cache.max_len:
            return
        logits = model.step([token], cache)


class TextStream:
    """Turns generated ids into text pieces, holding back what may still change.

    Text that could be the start of a stop string, or a trailing incomplete UTF-8 character
    (decoded as U+FFFD), is held until it is settled. ``stopped`` turns True once a stop
    string appears; the stop string and everything after it are dropped.
    """

    def __init__(self, codec: TextCodec, stop: Sequence[str] = ()) -> None:
        self.codec = codec
        self.stop = tuple(s for s in stop if s)
        self.ids: list[int] = []
        self.text = ""
        self.emitted = 0
        self.stopped = False

    def _safe_end(self, text: str) -> int:
        """Length of the prefix of ``text`` that can no longer change or start a stop string."""
        end = len(text)
        for s in self.stop:
            for k in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:k]):
                    end = min(end, len(text) - k)
                    break
        if text.endswith("\ufffd"):  # incomplete UTF-8 bytes so far: hold them all back
            end = min(end, len(text.rstrip("\ufffd")))
        return end

    def push(self, token: int) -> str:
        """Add one token; return the newly settled text (possibly empty)."""
        if self.stopped:
            return ""
        self.ids.append(int(token))
        text = self.codec.decode(self.ids)
        cut = min((i for i in (text.find(s) for s in self.stop) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self.text = text[:cut]
            return self._take(cut)
        self.text = text
        return self._take(self._safe_end(text))

    def flush(self) -> str:
        """All text still held back (call once generation ended without a stop string)."""
        return "" if self.stopped else self._take(len(self.text))

    def _take(self, end: int) -> str:
        """Emit ``text[emitted:end]`` and remember how far we got."""
        piece = self.text[self.emitted : end] if end > self.emitted else ""
        self.emitted = max(self.emitted, end)
        return piece


def stream_text(
    model: NumpyTransformer,
    codec: TextCodec,
    prompt_ids: Sequence[int],
    params: SamplingParams,
    cache: KVCache | None = None,
    processors: Sequence[LogitsProcessor] = (),
) -> Iterator[str]:
    """Yield text pieces as they are produced (stop strings honoured, never split a character)."""
    stream = TextStream(codec, params.stop)
    tokens = generate_ids(model, prompt_ids, params, codec.eos_id, cache, None, processors)
    for token in tokens:
        piece = stream.push(token)
        if piece:
            yield piece
        if stream.stopped:
            return
    tail = stream.flush()
    if tail:
        yield tail


@dataclass
class GenerationResult:
    """A finished generation: text, ids, why it ended and how fast it went."""

    text: str
    token_ids: list[int] = field(default_factory=list)
    finish_reason: str = "length"  # "stop" (stop string), "eos" (eos/stop id) or "length"
    prompt_tokens: int = 0
    first_token_s: float = 0.0
    total_s: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second after the first one (decode speed)."""
        n = len(self.token_ids) - 1
        span = self.total_s - self.first_token_s
        return n / span if n > 0 and span > 0 else 0.0


def generate(
    model: NumpyTransformer,
    codec: TextCodec,
    prompt_ids: Sequence[int],
    params: SamplingParams,
    on_text: Callable[[str], None] | None = None,
    cache: KVCache | None = None,
    processors: Sequence[LogitsProcessor] = (),
) -> GenerationResult:
    """Generate a completion, calling ``on_text(piece)`` as text settles; return the result."""
    stream = TextStream(codec, params.stop)
    start = time.perf_counter()
    first = 0.0
    status: dict[str, str] = {}
    n_prompt = len(fit_prompt(prompt_ids, model.config.block_size, max(params.max_new_tokens, 1)))
    tokens = generate_ids(model, prompt_ids, params, codec.eos_id, cache, status, processors)
    for n, token in enumerate(tokens, 1):
        if n == 1:
            first = time.perf_counter() - start
        piece = stream.push(token)
        if piece and on_text is not None:
            on_text(piece)
        if stream.stopped:
            break
    if not stream.stopped:
        tail = stream.flush()
        if tail and on_text is not None:
            on_text(tail)
    reason = "stop" if stream.stopped else status.get("reason", "length")
    return GenerationResult(
        text=stream.text,
        token_ids=list(stream.ids),
        finish_reason=reason,
        prompt_tokens=n_prompt,
        first_token_s=first,
        total_s=time.perf_counter() - start,
    )
