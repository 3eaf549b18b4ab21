"""The router's linear member: a one-vs-rest linear SVM on the router's features, solved exactly.

The MLP and a linear SVM on the same tf-idf n-grams make different mistakes; adding their scores
(each scaled to the same spread on the validation split) beat either alone on every benchmark
(docs/ROUTER_BENCHMARKS.md). Training the SVM by SGD inside the loop never reached the exact
optimum, and that optimum is what helps, so it is solved after training by liblinear (dual
coordinate descent, through scikit-learn: about a second for 10k requests). scikit-learn is a
training-only dependency (``enigma-router[train]``); inference reads the weights with numpy.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

LINEAR_C = 1.0
"""liblinear's C (squared hinge, L2): scikit-learn's default, also the bench baseline's."""
LINEAR_TOL = 1e-3
"""liblinear's stopping tolerance: 1e-3 gave the same test accuracy as sklearn's 1e-4 on
banking77 (91.56 linear alone) in 30 % less time."""


def available() -> bool:
    """Whether scikit-learn (liblinear) can be imported."""
    try:
        import sklearn.svm  # noqa: F401
    except ImportError:
        return False
    return True


def fit(
    x: Any,
    targets: np.ndarray,
    n_labels: int,
    seed: int = 0,
    c: float = LINEAR_C,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One-vs-rest squared-hinge linear SVM on the sparse feature matrix ``x`` (CSR).

    ``weights`` (per label) multiplies C for that label's examples in its one-vs-rest problem
    (class balance, ``trainer.class_repeats``). Returns ``weight (n_features, n_labels)`` and
    ``bias (n_labels,)`` float32; a label with no example scores -1 everywhere.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    weight = np.zeros((x.shape[1], n_labels), dtype=np.float32)
    bias = np.full(n_labels, -1.0, dtype=np.float32)
    classes = np.unique(targets)
    if len(classes) < 2:
        return weight, bias
    class_weight = None
    if weights is not None and float(np.max(weights[classes])) > 1.0:
        class_weight = {int(k): float(weights[k]) for k in classes}
    svm = LinearSVC(
        C=c,
        dual=True,
        random_state=seed,
        max_iter=2000,
        tol=LINEAR_TOL,
        class_weight=class_weight,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svm.fit(x.astype(np.float64), targets)
    coef, intercept = svm.coef_, svm.intercept_
    if len(classes) == 2:  # liblinear returns one decision function for two classes
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]])
    for j, label in enumerate(svm.classes_):
        weight[:, int(label)] = coef[j]
        bias[int(label)] = intercept[j]
    return weight, bias


def scores(x: Any, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Decision values ``(n, n_labels)`` of a fitted member on the sparse matrix ``x``."""
    return np.asarray(x @ weight, dtype=np.float32) + bias


def spread_ratio(mlp_logits: np.ndarray, linear_scores: np.ndarray) -> float:
    """``beta`` giving the linear scores the MLP logits' spread (std over the validation split)."""
    s = float(np.std(linear_scores))
    return float(np.std(mlp_logits)) / s if s > 0 else 0.0
