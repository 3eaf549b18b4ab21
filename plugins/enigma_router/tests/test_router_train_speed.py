"""The fast paths of router training give what the straightforward ones give (issue 21).

Each fast path is checked against its reference on real data (the repository's default
training file): the all-at-once feature matrix against one ``Featurizer.doc`` per request, the
chunked row Adam against whole-array Adam arithmetic, the direct liblinear call against
scikit-learn's ``LinearSVC``, and the lean liblinear import in a fresh process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "data" / "specialized" / "router_training.txt"


def _texts_and_labels() -> tuple[list[str], np.ndarray, int]:
    from enigma_core.formats import load_intent_examples

    rows = list(load_intent_examples(DATA))
    labels = sorted({r.intent for r in rows})
    texts = [r.text for r in rows]
    y = np.array([labels.index(r.intent) for r in rows], dtype=np.int64)
    return texts, y, len(labels)


def _matrices(texts: list[str]) -> tuple[object, object]:
    from enigma_router.dataset import _matrix_by_doc, build_vocab, hash_texts, matrix
    from enigma_router.features import FeatureSpec, Featurizer, Hasher

    spec = FeatureSpec()
    hasher = Hasher(spec)
    docs = hash_texts(texts, hasher)
    vocab = build_vocab(docs, hasher, spec)
    # unseen and odd requests too: empty, punctuation only, non-ASCII, repeated words
    odd = hash_texts(["", "?!", "héllo wörld héllo", "zzqx zzqx zzqx", "a a a a"], hasher)
    fast = [matrix(d, Featurizer(spec, vocab, hasher)) for d in (docs, odd)]
    slow = [_matrix_by_doc(d, Featurizer(spec, vocab, hasher)) for d in (docs, odd)]
    return fast, slow


def test_training_matrix_is_the_per_request_featurizer_bit_for_bit() -> None:
    pytest.importorskip("scipy")
    texts, _, _ = _texts_and_labels()
    fast, slow = _matrices(texts)
    for a, b in zip(fast, slow, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float32
        assert np.array_equal(a.indptr, b.indptr)
        assert np.array_equal(a.indices, b.indices)
        assert np.array_equal(a.data, b.data)  # same floats, not just close
    assert fast[0].nnz > 10 * len(texts)  # the matrices are not trivially empty
    assert fast[1][0].nnz == 0 and fast[1][2].nnz > 0


def test_chunked_row_adam_equals_whole_array_adam() -> None:
    from enigma_router import optim

    rng = np.random.default_rng(3)
    table = rng.standard_normal((300, 16), dtype=np.float32)
    opt = optim.RowAdam(table.copy())
    ref_w, ref_m, ref_v = table.copy(), np.zeros_like(table), np.zeros_like(table)
    b1, b2 = opt.betas
    for t in range(1, 6):
        rows = np.sort(rng.choice(300, size=200 + 20 * t, replace=False))  # > one chunk
        grad = rng.standard_normal((len(rows), 16), dtype=np.float32)
        opt.lr = 0.01 * t
        opt.step(rows, grad)
        # the same float32 operations on whole arrays
        m, v = ref_m[rows], ref_v[rows]
        m = m * np.float32(b1) + grad * np.float32(1.0 - b1)
        v = v * np.float32(b2) + (grad * grad) * np.float32(1.0 - b2)
        ref_m[rows], ref_v[rows] = m, v
        c2 = np.float32(1.0 / np.sqrt(1.0 - b2**t))
        denom = np.sqrt(v) * c2 + np.float32(opt.eps)
        ref_w[rows] -= np.float32(opt.lr / (1.0 - b1**t)) * (m / denom)
    assert optim.CHUNK < 200
    np.testing.assert_allclose(opt.table, ref_w, rtol=0, atol=1e-6)
    assert np.array_equal(opt.m, ref_m) and np.array_equal(opt.v, ref_v)


def test_direct_liblinear_call_is_scikit_learns_linear_svc() -> None:
    pytest.importorskip("sklearn")
    from enigma_router import linear
    from sklearn.svm import LinearSVC

    texts, y, n_labels = _texts_and_labels()
    x = _matrices(texts)[0][0]
    weights = np.ones(n_labels)
    weights[1] = 3.0  # class balance weights reach liblinear as sklearn's class_weight
    for seed in (0, 1):
        w, b = linear.fit(x, y, n_labels, seed, weights=weights)
        svm = LinearSVC(
            C=linear.LINEAR_C,
            dual=True,
            random_state=seed,
            max_iter=linear.MAX_ITERATIONS,
            tol=linear.LINEAR_TOL,
            class_weight={k: float(weights[k]) for k in range(n_labels)},
        ).fit(x.astype(np.float64), y)
        assert np.array_equal(w, svm.coef_.T.astype(np.float32))
        assert np.array_equal(b, svm.intercept_.astype(np.float32))
    early = linear.fit(x, y, n_labels, 0, weights=weights, max_iter=1)
    assert not np.array_equal(early[0], w)  # max_iter reaches liblinear


LEAN = """
import sys
from enigma_router import linear
assert linear.available()
assert "sklearn.svm._liblinear" in sys.modules
assert "sklearn" not in sys.modules and "sklearn.svm" not in sys.modules  # no placeholder left
from sklearn.svm import LinearSVC, _liblinear  # the real package still imports afterwards
assert _liblinear is sys.modules["sklearn.svm._liblinear"]
import numpy as np
x = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
assert list(LinearSVC().fit(x, [0, 1, 0, 1]).predict(x)) == [0, 1, 0, 1]
print("ok")
"""


def test_lean_liblinear_import_leaves_scikit_learn_importable() -> None:
    pytest.importorskip("sklearn")
    done = subprocess.run(
        [sys.executable, "-c", LEAN], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
