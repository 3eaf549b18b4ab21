"""Numpy runtime vs torch model; KV-cached decoding, sampling, stop strings and streaming."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from enigma_core.errors import EnigmaError, TokenizerMismatchError
from enigma_core.inference import (
    AllowedTokens,
    NumpyTransformer,
    SamplingParams,
    TextStream,
    generate,
    generate_ids,
    load_model,
    sample_next,
    stream_text,
)
from enigma_core.model import build_model, load_weights, save_weights
from enigma_core.presets import ModelConfig
from enigma_core.tokenizer import SharedTokenizer, train_tokenizer
from enigma_core.training.checkpoint import export_model, load_checkpoint
from enigma_core.training.meta import FORMAT_NAME, FORMAT_VERSION
from tests.helpers import tiny_data


@pytest.fixture(scope="module")
def tok(tmp_path_factory: pytest.TempPathFactory) -> SharedTokenizer:
    return tiny_data.make_tokenizer(tmp_path_factory.mktemp("tok"))


@pytest.fixture(scope="module")
def pair(tok: SharedTokenizer) -> tuple[torch.nn.Module, NumpyTransformer]:
    """A random small model (with a classification head) and its numpy twin."""
    config = ModelConfig(
        vocab_size=tok.vocab_size, n_layer=2, n_embd=64, n_head=4, block_size=64, n_labels=3
    )
    torch.manual_seed(0)
    model = build_model(config).eval()
    with torch.no_grad():  # larger weights than the init so differences would show
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    tensors = {k: v.numpy() for k, v in model.state_dict().items()}
    return model, NumpyTransformer(config, tensors)


def test_numpy_logits_match_torch(pair: tuple[torch.nn.Module, NumpyTransformer]) -> None:
    model, npm = pair
    ids = torch.randint(
        0, model.config.vocab_size, (1, 37), generator=torch.Generator().manual_seed(1)
    )
    with torch.no_grad():
        want = model(ids)[0].numpy()
        want_cls = model.classify(ids, torch.tensor([37]))[0].numpy()
    np.testing.assert_allclose(npm.logits(ids[0].numpy()), want, atol=1e-4, rtol=0)
    np.testing.assert_allclose(npm.classify_logits(ids[0].numpy()), want_cls, atol=1e-4, rtol=0)
    probs = npm.classify(ids[0].numpy())
    assert probs.shape == (3,) and abs(float(probs.sum()) - 1.0) < 1e-5


def test_cached_decoding_equals_uncached(pair: tuple[torch.nn.Module, NumpyTransformer]) -> None:
    _, npm = pair
    prompt = [2, 10, 20, 30, 40]
    params = SamplingParams(max_new_tokens=20)
    cached = list(generate_ids(npm, prompt, params))
    seq = list(prompt)
    uncached = []
    for _ in range(20):
        nxt = int(np.argmax(npm.logits(seq)[-1]))
        if nxt == 3:  # eos
            break
        uncached.append(nxt)
        seq.append(nxt)
    assert cached == uncached
    cache = npm.new_cache()
    step_logits = npm.step(prompt, cache)
    np.testing.assert_allclose(step_logits, npm.logits(prompt)[-1], atol=1e-5)
    assert cache.length == len(prompt)


def test_context_limit_and_bad_ids(pair: tuple[torch.nn.Module, NumpyTransformer]) -> None:
    _, npm = pair
    out = list(generate_ids(npm, list(range(7, 107)), SamplingParams(max_new_tokens=500)))
    assert 0 < len(out) <= 64  # left-truncated prompt, stops at the 64-token context
    with pytest.raises(EnigmaError, match="outside the model vocabulary"):
        npm.logits([npm.config.vocab_size])
    with pytest.raises(EnigmaError, match="empty prompt"):
        list(generate_ids(npm, [], SamplingParams()))


def test_sampling_modes() -> None:
    logits = np.array([0.0, 3.0, 2.9, -1.0, 1.0], dtype=np.float32)
    rng = np.random.default_rng(0)
    assert sample_next(logits, SamplingParams(), rng) == 1
    assert sample_next(logits, SamplingParams(temperature=1.0, top_k=1), rng) == 1
    assert sample_next(logits, SamplingParams(temperature=1.0, top_p=0.01), rng) == 1
    draws = {sample_next(logits, SamplingParams(temperature=1.0, top_k=2), rng) for _ in range(200)}
    assert draws == {1, 2}
    draws = {sample_next(logits, SamplingParams(temperature=5.0), rng) for _ in range(400)}
    assert draws == {0, 1, 2, 3, 4}
    a = [
        sample_next(logits, SamplingParams(temperature=1.0), np.random.default_rng(7)) for _ in "ab"
    ]
    assert a[0] == a[1]
    with pytest.raises(EnigmaError, match="top_p"):
        SamplingParams(top_p=0.0)


def test_seeded_sampling_is_reproducible(pair: tuple[torch.nn.Module, NumpyTransformer]) -> None:
    _, npm = pair
    params = SamplingParams(max_new_tokens=15, temperature=0.9, top_k=50, top_p=0.9, seed=5)
    assert list(generate_ids(npm, [2, 9], params)) == list(generate_ids(npm, [2, 9], params))


def test_text_stream_stop_strings_and_utf8(tok: SharedTokenizer) -> None:
    stream = TextStream(tok, stop=("\nQ:",))
    pieces = [stream.push(t) for t in tok.encode("add 2 and 3 gives 5\nQ: again")]
    assert "".join(pieces) == "add 2 and 3 gives 5" and stream.stopped
    text = "naïve ✓ 漢字 ok"
    stream = TextStream(tok)
    pieces = [stream.push(t) for t in tok.encode(text)] + [stream.flush()]
    assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces)


def test_streaming_equals_generate(
    tok: SharedTokenizer, pair: tuple[torch.nn.Module, NumpyTransformer]
) -> None:
    _, npm = pair
    prompt = tok.encode("Q: add 1 and 2\nA: ", add_bos=True)
    params = SamplingParams(max_new_tokens=25, temperature=0.8, seed=3)
    pieces = list(stream_text(npm, tok, prompt, params))
    got: list[str] = []
    result = generate(npm, tok, prompt, params, on_text=got.append)
    assert "".join(pieces) == "".join(got) == result.text
    assert result.text == tok.decode(result.token_ids)
    assert result.finish_reason in ("eos", "length")
    stop = result.text[3:6]
    if stop.strip():
        cut = generate(npm, tok, prompt, SamplingParams(25, 0.8, stop=(stop,), seed=3))
        assert cut.finish_reason == "stop" and cut.text == result.text[: result.text.find(stop)]


class Recorder:
    """A logits processor that records what it saw and bans one token."""

    def __init__(self, banned: int) -> None:
        self.banned = banned
        self.seen: list[list[int]] = []

    def __call__(self, generated: list[int], logits: np.ndarray) -> np.ndarray:
        """Remember ``generated``; forbid ``banned``."""
        self.seen.append(list(generated))
        logits[self.banned] = -np.inf
        return logits


def test_logits_processors_shape_every_step(
    tok: SharedTokenizer, pair: tuple[torch.nn.Module, NumpyTransformer]
) -> None:
    """Processors run in order before every sample, see the ids generated so far, and what
    they forbid never comes out; the same processors work through stream_text and generate."""
    _, npm = pair
    prompt = tok.encode("Q: add 1 and 2\nA: ", add_bos=True)
    params = SamplingParams(max_new_tokens=30, temperature=0.9, seed=4)
    free = list(generate_ids(npm, prompt, params))
    assert free
    recorder = Recorder(banned=free[0])
    shaped = list(generate_ids(npm, prompt, params, processors=[recorder]))
    assert free[0] not in shaped and shaped != free
    assert recorder.seen == [shaped[:k] for k in range(len(recorder.seen))]
    assert len(recorder.seen) in (len(shaped), len(shaped) + 1)  # +1: the step that chose eos
    assert list(generate_ids(npm, prompt, params, processors=[lambda g, z: z])) == free
    allowed = sorted(set(free[1:]) | {tok.eos_id, 7, 8, 9})
    only = AllowedTokens(allowed, npm.config.vocab_size)
    kept = list(generate_ids(npm, prompt, params, processors=[only]))
    assert set(kept) <= set(allowed) and free[0] not in kept
    both = list(generate_ids(npm, prompt, params, processors=[only, Recorder(banned=kept[0])]))
    assert set(both) <= set(allowed) and kept[0] not in both
    text = "".join(stream_text(npm, tok, prompt, params, processors=[only]))
    result = generate(npm, tok, prompt, params, processors=[only])
    assert text == result.text == tok.decode(kept)


def test_threads_share_one_model_and_get_the_serial_answers(
    pair: tuple[torch.nn.Module, NumpyTransformer],
) -> None:
    """Each call decodes into its own KV cache: 8 threads on one model match a serial run."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    _, npm = pair
    jobs = [([2, 10 + i % 7, 20 + i % 5], SamplingParams(24, 0.8, seed=i % 6)) for i in range(48)]
    serial = [list(generate_ids(npm, prompt, params)) for prompt, params in jobs]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(8) as pool:
            threaded = list(pool.map(lambda job: list(generate_ids(npm, *job)), jobs))
    finally:
        sys.setswitchinterval(interval)
    assert threaded == serial


def test_safetensors_round_trip(
    tmp_path: Path, tok: SharedTokenizer, pair: tuple[torch.nn.Module, NumpyTransformer]
) -> None:
    model, npm = pair
    path = tmp_path / "w.safetensors"
    save_weights(model, path)
    assert path.read_bytes()[8:9] == b"{"  # safetensors header, not a zip/pickle
    again = NumpyTransformer.from_file(path, model.config)
    ids = [2, 5, 7, 11]
    np.testing.assert_array_equal(again.logits(ids), npm.logits(ids))
    twin = load_weights(build_model(model.config), path)
    for (k, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    with pytest.raises(EnigmaError, match="do not match"):
        load_weights(build_model(ModelConfig(vocab_size=tok.vocab_size, n_embd=32, n_head=2)), path)


def test_loading_refuses_another_tokenizer(
    tmp_path: Path, tok: SharedTokenizer, pair: tuple[torch.nn.Module, NumpyTransformer]
) -> None:
    model, _ = pair
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "task": "demo",
        "model": model.config.to_dict(),
        "tokenizer": {"sha256": tok.sha256, "vocab_size": tok.vocab_size},
    }
    export_model(tmp_path, model, meta)
    npm, got = load_model(tmp_path, tok)
    assert got["task"] == "demo" and npm.config == model.config
    corpus = tiny_data.write(tmp_path / "other.txt", tiny_data.qa_lines(100, seed=9))
    other = train_tokenizer([corpus], tmp_path / "other.model", vocab_size=300)
    for loader in (load_model, load_checkpoint):
        with pytest.raises(TokenizerMismatchError) as info:
            loader(tmp_path, other)
        message = str(info.value)
        assert tok.sha256 in message and other.sha256 in message and "retrain" in message
