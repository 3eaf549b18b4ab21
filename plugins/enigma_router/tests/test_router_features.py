"""Router features and calibration helpers: stable hashing, per-group L2 norms, temperature fit."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from enigma_router.calibrate import expected_calibration_error, fit_oos_knobs, fit_temperature
from enigma_router.features import (
    GROUP_CHAR,
    GROUP_WORD,
    FeatureSpec,
    FeatureVocab,
    Featurizer,
    Hasher,
    char_keys,
    tokens,
    word_keys,
)

from enigma_core.errors import EnigmaError


def test_keys_are_stable_crc32_with_group_prefix() -> None:
    spec = FeatureSpec()
    keys = word_keys(["set", "alarm"], spec)
    assert (GROUP_WORD << 32) | zlib.crc32(b"set alarm") in keys
    assert (GROUP_WORD << 32) | zlib.crc32(b"<s> set") in keys
    assert (GROUP_WORD << 32) | zlib.crc32(b"alarm </s>") in keys
    assert (GROUP_CHAR << 32) | zlib.crc32(b" se") in char_keys("set", spec)
    assert tokens("Wake me up, at 7!") == ["wake", "me", "up", ",", "at", "7", "!"]
    words = tokens("Wake me up, at 7! wake me")
    assert Hasher(spec).word_keys(words) == word_keys(words, spec)  # fast path == definition


def _featurizer(texts: list[str], spec: FeatureSpec | None = None) -> Featurizer:
    spec = spec or FeatureSpec()
    hasher = Hasher(spec)
    vocab = FeatureVocab.build([hasher.all_keys(hasher.raw(t)) for t in texts])
    return Featurizer(spec, vocab, hasher)


def test_each_group_is_l2_normalised_and_unknown_grams_dropped() -> None:
    feats = _featurizer(["set an alarm", "play some music", "what is the weather"])
    rows, weights = feats.one("set an alarm alarm")
    word_rows = {
        feats.vocab.index[k]
        for k in word_keys(["set", "an", "alarm", "alarm"], feats.spec)
        if k in feats.vocab.index
    }
    is_word = np.array([r in word_rows for r in rows])
    assert np.isclose(np.sum(weights[is_word] ** 2), 1.0)
    assert np.isclose(np.sum(weights[~is_word] ** 2), 1.0)
    empty_rows, _ = feats.one("ÿÿÿÿ")
    assert empty_rows.size == 0
    r1, w1 = feats.one("play music")
    r2, w2 = feats.one("play music")  # cached word rows give identical features
    assert (r1 == r2).all() and np.allclose(w1, w2)


def test_batch_offsets_match_single_requests() -> None:
    feats = _featurizer(["book a table", "play jazz", "rate this book"])
    texts = ["book jazz", "", "rate a table"]
    rows, offsets, weights = feats.batch(texts)
    assert offsets.tolist()[0] == 0 and len(offsets) == 3
    ends = [*offsets[1:].tolist(), len(rows)]
    for i, text in enumerate(texts):
        r, w = feats.one(text)
        assert rows[offsets[i] : ends[i]].tolist() == r.tolist()
        assert np.allclose(weights[offsets[i] : ends[i]], w)


def test_feature_spec_round_trip_and_unknown_field() -> None:
    spec = FeatureSpec(char_min=1, piece_n=2)
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(EnigmaError, match="unknown field"):
        FeatureSpec.from_dict({"colour": 1})


def test_temperature_fit_recovers_scale_and_reduces_ece() -> None:
    rng = np.random.default_rng(0)
    n, c = 3000, 5
    true_logits = rng.normal(0, 1.5, (n, c))
    p = np.exp(true_logits) / np.exp(true_logits).sum(1, keepdims=True)
    targets = np.array([rng.choice(c, p=row) for row in p])  # labels drawn from the true model
    overconfident = true_logits * 4.0
    t = fit_temperature(overconfident, targets)
    assert 3.0 < t < 5.5
    conf_raw = np.exp(overconfident - overconfident.max(1, keepdims=True))
    conf_raw = (conf_raw / conf_raw.sum(1, keepdims=True)).max(1)
    scaled = overconfident / t
    conf = np.exp(scaled - scaled.max(1, keepdims=True))
    conf = (conf / conf.sum(1, keepdims=True)).max(1)
    correct = (overconfident.argmax(1) == targets).astype(float)
    assert expected_calibration_error(conf, correct) < expected_calibration_error(conf_raw, correct)


def test_oos_knobs_zero_without_oos_and_positive_with_confusable_oos() -> None:
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])
    assert fit_oos_knobs(probs, np.array([0, 1]), -1) == (0.0, 0.0)
    # oos examples look like flat in-scope guesses: a threshold separates them
    probs = np.array([[0.95, 0.03, 0.02], [0.04, 0.94, 0.02], [0.5, 0.45, 0.05], [0.4, 0.5, 0.1]])
    threshold, margin = fit_oos_knobs(probs, np.array([0, 1, 2, 2]), 2)
    assert threshold > 0.5 or margin > 0.05
