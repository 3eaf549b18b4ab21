"""Labelled requests -> the sparse feature matrix the router trains on (numpy + scipy.sparse).

Each request is hashed once (:class:`~enigma_router.features.Hasher`); the vocabulary and idf
come from every request given (idf is label-free), then each request's rows and weights are
computed exactly as inference computes them (:meth:`Featurizer.doc`), so the matrix rows equal
the bags ``inference.py`` sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from enigma_router.features import FeatureSpec, FeatureVocab, Featurizer, Hasher, RawDoc


def hash_texts(texts: Sequence[str], hasher: Hasher) -> list[RawDoc]:
    """Every request hashed (word keys counted, words kept for their char n-grams)."""
    return [hasher.raw(t) for t in texts]


def build_vocab(docs: Sequence[RawDoc], hasher: Hasher, spec: FeatureSpec) -> FeatureVocab:
    """Vocabulary (sorted keys) and smoothed idf over ``docs``."""
    return FeatureVocab.build((hasher.all_keys(d) for d in docs), spec.min_df, spec.max_features)


def matrix(docs: Sequence[RawDoc], featurizer: Featurizer) -> Any:
    """CSR ``(len(docs), len(vocab))`` float32 matrix of the documents' weighted rows."""
    from scipy.sparse import csr_matrix

    n_features = len(featurizer.vocab)
    parts = [featurizer.doc(d) for d in docs]
    lengths = np.fromiter((len(r) for r, _ in parts), dtype=np.int64, count=len(parts))
    indptr = np.zeros(len(parts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if parts and indptr[-1]:
        indices = np.concatenate([r for r, _ in parts]).astype(np.int32)
        data = np.concatenate([w for _, w in parts]).astype(np.float32, copy=False)
    else:
        indices, data = np.zeros(0, np.int32), np.zeros(0, np.float32)
    x = csr_matrix((data, indices, indptr), shape=(len(parts), n_features))
    x.sum_duplicates()  # a char n-gram shared by two words of a request becomes one entry
    return x
