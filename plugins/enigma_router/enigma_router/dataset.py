"""Labelled requests -> the sparse feature matrix the router trains on (numpy + scipy.sparse).

Each request is hashed once (:class:`~enigma_router.features.Hasher`); the vocabulary and idf
come from every request given (idf is label-free), then each request's rows and weights are
computed exactly as inference computes them (:meth:`Featurizer.doc`), so the matrix rows equal
the bags ``inference.py`` sums.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
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
    """CSR ``(len(docs), len(vocab))`` float32 matrix of the documents' weighted rows.

    Row ``i`` holds what :meth:`Featurizer.doc` gives ``docs[i]`` (the bag inference sums),
    computed for all documents at once: the word group by one vocabulary search over every
    document's word keys, the char group from each distinct word's rows and weights, computed
    once and gathered per word occurrence (``_matrix_by_doc`` is the per-document reference,
    used for piece n-grams).
    """
    from scipy.sparse import csr_matrix

    if any(d.piece_counts for d in docs) or not featurizer.use_chars():
        return _matrix_by_doc(docs, featurizer)
    vocab = featurizer.vocab
    n_docs = len(docs)
    w_doc, w_rows, w_data = _word_part(docs, vocab)
    c_doc, c_rows, c_data = _char_part(docs, featurizer)
    # each document's entries: its word group, then its char group (as Featurizer.doc orders them)
    n_word = np.bincount(w_doc, minlength=n_docs)
    n_char = np.bincount(c_doc, minlength=n_docs)
    indptr = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(n_word + n_char, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    data = np.empty(int(indptr[-1]), dtype=np.float32)
    w_at = indptr[w_doc] + _rank_in_group(w_doc, n_word)
    c_at = indptr[c_doc] + n_word[c_doc] + _rank_in_group(c_doc, n_char)
    indices[w_at], data[w_at] = w_rows, w_data
    indices[c_at], data[c_at] = c_rows, c_data
    x = csr_matrix((data, indices, indptr), shape=(n_docs, len(vocab)))
    x.sum_duplicates()  # a char n-gram shared by two words of a request becomes one entry
    return x


def _rank_in_group(group: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Position of each element within its run of equal, ascending ``group`` ids."""
    starts = np.zeros(len(sizes), dtype=np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    return np.arange(len(group), dtype=np.int64) - starts[group]


def _word_part(docs: Sequence[RawDoc], vocab: FeatureVocab) -> tuple[Any, Any, Any]:
    """``(doc, row, weight)`` of every known word n-gram, each document's group L2-normalised
    (float64 arithmetic as :meth:`FeatureVocab.weigh` and ``_normalised`` do it)."""
    counts = [d.word_counts for d in docs]
    lengths = np.fromiter(map(len, counts), dtype=np.int64, count=len(counts))
    total = int(lengths.sum())
    keys = np.fromiter(chain.from_iterable(counts), dtype=np.int64, count=total)
    tf = np.fromiter(chain.from_iterable(c.values() for c in counts), dtype=np.int64, count=total)
    doc = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    rows, known = _lookup(vocab.keys, keys)
    doc, rows, tf = doc[known], rows[known], tf[known]
    idf = vocab.idf.astype(np.float64)[rows]
    distinct = np.unique(tf)
    logs = np.array([math.log(int(k)) for k in distinct], dtype=np.float64)
    weight = np.where(tf > 1, (1.0 + logs[np.searchsorted(distinct, tf)]) * idf, idf)
    norm = np.sqrt(np.bincount(doc, weights=weight * weight, minlength=len(docs)))
    weight = np.where(norm[doc] > 0, weight / np.where(norm > 0, norm, 1.0)[doc], weight)
    return doc, rows, weight.astype(np.float32)


def _char_part(docs: Sequence[RawDoc], featurizer: Featurizer) -> tuple[Any, Any, Any]:
    """``(doc, row, weight)`` of every word occurrence's char n-grams, each document's group
    L2-normalised over its occurrences, as :meth:`Featurizer.doc` does."""
    ids: dict[str, int] = {}
    occurrences = [ids.setdefault(w, len(ids)) for d in docs for w in d.words]
    per_doc = np.fromiter((len(d.words) for d in docs), dtype=np.int64, count=len(docs))
    starts, lengths, rows, weights, sq = _word_chars(list(ids), featurizer)
    occ = np.asarray(occurrences, dtype=np.int64)
    occ_doc = np.repeat(np.arange(len(docs), dtype=np.int64), per_doc)
    doc_sq = np.bincount(occ_doc, weights=sq[occ], minlength=len(docs))
    with np.errstate(divide="ignore"):
        inv = (1.0 / np.sqrt(doc_sq)).astype(np.float32)
    keep = doc_sq[occ_doc] > 0
    occ, occ_doc = occ[keep], occ_doc[keep]
    n = lengths[occ]
    ends = np.cumsum(n)
    gather = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64)
    gather += np.repeat(starts[occ] - (ends - n), n)
    doc = np.repeat(occ_doc, n)
    return doc, rows[gather], weights[gather] * inv[doc]


def _word_chars(words: list[str], featurizer: Featurizer) -> tuple[Any, Any, Any, Any, Any]:
    """Each distinct word's known char rows in first-seen order with their weights
    ``(1 + ln count) * idf`` (float32) and squared norm, as :meth:`Featurizer.word_char`:
    ``(starts, lengths, rows, weights, sq)`` over the words' concatenated segments."""
    vocab, chars = featurizer.vocab, featurizer.hasher.chars
    grams = [chars(w) for w in words]
    per_word = np.fromiter(map(len, grams), dtype=np.int64, count=len(grams))
    keys = np.fromiter(chain.from_iterable(grams), dtype=np.int64, count=int(per_word.sum()))
    word = np.repeat(np.arange(len(words), dtype=np.int64), per_word)
    rows, known = _lookup(vocab.keys, keys)
    code = word[known] * len(vocab) + rows[known]
    _, first, counts = np.unique(code, return_index=True, return_counts=True)
    order = np.argsort(first, kind="stable")  # Counter order: first occurrence in the word
    pair = code[first[order]]
    word_of, row = pair // len(vocab), pair % len(vocab)
    c = counts[order].astype(np.float32)
    weights = (np.float32(1.0) + np.log(c)) * vocab.idf[row]
    lengths = np.bincount(word_of, minlength=len(words)).astype(np.int64)
    starts = np.zeros(len(words), dtype=np.int64)
    np.cumsum(lengths[:-1], out=starts[1:])
    sq = np.array(
        [
            float(np.dot(weights[a : a + m], weights[a : a + m]))
            for a, m in zip(starts, lengths, strict=True)
        ],
        dtype=np.float64,
    )
    return starts, lengths, row, weights, sq


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vocabulary rows of ``keys`` and whether each is known."""
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=np.int64), np.zeros(len(keys), dtype=bool)
    pos = np.searchsorted(sorted_keys, keys)
    pos[pos == len(sorted_keys)] = 0
    return pos, sorted_keys[pos] == keys


def _matrix_by_doc(docs: Sequence[RawDoc], featurizer: Featurizer) -> Any:
    """The reference: one :meth:`Featurizer.doc` call per document."""
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
