"""Class balance: small intents are repeated in the MLP's epochs and weigh more in the linear
member; nearly balanced data trains exactly as without it (the end-to-end target, a declared
task with 20 examples, is tests/test_backends_router.py)."""

from __future__ import annotations

import numpy as np
import pytest
from enigma_router.fit import Matrix, Schedule, new_net, train_net
from enigma_router.network import RouterNetConfig
from enigma_router.trainer import RouterSettings, _balance, class_repeats


def test_repeats_follow_inverse_frequency_to_the_median_capped() -> None:
    y = np.repeat(np.arange(5), [250, 240, 260, 20, 100])  # label 5 has no example
    assert class_repeats(y, 6).tolist() == [1, 1, 1, 12, 2, 1]
    assert class_repeats(y, 6, cap=4).tolist() == [1, 1, 1, 4, 2, 1]
    near = np.repeat(np.arange(4), [285, 248, 232, 150])  # all at least half the median
    assert class_repeats(near, 4, cap=4).tolist() == [1, 1, 1, 1]
    assert class_repeats(np.zeros(0, np.int64), 3).tolist() == [1, 1, 1]
    mlp, lin = _balance(y, 6, RouterSettings())
    assert mlp.tolist() == [1, 1, 1, 4, 2, 1] and lin.tolist() == [1, 1, 1, 12, 2, 1]
    assert _balance(y, 6, RouterSettings(balance=False)) == (None, None)


def _toy(rng: np.random.Generator) -> tuple[Matrix, int]:
    """Three intents over sparse features, the last one 10x smaller than the others."""
    from scipy.sparse import csr_matrix

    sizes, n_features = (200, 200, 20), 60
    rows, labels = [], []
    for label, size in enumerate(sizes):
        centre = np.zeros(n_features, np.float32)
        centre[label * 20 : label * 20 + 20] = 1.0
        noise = rng.random((size, n_features), dtype=np.float32) < 0.3
        rows.append(np.where(noise, 1.0, 0.0) + centre * (rng.random((size, 1)) < 0.5))
        labels += [label] * size
    x = csr_matrix(np.vstack(rows).astype(np.float32))
    return Matrix(x, np.asarray(labels, dtype=np.int64)), n_features


def test_repeated_examples_lengthen_the_epoch() -> None:
    data, n_features = _toy(np.random.default_rng(0))
    cfg = RouterNetConfig(n_features=n_features, n_labels=3, hidden=8, members=1)
    plain, balanced = (Schedule(epochs=2, batch_size=32, lr=1e-2) for _ in range(2))
    train_net(new_net(cfg, 0), data, plain, 0)
    train_net(new_net(cfg, 0), data, balanced, 0, repeats=np.array([1, 1, 4]))
    assert plain.steps == 2 * -(-420 // 32) and balanced.steps == 2 * -(-480 // 32)
    same = Schedule(epochs=2, batch_size=32, lr=1e-2)
    a = train_net(new_net(cfg, 0), data, same, 0, repeats=np.ones(3, np.int64))
    b = train_net(new_net(cfg, 0), data, Schedule(epochs=2, batch_size=32, lr=1e-2), 0)
    assert np.array_equal(a.table, b.table)  # repeats of 1: exactly the unbalanced run


def test_weights_move_the_linear_member_toward_the_small_class() -> None:
    pytest.importorskip("sklearn")
    from enigma_router import linear

    data, _ = _toy(np.random.default_rng(1))
    plain = linear.scores(data.x, *linear.fit(data.x, data.y, 3))
    weighted = linear.scores(data.x, *linear.fit(data.x, data.y, 3, weights=np.array([1, 1, 10])))
    small = data.y == 2
    assert (weighted.argmax(1)[small] == 2).sum() > (plain.argmax(1)[small] == 2).sum()
    assert weighted[small, 2].mean() > plain[small, 2].mean()
