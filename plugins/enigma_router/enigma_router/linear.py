"""The router's linear member: a one-vs-rest linear SVM on the router's features, solved exactly.

The MLP and a linear SVM on the same tf-idf n-grams make different mistakes; adding their scores
(each scaled to the same spread on the validation split) beat either alone on every benchmark
(docs/ROUTER_BENCHMARKS.md). Training the SVM by SGD inside the loop never reached the exact
optimum, and that optimum is what helps, so it is solved after training by liblinear (dual
coordinate descent, through scikit-learn: about a second for 10k requests). scikit-learn is a
training-only dependency (``enigma-router[train]``); inference reads the weights with numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

LINEAR_C = 1.0
"""liblinear's C (squared hinge, L2): scikit-learn's default, also the bench baseline's."""
LINEAR_TOL = 1e-3
"""liblinear's stopping tolerance: 1e-3 gave the same test accuracy as sklearn's 1e-4 on
banking77 (91.56 linear alone) in 30 % less time."""
MAX_ITERATIONS = 2000
"""liblinear's pass limit for the shipped member (scikit-learn's ``max_iter`` default is 1000)."""
CALIBRATION_ITERATIONS = 3
"""Passes of the member that only calibrates before the refit solves the shipped one exactly:
on banking77 its validation scores have 0.97 of the exact member's spread and the same argmax
on 96 % of requests, at 40 % of an exact solve's time (the first passes, over every example,
are most of a solve; later ones only visit the few support vectors)."""


def available() -> bool:
    """Whether scikit-learn's liblinear can be imported."""
    try:
        _liblinear()
    except ImportError:
        return False
    return True


def _liblinear() -> Any:
    """scikit-learn's compiled liblinear wrapper (``sklearn.svm._liblinear``), imported lean.

    ``import sklearn.svm`` costs about a second (scikit-learn's ``__init__`` pulls in
    ``scipy.stats`` and its parameter validation): a third of what training banking77 spends
    outside the network. The wrapper itself only needs two small compiled helpers of
    ``sklearn.utils``, so it is imported under placeholder parent packages that are removed
    again right after (a later ``import sklearn`` gets the real package and finds the same
    compiled modules). Anything unexpected falls back to the ordinary import.
    """
    import sys

    cached = sys.modules.get("sklearn.svm._liblinear")
    if cached is not None:
        return cached
    try:
        return _lean_import()
    except Exception:  # any layout surprise: the ordinary import decides
        from sklearn.svm import _liblinear as module

        return module


def _lean_import() -> Any:
    import importlib
    import importlib.util
    import sys
    import types
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("scikit-learn is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    placeholders = []
    for name, sub in (
        ("sklearn", root),
        ("sklearn.utils", root / "utils"),
        ("sklearn.svm", root / "svm"),
    ):
        if name in sys.modules:
            continue
        module = types.ModuleType(name)
        module.__path__ = [str(sub)]
        sys.modules[name] = module
        placeholders.append(name)
    try:
        return importlib.import_module("sklearn.svm._liblinear")
    finally:
        for name in placeholders:
            sys.modules.pop(name, None)


_SOLVER_L2R_L2LOSS_SVC_DUAL = 1
"""liblinear's ``-s 1``: L2-regularised squared hinge, dual coordinate descent (what
scikit-learn's ``LinearSVC(dual=True)`` runs)."""


def fit(
    x: Any,
    targets: np.ndarray,
    n_labels: int,
    seed: int = 0,
    c: float = LINEAR_C,
    weights: np.ndarray | None = None,
    max_iter: int = MAX_ITERATIONS,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest squared-hinge linear SVM on the sparse feature matrix ``x`` (CSR).

    ``weights`` (per label) multiplies C for that label's examples in its one-vs-rest problem
    (class balance, ``trainer.class_repeats``). Returns ``weight (n_features, n_labels)`` and
    ``bias (n_labels,)`` float32; a label with no example scores -1 everywhere.

    Calls liblinear exactly as ``LinearSVC(C=c, dual=True, tol=LINEAR_TOL, max_iter=2000,
    random_state=seed, class_weight=...)`` does (same solver, seed, bias term and class
    weights: the same solution), on the float32 matrix as it is (liblinear reads float32 and
    float64 alike into its own doubles, so no float64 copy is made).
    """
    weight = np.zeros((x.shape[1], n_labels), dtype=np.float32)
    bias = np.full(n_labels, -1.0, dtype=np.float32)
    targets = np.asarray(targets, dtype=np.int64)
    classes, y_ind = np.unique(targets, return_inverse=True)
    if len(classes) < 2:
        return weight, bias
    class_weight = np.ones(len(classes), dtype=np.float64)
    if weights is not None:
        class_weight = np.asarray(weights, dtype=np.float64)[classes].copy()
    ll = _liblinear()
    ll.set_verbosity_wrap(0)
    x = _csr32(x)
    raw, _ = ll.train_wrap(
        x,
        np.ascontiguousarray(y_ind, dtype=np.float64),
        True,
        _SOLVER_L2R_L2LOSS_SVC_DUAL,
        LINEAR_TOL,
        1.0,  # bias term: a constant feature 1 (scikit-learn's intercept_scaling)
        c,
        class_weight,
        max_iter,
        np.random.RandomState(seed).randint(np.iinfo("i").max),
        0.1,  # epsilon: unused by this solver
        np.ones(x.shape[0], dtype=np.float64),
    )
    coef, intercept = raw[:, :-1], raw[:, -1]
    if len(classes) == 2:  # liblinear returns one decision function for two classes
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]])
    weight[:, classes] = coef.T
    bias[classes] = intercept
    return weight, bias


def _csr32(x: Any) -> Any:
    """``x`` as CSR with float32 data and int32 indices (what liblinear's wrapper reads)."""
    from scipy.sparse import csr_matrix

    x = csr_matrix(x)
    if x.data.dtype not in (np.float32, np.float64):
        x = x.astype(np.float32)
    if x.indices.dtype != np.int32 or x.indptr.dtype != np.int32:
        x = csr_matrix(
            (x.data, x.indices.astype(np.int32), x.indptr.astype(np.int32)), shape=x.shape
        )
    return x


def scores(x: Any, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Decision values ``(n, n_labels)`` of a fitted member on the sparse matrix ``x``."""
    return np.asarray(x @ weight, dtype=np.float32) + bias


def spread_ratio(mlp_logits: np.ndarray, linear_scores: np.ndarray) -> float:
    """``beta`` giving the linear scores the MLP logits' spread (std over the validation split)."""
    s = float(np.std(linear_scores))
    return float(np.std(mlp_logits)) / s if s > 0 else 0.0
