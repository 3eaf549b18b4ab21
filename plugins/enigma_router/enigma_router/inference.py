"""Router inference in numpy only (no torch): load a model directory and classify requests.

The forward pass mirrors training (``network.py`` + the linear member): hashed n-gram features
-> weighted sum of rows of one table ``[MLP | linear]`` -> ReLU -> output layer (+ the linear
scores) -> softmax at the calibrated temperature. An unsure answer (confidence under the
threshold, or top-2 margin too small) becomes ``oos``.

Loading maps ``model.safetensors`` (float16 table, sorted int64 n-gram keys) without copying or
converting it, and parses ``config.json``; the labels, features and calibration inference uses
are the ones stored inside the weights file, and a ``config.json`` that disagrees is refused.
N-gram keys are found by binary search in the mapped key array (no dictionary is built); each
word's summed char n-gram rows are computed on first sight and cached, so a request costs a
regex, a few CRC-32s, one search and a few small gathers.
"""

from __future__ import annotations

import math
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from enigma_core.errors import EnigmaError
from enigma_core.training.meta import WEIGHTS_FILE, check_tokenizer
from enigma_router.features import (
    _BOS_CRC,
    _EOS_TAIL,
    CACHE_KEY_CHARS,
    CACHE_LIMIT,
    GROUP_WORD,
    WORD_RE,
    FeatureSpec,
    FeatureVocab,
    Featurizer,
    Hasher,
    char_keys,
    tokens,
)
from enigma_router.purepy import OOS, Calibration, decision, read_config

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer

_KEY_BITS = 36  # n-gram keys are group << 32 | crc32 (group < 16): below 2**36
_MAX_DOCS = 1 << 20  # requests per packed batch: key << doc bits must stay below 2**63
Alternatives = list[tuple[str, float]]
Result = tuple[str, float, Alternatives]
REQUIRED = ("feat_keys", "feat_idf", "table", "bag_bias", "out_weight", "out_bias")


def _older(path: Path) -> EnigmaError:
    return EnigmaError(
        f"{path}: trained by an older enigma-router (before the numpy trainer); retrain it "
        "with 'enigma train router' (seconds)"
    )


SPARSE_MIN_DOCS = 64
"""Batches of at least this many requests sum their rows with scipy.sparse when it is installed
(the ``train`` extra): its C loop reads each row once with no per-request temporary (1.24x the
whole ``classify_batch`` on banking77's test set); smaller batches are not worth its import."""
_SPARSE: list[Any] = []


def _scipy_sparse() -> Any | None:
    """The ``scipy.sparse`` module, or None without scipy (imported once, on first batch)."""
    if not _SPARSE:
        try:
            import scipy.sparse as sparse
        except ImportError:
            sparse = None
        _SPARSE.append(sparse)
    return _SPARSE[0]


def _segment_dot(
    values: np.ndarray,
    doc: np.ndarray,
    n: int,
    w: np.ndarray | None,
    rows: np.ndarray,
    rows_sorted: bool = False,
) -> np.ndarray:
    """Per document ``sum_j w_j values[rows_j]`` over its entries (``w`` None: weights 1);
    zeros for documents without rows. Entries come sorted by ``doc``, or by ``rows`` when
    ``rows_sorted``. Batches (see :data:`SPARSE_MIN_DOCS`) multiply a sparse ``(n,
    len(values))`` matrix by ``values`` (CSC when sorted by row: each row is read once, in
    memory order); else one small gather and dot per document. Never a batch-sized gather."""
    sparse = _scipy_sparse() if n >= SPARSE_MIN_DOCS else None
    weights = np.ones(len(rows), np.float32) if w is None else w
    shape = (n, values.shape[0])
    if sparse is not None and rows_sorted:
        indptr = np.zeros(values.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=values.shape[0]), out=indptr[1:])
        return np.asarray(sparse.csc_matrix((weights, doc, indptr), shape) @ values, np.float32)
    if rows_sorted:
        order = np.argsort(doc, kind="stable")
        doc, rows, weights = doc[order], rows[order], weights[order]
    bounds = np.searchsorted(doc, np.arange(n + 1))
    if sparse is not None:
        return np.asarray(sparse.csr_matrix((weights, rows, bounds), shape) @ values, np.float32)
    out = np.zeros((n, values.shape[1]), dtype=np.float32)
    bounds = bounds.tolist()
    for i in range(n):
        s, e = bounds[i], bounds[i + 1]
        if e > s:
            out[i] = weights[s:e] @ values[rows[s:e]]
    return out


def _room_for(rows: np.ndarray, n: int) -> np.ndarray:
    """``rows`` (a per-word cache matrix) with room for row ``n``: doubled when full."""
    if n < rows.shape[0]:
        return rows
    grown = np.zeros((2 * rows.shape[0], rows.shape[1]), dtype=rows.dtype)
    grown[:n] = rows[:n]
    return grown


class RouterModel:
    """A loaded router: mapped weights, feature keys, labels and calibration."""

    def __init__(
        self,
        meta: dict[str, Any],
        tensors: dict[str, np.ndarray],
        tokenizer: SharedTokenizer | None,
        *,
        threshold: float | None = None,
        margin: float | None = None,
        temperature: float | None = None,
        where: str = "router",
    ) -> None:
        """Wrap already-read ``config.json`` and weights; overrides replace calibrated knobs."""
        self.meta = meta
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        router = meta["router"]
        self.spec = FeatureSpec.from_dict(router["features"])
        self.calibration = Calibration.from_dict(router.get("calibration"))
        if threshold is not None:
            self.calibration.threshold = float(threshold)
        if margin is not None:
            self.calibration.margin = float(margin)
        if temperature is not None:
            self.calibration.temperature = float(temperature)
        self.tokenizer = tokenizer
        self.hasher = Hasher(self.spec)
        self.keys = tensors["feat_keys"]
        self.idf = tensors["feat_idf"]
        self.table = tensors["table"]  # (n_features, members * hidden [+ n_labels]), float16
        self.emb_bias = np.asarray(tensors["bag_bias"], dtype=np.float32)
        hidden = self.emb_bias.shape[0]
        self.has_linear = self.table.shape[1] > hidden
        out_w = np.asarray(tensors["out_weight"], dtype=np.float32)  # (members, hidden, labels)
        self.out_w = np.ascontiguousarray(out_w.reshape(-1, out_w.shape[-1]) / out_w.shape[0])
        self.out_b = np.asarray(tensors["out_bias"], dtype=np.float32).mean(axis=0)
        zeros = np.zeros(len(self.labels), dtype=np.float32)
        self.linear_bias = np.asarray(tensors.get("linear_bias", zeros), dtype=np.float32)
        self._linear_weight = np.float32(tensors.get("linear_weight", np.float32(1.0)))
        self.width = self.table.shape[1]
        # float32 copies of the rows used so far (pages of this buffer are only touched as rows
        # are used, so loading converts nothing; converting a row once beats every gather)
        self._f32 = np.empty(self.table.shape, dtype=np.float32)
        self._have = np.zeros(self.table.shape[0], dtype=bool)
        self._zero = np.zeros(self.width, dtype=np.float32)
        self._chars = self.spec.char_max >= self.spec.char_min > 0
        self._lock = threading.Lock()
        self._wid: dict[str, int] = {}
        self._wq: list[float] = []
        self._wv = np.zeros((256, self.width), dtype=np.float32)
        self._winfo: dict[str, tuple[int, bytes, int]] = {}
        self._krow: dict[int, tuple[int, float] | None] = {}
        self._fast_one = self.spec.word_n == 2 and self.spec.boundaries and self.spec.piece_n <= 0
        self._bias_ext = np.concatenate([self.emb_bias, np.zeros(self.width - hidden, np.float32)])
        self._fold_head()
        self.known_labels = tuple(label for label in self.labels if label != OOS)
        self._label_array = np.array(self.labels, dtype=object)
        self._featurizer: Featurizer | None = None
        self.oos_index = self.labels.index(OOS) if OOS in self.labels else -1
        self.hidden_size = hidden
        # training examples' unit hidden vectors (float16, sorted by label) and their texts
        self.ex_vectors = tensors.get("ex_vectors")
        self.ex_offsets = tensors.get("ex_offsets")
        centre = tensors.get("ex_centre")  # absent in routers trained before: 0 (not centred)
        self.ex_centre = None if centre is None else np.asarray(centre, dtype=np.float32)
        if self.ex_centre is not None and self.ex_centre.shape != (len(self.labels),):
            raise EnigmaError(f"{where}: router 'ex_centre' has the wrong shape (retrain)")
        self._ex_text = tensors.get("ex_text")
        self._ex_ends = tensors.get("ex_text_ends")
        self._ex32: np.ndarray | None = None
        # static word vectors (vectors.py): checked against the table the router was trained with
        self.vectors = None
        info = router.get("vectors")
        if info:
            from enigma_router import vectors

            if "vec_table" not in tensors:
                raise EnigmaError(f"{where}: router weights lack 'vec_table' (retrain)")
            self.vectors = vectors.load_for(info, where)
            self.vec_table = np.asarray(tensors["vec_table"], dtype=np.float32)
            if self.vec_table.shape != (self.vectors.dims, self.width):
                raise EnigmaError(f"{where}: router 'vec_table' has the wrong shape (retrain)")
            self._vec_rows = self.vectors.array()  # float16 rows, summed as float32
            self._vec_zero = np.zeros(self.vectors.dims, dtype=np.float32)
            # per part of a request (_vec_parts): its pieces' rows summed (float32)
            self._vid: dict[str, int] = {}
            self._vs = np.zeros((256, self.vectors.dims), dtype=np.float32)

    @property
    def linear_weight(self) -> np.float32:
        """The linear member's weight in the logits (setting it refolds the head)."""
        return self._linear_weight

    @linear_weight.setter
    def linear_weight(self, value: float) -> None:
        self._linear_weight = np.float32(value)
        self._fold_head()

    def _fold_head(self) -> None:
        """The head as one product: ``[relu(acc[:hidden] + bias), acc[hidden:]] @ _w2 + _b2``
        (``_w2`` stacks ``out_w`` over ``linear_weight * I``)."""
        if self.has_linear:
            eye = np.eye(len(self.labels), dtype=np.float32) * self._linear_weight
            self._w2 = np.ascontiguousarray(np.concatenate([self.out_w, eye]))
            self._b2 = self.out_b + self._linear_weight * self.linear_bias
        else:
            self._w2, self._b2 = self.out_w, self.out_b

    @classmethod
    def load(
        cls,
        model_dir: str | Path,
        tokenizer: SharedTokenizer | Callable[[], SharedTokenizer] | None = None,
        *,
        threshold: float | None = None,
        margin: float | None = None,
        temperature: float | None = None,
    ) -> RouterModel:
        """Load ``model_dir`` (mapped, see module doc); refuses a ``config.json`` the weights
        disagree with, and another tokenizer than the one given (a callable is asked only when
        the model uses tokenizer pieces: the default features never do)."""
        from enigma_core.training.modeldir import check_protected, committed_dir, embedded
        from enigma_core.training.weights import open_weights

        directory = committed_dir(model_dir)
        meta = read_config(directory)
        weights = directory / WEIGHTS_FILE
        if not weights.is_file():
            raise EnigmaError(f"{weights}: weights file not found")
        wf = open_weights(weights)
        stored = embedded(wf.metadata, weights)
        if stored is None or "table" not in wf.arrays:
            raise _older(weights)
        check_protected(meta, stored, directory)
        missing = sorted(set(REQUIRED) - set(wf.arrays))
        if missing:
            raise EnigmaError(f"{weights}: not router weights (missing {missing})")
        uses_pieces = int(meta["router"]["features"].get("piece_n", 0)) > 0
        if callable(tokenizer):
            tokenizer = tokenizer() if uses_pieces else None
        if tokenizer is None and uses_pieces:
            from enigma_core.tokenizer import load_default

            tokenizer = load_default()
        if tokenizer is not None:
            check_tokenizer(meta, tokenizer, str(directory))
        return cls(
            meta,
            wf.arrays,
            tokenizer,
            threshold=threshold,
            margin=margin,
            temperature=temperature,
            where=str(directory),
        )

    @property
    def featurizer(self) -> Featurizer:
        """The training-side featurizer over this model's vocabulary (builds a key index once)."""
        if self._featurizer is None:
            self._featurizer = Featurizer(self.spec, FeatureVocab(self.keys, self.idf), self.hasher)
        return self._featurizer

    # -- features ------------------------------------------------------------------------------
    def _find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``keys`` in the sorted key array and which of them exist."""
        pos = np.searchsorted(self.keys, keys)
        pos[pos >= len(self.keys)] = 0
        return pos, self.keys[pos] == keys

    def rows32(self, rows: np.ndarray) -> np.ndarray:
        """``table[rows]`` as float32, converting each row from float16 once."""
        self.convert(rows)
        return self._f32[rows]

    def convert(self, rows: np.ndarray) -> None:
        """Make sure ``_f32`` holds ``rows`` (thread-safe: a row's floats are written before
        its flag, and racing writers write the same values)."""
        new = rows[~self._have[rows]]
        if len(new):
            self._f32[new] = self.table[new]
            self._have[new] = True

    def _pieces(self, text: str) -> list[int]:
        if self.spec.piece_n <= 0 or self.tokenizer is None:
            return []
        return self.tokenizer.encode(text, prefix_space=True)

    def _word_vector(self, word: str) -> tuple[np.ndarray, float]:
        """``(sum_r w_r table[r], sum_r w_r^2)`` over a word's char n-grams (not cached; its
        keys are not kept either: the word-vector cache holds the result)."""
        keys = char_keys(word, self.spec)
        if not keys:
            return self._zero, 0.0
        pos, found = self._find(np.array(keys, dtype=np.int64))
        rows, counts = np.unique(pos[found], return_counts=True)
        if not len(rows):
            return self._zero, 0.0
        w = self.idf[rows] * (1.0 + np.log(counts.astype(np.float32)))
        vec = w @ self.rows32(rows)
        return vec, float(np.dot(w, w))

    def _word_id(self, word: str) -> int:
        """Row of ``word`` in the cached word-vector matrix, added on first sight; -1 when the
        cache is full or the word is longer than ``CACHE_KEY_CHARS`` (never cached). Thread-safe:
        a row is written before its id is published."""
        got = self._wid.get(word)
        if got is not None:
            return got
        if len(word) > CACHE_KEY_CHARS:
            return -1
        with self._lock:
            got = self._wid.get(word)
            if got is not None:
                return got
            n = len(self._wq)
            if n >= CACHE_LIMIT:
                return -1
            self._wv = _room_for(self._wv, n)
            vec, sq = self._word_vector(word)
            self._wv[n] = vec
            self._wq.append(sq)
            self._wid[word] = n
            return n

    def _word_part(self, counts: Counter[int]) -> np.ndarray:
        """``sum_i w_i table[row_i]`` of the word (and piece) n-grams, each group normalised."""
        if not counts:
            return self._zero.copy()
        pos, found = self._find(np.fromiter(counts.keys(), np.int64, len(counts)))
        if not found.any():
            return self._zero.copy()
        rows = pos[found]
        c = np.fromiter(counts.values(), np.float32, len(counts))[found]
        w = self.idf[rows] * (1.0 + np.log(c))
        w *= np.float32(1.0 / math.sqrt(float(np.dot(w, w))))
        return w @ self.rows32(rows)

    def bag_sum(self, text: str) -> np.ndarray:
        """``sum_i w_i * table[row_i]`` of one request's n-grams (:meth:`_ngram_sum`), plus its
        unit word vector times ``vec_table`` when the router uses word vectors."""
        acc = self._ngram_sum(text)
        if self.vectors is not None:
            acc += self._vec_unit(text) @ self.vec_table
        return acc

    def bag_sums(self, texts: Sequence[str]) -> np.ndarray:
        """:meth:`bag_sum` of many requests at once (:meth:`_ngram_sums` + word vectors)."""
        if self.vectors is None or not len(texts):
            return self._ngram_sums(texts)
        docs = None
        if self.spec.lowercase:  # the router tokens both parts split requests into
            docs = list(map(WORD_RE.findall, map(str.lower, texts)))
        out = self._ngram_sums(texts, docs)
        out += self._vec_units(texts, docs) @ self.vec_table
        return out

    def _vec_id(self, token: str) -> int:
        """Row in ``_vs`` of the summed WordPiece rows of ``basic_words(token)``, added on first
        sight; -1 when the cache is full or the part is longer than ``CACHE_KEY_CHARS``. A
        request's vector is the sum over its parts (see :meth:`_vec_parts`). Thread-safe as
        :meth:`_word_id`: a row is written before its id is published."""
        got = self._vid.get(token)
        if got is not None:
            return got
        if len(token) > CACHE_KEY_CHARS:
            return -1
        with self._lock:
            got = self._vid.get(token)
            if got is not None:
                return got
            n = len(self._vid)
            if n >= CACHE_LIMIT:
                return -1
            self._vs = _room_for(self._vs, n)
            self._vs[n] = self._part_sum(token)
            self._vid[token] = n
            return n

    def _part_sum(self, token: str) -> np.ndarray:
        """The float32 sum of the WordPiece rows of ``basic_words(token)`` (not cached)."""
        from enigma_router.vectors import basic_words

        word = self.vectors.wordpiece.word
        ids = [i for w in basic_words(token) for i in word(w)]
        return self._vec_rows[ids].astype(np.float32).sum(axis=0)

    def _vec_unit(self, text: str) -> np.ndarray:
        """A request's unit word vector (float32): the sum of its pieces' rows (summed per
        cached part: :meth:`_vec_parts`), normalised."""
        v = None
        parts = self._vec_parts(text)
        rows = list(map(self._vid.get, parts))
        if None in rows:
            rows = [self._vec_id(t) if r is None else r for r, t in zip(rows, parts, strict=True)]
        if -1 not in rows:
            if not rows:
                return self._vec_zero
            v = np.add.reduce(self._vs[rows], axis=0)
        else:  # cache full, or a part too long to cache: the whole request's pieces
            pieces = self.vectors.ids(text)  # (a request without pieces has no parts)
            if not pieces:
                return self._vec_zero
            v = self._vec_rows[pieces].astype(np.float32).sum(axis=0)
        norm = math.sqrt(float(np.dot(v, v)))
        return v * np.float32(1.0 / norm) if norm > 0 else v

    @staticmethod
    def _vec_parts(text: str) -> list[str]:
        """The parts a request's word vector is summed over, each cached (:meth:`_vec_id`):
        the basic words of the text are those of its parts in turn. A plain-ASCII request
        (``vectors.plain_ascii``) is cut into its router tokens (``WORD_RE`` over the lower-
        cased text, as the n-gram part does); any other at whitespace
        (``vectors.whitespace_parts``, the basic tokeniser's first cut)."""
        from enigma_router.vectors import plain_ascii, whitespace_parts

        return WORD_RE.findall(text.lower()) if plain_ascii(text) else whitespace_parts(text)

    def _vec_units(self, texts: Sequence[str], docs: list[list[str]] | None) -> np.ndarray:
        """Unit word vectors ``(len(texts), dims)`` of many requests, summed over their parts'
        cached rows (:meth:`_vec_parts`; ``docs``: the router tokens of the lower-cased
        requests when the n-gram part has them). A part too long to cache is summed once for
        the batch (:meth:`_part_sum`); requests with a part past the full cache go through
        ``StaticVectors.units``."""
        from enigma_router.vectors import plain_ascii, whitespace_parts

        n = len(texts)
        odd: list[int] = []
        if docs is None:
            docs = list(map(self._vec_parts, texts))
        elif not plain_ascii("\n".join(texts)):  # (one check for the whole batch)
            docs = [
                d if plain_ascii(t) else whitespace_parts(t)
                for d, t in zip(docs, texts, strict=True)
            ]
        flat = list(chain.from_iterable(docs))
        get = self._vid.get
        rows = list(map(get, flat))
        if None in rows:
            rows = [self._vec_id(t) if r is None else r for r, t in zip(rows, flat, strict=True)]
        per = np.fromiter(map(len, docs), dtype=np.int64, count=n)
        doc = np.repeat(np.arange(n, dtype=np.int64), per)
        idx = np.array(rows, dtype=np.int64)
        extra = None
        if len(idx) and idx.min() < 0:
            miss = np.flatnonzero(idx < 0).tolist()
            if len(self._vid) < CACHE_LIMIT:  # parts too long to cache: summed for this batch
                once = {t: self._part_sum(t) for t in {flat[i] for i in miss}}
                extra = (doc[miss], np.array([once[flat[i]] for i in miss], dtype=np.float32))
                keep = idx >= 0
            else:  # a part past the full cache: those requests go the long way
                full = np.unique(doc[miss])
                odd = sorted({*odd, *full.tolist()})
                keep = ~np.isin(doc, full)
            doc, idx = doc[keep], idx[keep]
        if len(idx):
            out = _segment_dot(self._vs, doc, n, None, idx)
        else:
            out = np.zeros((n, self._vs.shape[1]), dtype=np.float32)
        if extra is not None:
            np.add.at(out, extra[0], extra[1])
        norm = np.sqrt(np.einsum("ij,ij->i", out, out))
        np.divide(out, norm[:, None], out=out, where=norm[:, None] > 0)
        if odd:
            out[odd] = self.vectors.units([texts[i] for i in odd])
        return out

    def _ngram_sum(self, text: str) -> np.ndarray:
        """``sum_i w_i * table[row_i]`` of one request, exactly as training's features: word
        rows are gathered, the char group is a sum of cached per-word vectors. The default
        features take :meth:`_bag_sum_one` (few numpy calls: they cost more than the sums)."""
        if self._fast_one:
            return self._bag_sum_one(text)
        return self._bag_sum_any(text)

    def _bag_sum_one(self, text: str) -> np.ndarray:
        """:meth:`bag_sum` for word bigrams with boundaries: each word n-gram's row and idf
        from a dict (one key search for the unseen ones), the weights in Python floats, then
        one product for the word rows and one for the cached word vectors."""
        words = tokens(text, self.spec.lowercase)
        if not words:
            return self._zero.copy()
        cache, info_of, crc32 = self._winfo, self._word_info, zlib.crc32
        crcs, spaced, wids = zip(*[cache.get(w) or info_of(w) for w in words], strict=True)
        if self._chars and -1 in wids:  # word-vector cache full, or a word too long to cache
            return self._bag_sum_any(text)
        keys = [*crcs, *map(crc32, spaced[1:], crcs)]
        keys.append(crc32(spaced[0], _BOS_CRC))
        keys.append(crc32(_EOS_TAIL, crcs[-1]))
        krow, uniq = self._krow, set(keys)
        if not krow.keys() >= uniq:
            krow = self._resolve(uniq)
        if len(uniq) == len(keys):
            found = [f for f in map(krow.__getitem__, keys) if f is not None]
        else:
            found = [
                (f[0], f[1] * (1.0 + math.log(c)))
                for f, c in ((krow[k], c) for k, c in Counter(keys).items())
                if f is not None
            ]
        if found:
            inv = 1.0 / math.sqrt(sum([w * w for _, w in found]))
            w = np.array([w * inv for _, w in found], dtype=np.float32)
            acc = w @ self._f32[[r for r, _ in found]]
        else:
            acc = self._zero.copy()
        if self._chars:
            wq = self._wq
            sq = sum([wq[i] for i in wids])
            if sq > 0:
                char = np.add.reduce(self._wv[list(wids)], axis=0)
                char *= np.float32(1.0 / math.sqrt(sq))
                acc += char
        return acc

    def _resolve(self, crcs: set[int]) -> dict[int, tuple[int, float] | None]:
        """The single-request dict with the row and idf of every word n-gram CRC in ``crcs``
        (None: not a feature); their float32 rows are converted first. A full dict is replaced,
        not cleared (another thread may be reading it)."""
        krow = self._krow
        if len(krow) + len(crcs) > 4 * CACHE_LIMIT:
            krow = {}
        new = [k for k in crcs if k not in krow]
        pos, found = self._find(np.array(new, dtype=np.int64) | (GROUP_WORD << 32))
        self.convert(pos[found])
        idf = self.idf[pos].tolist()
        for k, p, f, w in zip(new, pos.tolist(), found.tolist(), idf, strict=True):
            krow[k] = (p, w) if f else None
        self._krow = krow
        return krow

    def _bag_sum_any(self, text: str) -> np.ndarray:
        """:meth:`bag_sum` for any feature spec."""
        words = tokens(text, self.spec.lowercase)
        acc = self._word_part(self.hasher.word_keys(words))
        pieces = self._pieces(text)
        if pieces:
            from enigma_router.features import piece_keys

            acc += self._word_part(piece_keys(pieces, self.spec))
        if not (self._chars and words):
            return acc
        ids = [self._word_id(w) for w in words]
        if -1 in ids:  # cache full: the words without a row are summed on the fly
            extra = [self._word_vector(w) for w, i in zip(words, ids, strict=True) if i < 0]
            ids = [i for i in ids if i >= 0]
            uncached = np.sum([v for v, _ in extra], axis=0)
            sq = sum(q for _, q in extra)
        else:
            uncached, sq = None, 0.0
        wq = self._wq
        sq += sum([wq[i] for i in ids])
        if sq > 0:
            char = self._wv[ids].sum(axis=0) if ids else self._zero.copy()
            if uncached is not None:
                char += uncached
            acc += char * np.float32(1.0 / math.sqrt(sq))
        return acc

    def _ngram_sums(self, texts: Sequence[str], docs: list[list[str]] | None = None) -> np.ndarray:
        """:meth:`bag_sum` of many requests at once: one key search and one gather per batch
        (``docs``: the requests' tokens when the caller has them)."""
        n = len(texts)
        out = np.zeros((n, self.width), dtype=np.float32)
        if self.spec.piece_n > 0 and self.tokenizer is not None:
            for i, t in enumerate(texts):
                out[i] = self._ngram_sum(t)
            return out
        if self.spec.word_n != 2 or not self.spec.boundaries:
            return self._bag_sums_general(texts, out)
        if n > _MAX_DOCS:
            for s in range(0, n, _MAX_DOCS):
                out[s : s + _MAX_DOCS] = self._ngram_sums(texts[s : s + _MAX_DOCS])
            return out
        if docs is None:
            find = WORD_RE.findall
            docs = list(map(find, map(str.lower, texts) if self.spec.lowercase else texts))
        flat = list(chain.from_iterable(docs))
        if not flat:
            return out
        cache, info_of, crc32 = self._winfo, self._word_info, zlib.crc32
        infos = [cache.get(w) or info_of(w) for w in flat]
        # (not zip(*infos): one iterator object per word, and the garbage collector's full
        # passes they trigger, cost a fifth of the batch)
        crcs, spaced, wids = (list(map(itemgetter(j), infos)) for j in range(3))
        extra = None
        if self._chars and -1 in wids:  # a word without a cache row (too long, or cache full)
            if len(self._wq) >= CACHE_LIMIT:  # cache full: request by request
                return self._bag_sums_loop(texts, out)
            missing = np.flatnonzero(np.array(wids, dtype=np.int64) < 0).tolist()
            once = {w: self._word_vector(w) for w in {flat[i] for i in missing}}
            extra = {i: once[flat[i]] for i in missing}
        # every request's words in one row: unigrams, bigrams within a request (each continues
        # its first word's CRC), the boundary bigrams of each non-empty request
        per_doc = np.fromiter(map(len, docs), dtype=np.int64, count=n)
        ids = np.arange(n, dtype=np.int64)
        tok_doc = np.repeat(ids, per_doc)
        inside = tok_doc[1:] == tok_doc[:-1]
        ends = np.cumsum(per_doc)[per_doc > 0]
        firsts = (ends - per_doc[per_doc > 0]).tolist()
        keys = np.concatenate(
            [
                np.array(crcs, dtype=np.int64),
                np.fromiter(map(crc32, spaced[1:], crcs), np.int64, len(flat) - 1)[inside],
                np.array([crc32(spaced[i], _BOS_CRC) for i in firsts], dtype=np.int64),
                np.array([crc32(_EOS_TAIL, crcs[i - 1]) for i in ends.tolist()], np.int64),
            ]
        )
        filled = ids[per_doc > 0]
        key_doc = np.concatenate([tok_doc, tok_doc[1:][inside], filled, filled])
        return self._sum_keys(out, keys, key_doc, wids, tok_doc, extra)

    def _bag_sums_loop(self, texts: Sequence[str], out: np.ndarray) -> np.ndarray:
        """:meth:`bag_sums` when the word-vector cache is full: the requests with a word
        outside it are summed on their own."""
        n = len(texts)
        lower, chars = self.spec.lowercase, self._chars
        cache, info_of, crc32 = self._winfo, self._word_info, zlib.crc32
        keys: list[int] = []  # word n-gram CRCs, request after request (2 * words + 1 each)
        ids: list[int] = []  # word-vector cache rows (one per word)
        lengths = [0] * n  # words of each request (0: empty, or summed on its own)
        for i, text in enumerate(texts):
            words = tokens(text, lower)
            if not words:
                continue
            crcs, spaced, wids = zip(*[cache.get(w) or info_of(w) for w in words], strict=True)
            if chars and -1 in wids:  # cache full: this request is summed on its own
                out[i] = self._ngram_sum(text)
                continue
            lengths[i] = len(words)
            keys += crcs  # unigrams, then bigrams (each continues its first word's CRC)
            keys += map(crc32, spaced[1:], crcs)
            keys.append(crc32(spaced[0], _BOS_CRC))
            keys.append(crc32(_EOS_TAIL, crcs[-1]))
            ids += wids
        if not keys:
            return out
        per_doc = np.array(lengths, dtype=np.int64)
        docs = np.arange(n, dtype=np.int64)
        key_doc = np.repeat(docs, 2 * per_doc + (per_doc > 0))
        return self._sum_keys(
            out, np.array(keys, dtype=np.int64), key_doc, ids, np.repeat(docs, per_doc)
        )

    def _sum_keys(
        self,
        out: np.ndarray,
        keys: np.ndarray,
        key_doc: np.ndarray,
        wids: Sequence[int],
        word_doc: np.ndarray,
        extra: dict[int, tuple[np.ndarray, float]] | None = None,
    ) -> np.ndarray:
        """Add to ``out`` the word n-gram rows (CRCs ``keys`` of requests ``key_doc``) and the
        cached word vectors ``wids`` (of requests ``word_doc``), each group normalised;
        ``extra``: the word vectors (and squared norms) of the positions whose ``wids`` is -1,
        worked out for this batch only (words too long to cache)."""
        n = len(out)
        # count each request's keys at once: (key, doc) packed in one int64, then unique; the
        # result is sorted by key, so the key search and the row reads go in memory order
        bits = max((n - 1).bit_length(), 1)  # + _KEY_BITS <= 63
        packed = keys | (GROUP_WORD << 32)
        packed <<= bits
        packed |= key_doc
        packed, counts = np.unique(packed, return_counts=True)
        pos, found = self._find(packed >> bits)
        rows = pos[found]
        doc = (packed & ((1 << bits) - 1))[found]
        w = self.idf[rows] * (1.0 + np.log(counts[found].astype(np.float32)))
        norm = np.bincount(doc, weights=w * w, minlength=n)
        w *= (1.0 / np.sqrt(np.where(norm > 0, norm, 1.0)))[doc].astype(np.float32)
        self.convert(rows)  # rows not seen before
        out += _segment_dot(self._f32, doc, n, w, rows, rows_sorted=True)
        if self._chars and len(wids):
            idx = np.array(wids, dtype=np.int64)
            wq = np.asarray(self._wq, dtype=np.float64)
            kept = idx >= 0
            if extra:  # the uncached words: their squares count, their rows are added below
                squares = np.zeros(len(idx), dtype=np.float64)  # (the cache may be empty)
                squares[kept] = wq[idx[kept]]
                squares[~kept] = [extra[i][1] for i in np.flatnonzero(~kept).tolist()]
                idx, cached_doc = idx[kept], word_doc[kept]
            else:
                squares, cached_doc = wq[idx], word_doc
            sq = np.bincount(word_doc, weights=squares, minlength=n)
            scale = np.where(sq > 0, 1.0 / np.sqrt(np.where(sq > 0, sq, 1.0)), 0.0)
            if len(idx):
                f = scale[cached_doc].astype(np.float32)
                out += _segment_dot(self._wv, cached_doc, n, f, idx)
            for i, (vec, _) in (extra or {}).items():
                out[word_doc[i]] += np.float32(scale[word_doc[i]]) * vec
        return out

    def _word_info(self, word: str) -> tuple[int, bytes, int]:
        """``(crc32(word), b" " + word, row in the word-vector cache)`` of a word, cached (the
        batch path's one look-up per word); the row is -1 when that cache is full (or the
        features have no char group)."""
        raw = word.encode("utf-8")
        wid = self._word_id(word) if self._chars else -1
        info = (zlib.crc32(raw), b" " + raw, wid)
        if (
            (wid >= 0 or not self._chars)
            and len(self._winfo) < CACHE_LIMIT
            and len(word) <= CACHE_KEY_CHARS
        ):
            self._winfo[word] = info
        return info

    def _bag_sums_general(self, texts: Sequence[str], out: np.ndarray) -> np.ndarray:
        """:meth:`bag_sums` for feature specs the fast path does not cover: one at a time."""
        for i, t in enumerate(texts):
            out[i] = self._ngram_sum(t)
        return out

    def _head(self, acc: np.ndarray) -> np.ndarray:
        """Logits from bag sums ``(..., hidden [+ n_labels])``: ``relu(acc[:hidden] + bias) @
        out_w + out_b`` plus the linear member's ``weight * (acc[hidden:] + its bias)``, as one
        product (``_w2`` stacks ``out_w`` over ``weight * I``)."""
        z = acc + self._bias_ext
        h = z[..., : self.hidden_size]
        np.maximum(h, 0.0, out=h)
        logits = z @ self._w2
        logits += self._b2
        return logits

    def logits_one(self, text: str) -> np.ndarray:
        """Raw logits ``(n_labels,)`` of one request (before temperature)."""
        return self._head(self.bag_sum(text))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """Raw logits ``(len(texts), n_labels)``."""
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        return self._head(self.bag_sums(texts))

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Softmax of ``logits / temperature`` along the last axis."""
        z = logits * (1.0 / max(self.calibration.temperature, 1e-6))
        z -= np.maximum.reduce(z, axis=-1, keepdims=True)
        np.exp(z, out=z)
        z /= np.add.reduce(z, axis=-1, keepdims=True)
        return z

    # -- decisions -----------------------------------------------------------------------------
    def pick(self, numpy: bool = True) -> RouterModel:
        """What answers a single request: this model (``purepy.LazyRouter`` may answer its
        first requests without numpy)."""
        return self

    @staticmethod
    def best_index(probs: np.ndarray) -> int:
        """The index of the largest probability."""
        return int(probs.argmax())

    # -- unknown requests and explanations -------------------------------------------------------
    @property
    def has_examples(self) -> bool:
        """Whether the model stores its training examples' vectors (unknown score, explain)."""
        return self.ex_vectors is not None and self.ex_offsets is not None

    def hidden(self, acc: np.ndarray) -> np.ndarray:
        """The MLP's ReLU layer of bag sums: the feature space examples are compared in."""
        return np.maximum(acc[..., : self.hidden_size] + self.emb_bias, 0.0)

    def example_vectors(self) -> np.ndarray:
        """All training examples' unit hidden vectors as float32 (converted once, on first use)."""
        if self._ex32 is None:
            self._ex32 = np.asarray(self.ex_vectors, dtype=np.float32)
        return self._ex32

    def unknown(self, acc: np.ndarray, pred: np.ndarray, p_max: np.ndarray) -> np.ndarray:
        """Unknown scores (``unknown.py``) of bag sums ``(n, width)`` given predicted labels
        and their probabilities."""
        from enigma_router.unknown import mixed, unknown_scores

        dist = unknown_scores(
            self.hidden(acc), pred, self.example_vectors(), self.ex_offsets, self.ex_centre
        )
        return mixed(dist, p_max, self.calibration.unknown_doubt)

    def example_text(self, i: int) -> str:
        """The text of stored training example ``i`` (label order)."""
        ends = self._ex_ends
        start = int(ends[i - 1]) if i > 0 else 0
        return bytes(self._ex_text[start : int(ends[i])]).decode("utf-8")

    def example_label(self, i: int) -> str:
        """The label of stored training example ``i``."""
        return self.labels[int(np.searchsorted(self.ex_offsets, i, side="right")) - 1]

    def nearest(self, acc: np.ndarray, k: int = 5) -> list[dict[str, Any]]:
        """The ``k`` training examples nearest one request's bag sum (cosine, hidden layer)."""
        if not self.has_examples:
            return []
        from enigma_router.unknown import normalise

        sims = self.example_vectors() @ normalise(self.hidden(acc)[None, :])[0]
        k = min(k, len(sims))
        if k <= 0:
            return []
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.argsort(-sims[top])]
        return [
            {
                "text": self.example_text(int(i)),
                "intent": self.example_label(int(i)),
                "similarity": round(float(sims[i]), 4),
            }
            for i in top
        ]

    def decide(
        self,
        probs: np.ndarray,
        top_k: int = 3,
        order: np.ndarray | None = None,
        threshold: float | None = None,
        margin: float | None = None,
        unknown: float | None = None,
        limit: float | None = None,
    ) -> Result:
        """``(intent, confidence, alternatives)`` of one probability row, with the oos rule.

        ``alternatives`` holds the next ``top_k - 1`` intents. When the model is unsure the
        answer is ``oos`` with confidence ``1 - p(best)``, and the best intent leads the
        alternatives. ``order`` (label indices, best first) may be given by batch callers;
        ``threshold``/``margin`` override the calibrated knobs for this call; a request whose
        ``unknown`` score is above ``limit`` is ``oos`` too.
        """
        if order is None:
            order = (-probs).argsort()
        top = order[: max(top_k, 2)].tolist()
        return decision(self, probs.tolist(), top, top_k, threshold, margin, unknown, limit)

    def scored(
        self, acc: np.ndarray, budget: float | None = None
    ) -> tuple[np.ndarray, float | None, float | None]:
        """``(probs, unknown score, limit)`` of one bag sum; the score is computed only when the
        budget (None: the calibrated one) can reject anything."""
        probs = self.probabilities(self._head(acc))
        limit = self.calibration.limit(budget) if self.has_examples else math.inf
        if limit == math.inf:
            return probs, None, None
        best = int(probs.argmax())
        doubt = self.calibration.unknown_doubt * (1.0 - float(probs[best]))
        return probs, self.unknown_one(acc, best) + doubt, limit

    def unknown_one(self, acc: np.ndarray, label: int) -> float:
        """The distance part of :meth:`unknown` for one bag sum (no batch temporaries: the
        per-request path; :meth:`scored` adds the doubt)."""
        centre = 0.0 if self.ex_centre is None else float(self.ex_centre[label])
        s, e = int(self.ex_offsets[label]), int(self.ex_offsets[label + 1])
        if e <= s:
            return 2.0 - centre
        h = self.hidden(acc)
        norm = float(np.sqrt(np.dot(h, h)))
        if norm <= 0:
            return 1.0 - centre
        return 1.0 - float((self.example_vectors()[s:e] @ h).max()) / norm - centre

    def classify(self, text: str, top_k: int = 3, budget: float | None = None) -> Result:
        """Classify one request: ``(intent, confidence, [(runner_up, prob), ...])``."""
        probs, score, limit = self.scored(self.bag_sum(text), budget)
        return self.decide(probs, top_k, unknown=score, limit=limit)

    def classify_batch(
        self, texts: Sequence[str], top_k: int = 3, budget: float | None = None
    ) -> list[Result]:
        """Classify many requests at once (vectorised forward pass, oos rule included)."""
        acc = self.bag_sums(list(texts)) if texts else np.zeros((0, self.width), np.float32)
        probs = self.probabilities(self._head(acc))
        k = min(max(top_k, 2), probs.shape[1])
        top = np.argpartition(-probs, k - 1, axis=1)[:, :k] if probs.size else probs.astype(int)
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(probs, top, 1), 1), 1)
        if not len(texts):
            return []
        limit = self.calibration.limit(budget) if self.has_examples else math.inf
        scores = None if limit == math.inf else self.unknown(acc, top[:, 0], probs.max(axis=1))
        return self._decide_rows(np.take_along_axis(probs, top, 1), top, top_k, scores, limit)

    def _decide_rows(
        self,
        ptop: np.ndarray,
        top: np.ndarray,
        top_k: int,
        scores: np.ndarray | None,
        limit: float,
    ) -> list[Result]:
        """:meth:`decide` of many requests from their top-k probabilities ``ptop`` and labels
        ``top`` (best first): the oos rule vectorised, in float64 as :meth:`decide` compares."""
        cal = self.calibration
        p = ptop.astype(np.float64)
        p1 = p[:, 0]
        p2 = p[:, 1] if p.shape[1] > 1 else np.zeros_like(p1)
        unsure = (p1 < cal.threshold) | (p1 - p2 < cal.margin)
        if scores is not None:
            unsure |= scores.astype(np.float64) > limit
        unsure &= top[:, 0] != self.oos_index
        n_alt = max(top_k - 1, 0)
        rows = zip(
            self._label_array[top].tolist(),
            ptop.tolist(),
            unsure.tolist(),
            (top[:, 0] == self.oos_index).tolist(),
            strict=True,
        )
        return [
            (OOS, 1.0 - q[0], list(zip(names[:n_alt], q[:n_alt], strict=True)))
            if rejected
            else (
                OOS if learned else names[0],
                q[0],
                list(zip(names[1 : 1 + n_alt], q[1 : 1 + n_alt], strict=True)),
            )
            for names, q, rejected, learned in rows
        ]

    def predict(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """Fast path for benchmarks: raw argmax labels (no oos rule) and their probabilities."""
        probs = self.probabilities(self.logits(list(texts)))
        best = probs.argmax(axis=1)
        return [self.labels[int(i)] for i in best], probs[np.arange(len(best)), best]
