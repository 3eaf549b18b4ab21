"""Hashed sparse n-gram features of a request (numpy + stdlib only, shared by training and use).

Three groups, each L2-normalised on its own:

- words: lower-cased word/punctuation tokens, 1..``word_n``-grams, plus boundary bigrams
  ``<s> first`` and ``last </s>`` (they carry "how the request starts", which matters a lot);
- chars: ``char_min``..``char_max``-grams inside each word padded with spaces, counted per word
  occurrence, so a word's weighted sum can be cached at inference (merging counts across words
  scored the same for the MLP and made inference 2x slower);
- pieces: 1..``piece_n``-grams of shared-tokenizer ids (off by default: it did not help).

N-grams are hashed with CRC-32 (stable everywhere) into 64-bit keys ``group << 32 | crc``; a
:class:`FeatureVocab` maps keys seen in training to rows and holds their smoothed idf.
Weight of a feature = (1 + ln tf) * idf, divided by its group's L2 norm.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

from enigma_core.errors import EnigmaError

WORD_RE = re.compile(r"\w+|[^\w\s]")
GROUP_WORD, GROUP_CHAR, GROUP_PIECE = 1, 2, 3
BOS, EOS = "<s>", "</s>"
CACHE_LIMIT = 100_000
CACHE_KEY_CHARS = 100
"""Longer words are worked out each time, never cached: a cache of 100,000 entries keyed by
words of any length would let a stream of long made-up words hold gigabytes."""
_V = TypeVar("_V")
_BOS_CRC = zlib.crc32(BOS.encode())
_EOS_TAIL = f" {EOS}".encode()


def _remember(cache: dict[str, Any], word: str, value: _V) -> _V:
    """``value``, kept in a per-word ``cache`` unless ``word`` is too long to be a key
    (:data:`CACHE_KEY_CHARS`); a full cache (:data:`CACHE_LIMIT`) starts over."""
    if len(word) <= CACHE_KEY_CHARS:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[word] = value
    return value


@dataclass(frozen=True)
class FeatureSpec:
    """Which n-grams make the features; stored in ``config.json`` so inference rebuilds them."""

    word_n: int = 2
    boundaries: bool = True
    char_min: int = 2
    char_max: int = 5
    piece_n: int = 0
    lowercase: bool = True
    min_df: int = 1
    max_features: int = 1 << 18  # keep the most frequent n-grams: bounds memory on big files

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``config.json``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """Rebuild from ``config.json``; an unknown key is a one-line error."""
        bad = sorted(set(data) - set(cls.__dataclass_fields__))
        if bad:
            raise EnigmaError(f"config.json: router.features has unknown field(s) {bad}")
        return cls(**data)


def _key(text: str, group: int) -> int:
    return (group << 32) | zlib.crc32(text.encode("utf-8"))


def tokens(text: str, lowercase: bool = True) -> list[str]:
    """Word and punctuation tokens of a request."""
    return WORD_RE.findall(text.lower() if lowercase else text)


def word_keys(words: Sequence[str], spec: FeatureSpec) -> Counter[int]:
    """Counts of the word n-gram keys (with boundary bigrams when enabled)."""
    out: Counter[int] = Counter()
    for n in range(1, spec.word_n + 1):
        for i in range(len(words) - n + 1):
            out[_key(" ".join(words[i : i + n]), GROUP_WORD)] += 1
    if spec.boundaries and words and spec.word_n >= 2:
        out[_key(f"{BOS} {words[0]}", GROUP_WORD)] += 1
        out[_key(f"{words[-1]} {EOS}", GROUP_WORD)] += 1
    return out


def char_keys(word: str, spec: FeatureSpec) -> list[int]:
    """The char n-gram keys of one word padded with spaces (repeats kept).

    Same keys as ``_key(ngram, GROUP_CHAR)``; ASCII words slice their bytes directly (one
    encode per word instead of one per n-gram: the cold path of inference is mostly this).
    """
    s = f" {word} "
    high, crc32, sizes = GROUP_CHAR << 32, zlib.crc32, range(spec.char_min, spec.char_max + 1)
    if s.isascii():
        b = s.encode("ascii")
        n = len(b)
        return [high | crc32(b[i : i + k]) for k in sizes for i in range(n - k + 1)]
    n = len(s)
    return [high | crc32(s[i : i + k].encode("utf-8")) for k in sizes for i in range(n - k + 1)]


def piece_keys(pieces: Sequence[int], spec: FeatureSpec) -> Counter[int]:
    """Counts of shared-tokenizer piece n-gram keys."""
    out: Counter[int] = Counter()
    p = list(pieces)
    for n in range(1, spec.piece_n + 1):
        for i in range(len(p) - n + 1):
            out[(GROUP_PIECE << 32) | zlib.crc32(",".join(map(str, p[i : i + n])).encode())] += 1
    return out


@dataclass
class RawDoc:
    """A request's hashed n-grams before any vocabulary: word/piece counts, its words."""

    words: list[str]
    word_counts: Counter[int]
    piece_counts: Counter[int]


class Hasher:
    """Text (+ tokenizer ids) -> :class:`RawDoc`; caches each word's char n-gram keys."""

    def __init__(self, spec: FeatureSpec) -> None:
        """Bind the n-gram settings; the per-word cache starts empty."""
        self.spec = spec
        self._chars: dict[str, list[int]] = {}
        self._crcs: dict[str, tuple[int, bytes]] = {}

    def chars(self, word: str) -> list[int]:
        """Cached char n-gram keys of one word (repeats kept)."""
        got = self._chars.get(word)
        if got is None:
            got = _remember(self._chars, word, char_keys(word, self.spec))
        return got

    def _crc(self, word: str) -> tuple[int, bytes]:
        """``(crc32(word), b" " + word)`` (cached): what unigram and bigram keys are made of."""
        got = self._crcs.get(word)
        if got is None:
            raw = word.encode("utf-8")
            got = _remember(self._crcs, word, (zlib.crc32(raw), b" " + raw))
        return got

    def word_keys(self, words: Sequence[str]) -> Counter[int]:
        """Same keys as :func:`word_keys`, faster: bigram CRCs continue the first word's CRC."""
        if self.spec.word_n != 2:
            return word_keys(words, self.spec)
        return Counter(self.word_key_list(words))

    def word_key_list(self, words: Sequence[str]) -> list[int]:
        """The word n-gram keys of :meth:`word_keys` with repeats, uncounted (batch callers
        count all requests' keys at once)."""
        spec = self.spec
        if spec.word_n != 2:
            return list(word_keys(words, spec).elements())
        high = GROUP_WORD << 32
        info = [self._crc(w) for w in words]
        crc32 = zlib.crc32
        keys = [high | c for c, _ in info]
        keys += [high | crc32(info[i + 1][1], info[i][0]) for i in range(len(info) - 1)]
        if spec.boundaries and info:
            keys.append(high | crc32(info[0][1], _BOS_CRC))
            keys.append(high | crc32(_EOS_TAIL, info[-1][0]))
        return keys

    def raw(self, text: str, pieces: Sequence[int] = ()) -> RawDoc:
        """Hash one request."""
        words = tokens(text, self.spec.lowercase)
        pc = piece_keys(pieces, self.spec) if self.spec.piece_n > 0 else Counter()
        return RawDoc(words, self.word_keys(words), pc)

    def all_keys(self, doc: RawDoc) -> set[int]:
        """Every distinct key of a document (for document frequencies)."""
        keys = set(doc.word_counts) | set(doc.piece_counts)
        if self.spec.char_max >= self.spec.char_min > 0:
            for w in set(doc.words):
                keys.update(self.chars(w))
        return keys


class FeatureVocab:
    """Maps 64-bit n-gram keys to rows and holds each row's idf (a sorted key array, no strings)."""

    def __init__(self, keys: np.ndarray, idf: np.ndarray) -> None:
        """``keys`` sorted unique int64, ``idf`` float32 of the same length."""
        self.keys = np.ascontiguousarray(keys, dtype=np.int64)
        self.idf = np.ascontiguousarray(idf, dtype=np.float32)
        self.index: dict[int, int] = dict(
            zip(self.keys.tolist(), range(len(self.keys)), strict=False)
        )
        self.idf_list: list[float] = self.idf.tolist()

    def __len__(self) -> int:
        """Number of rows."""
        return int(self.keys.shape[0])

    @classmethod
    def build(
        cls, key_sets: Iterable[set[int]], min_df: int = 1, max_features: int = 0
    ) -> FeatureVocab:
        """Vocabulary and smoothed idf ``ln((1+n)/(1+df)) + 1`` from per-document key sets;
        with ``max_features`` only that many n-grams, the most frequent (ties: lower key)."""
        df: Counter[int] = Counter()
        n = 0
        for keys in key_sets:
            n += 1
            df.update(keys)
        kept = [(k, d) for k, d in df.items() if d >= min_df]
        if max_features and len(kept) > max_features:
            kept = sorted(kept, key=lambda kd: (-kd[1], kd[0]))[:max_features]
        items = sorted(kept)
        if not items:
            raise EnigmaError("router features: the training data yields no n-grams")
        keys = np.array([k for k, _ in items], dtype=np.int64)
        dfs = np.array([d for _, d in items], dtype=np.float64)
        idf = (np.log((1.0 + n) / (1.0 + dfs)) + 1.0).astype(np.float32)
        return cls(keys, idf)

    def weigh(self, counts: Counter[int]) -> tuple[list[int], list[float]]:
        """Known rows of ``counts`` with (1 + ln tf) * idf weights (not normalised)."""
        rows: list[int] = []
        weights: list[float] = []
        index, idf = self.index, self.idf_list
        for key, count in counts.items():
            r = index.get(key)
            if r is not None:
                rows.append(r)
                weights.append((1.0 + math.log(count)) * idf[r] if count > 1 else idf[r])
        return rows, weights


def _normalised(weights: list[float]) -> list[float]:
    norm = math.sqrt(sum(w * w for w in weights))
    return [w / norm for w in weights] if norm > 0 else weights


class Featurizer:
    """Spec + vocab: requests in, sparse rows and weights out (for training and inference).

    Char n-grams are weighed per word occurrence and the whole char group is L2-normalised;
    each word's rows and weights are cached.
    """

    def __init__(
        self, spec: FeatureSpec, vocab: FeatureVocab, hasher: Hasher | None = None
    ) -> None:
        """Bind a spec to a vocabulary built with it."""
        self.spec = spec
        self.vocab = vocab
        self.hasher = hasher or Hasher(spec)
        self._words: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        self._chars = spec.char_max >= spec.char_min > 0

    def word_char(self, word: str) -> tuple[np.ndarray, np.ndarray, float]:
        """A word's known char rows, weights ``(1 + ln c) * idf`` and squared norm (cached)."""
        got = self._words.get(word)
        if got is None:
            index, idf = self.vocab.index, self.vocab.idf
            counts = Counter(map(index.get, self.hasher.chars(word)))
            counts.pop(None, None)  # n-grams not in the vocabulary
            rows = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            c = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            weights = (1.0 + np.log(c)) * idf[rows] if len(counts) else c
            got = _remember(self._words, word, (rows, weights, float(np.dot(weights, weights))))
        return got

    def use_chars(self) -> bool:
        """Whether the spec has a char group."""
        return self._chars

    def word_part(self, doc: RawDoc) -> tuple[list[int], list[float]]:
        """Rows and normalised weights of the word and piece groups."""
        rows, weights = self.vocab.weigh(doc.word_counts)
        weights = _normalised(weights)
        if doc.piece_counts:
            pr, pw = self.vocab.weigh(doc.piece_counts)
            rows += pr
            weights += _normalised(pw)
        return rows, weights

    def one(self, text: str, pieces: Sequence[int] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Rows (int64) and weights (float32) of one request, each group L2-normalised."""
        return self.doc(self.hasher.raw(text, pieces))

    def doc(self, doc: RawDoc) -> tuple[np.ndarray, np.ndarray]:
        """Rows and weights of an already hashed request (see :meth:`one`)."""
        rows, weights = self.word_part(doc)
        r = np.asarray(rows, dtype=np.int64)
        w = np.asarray(weights, dtype=np.float32)
        if self._chars and doc.words:
            parts = [self.word_char(x) for x in doc.words]
            sq = sum(p[2] for p in parts)
            if sq > 0:
                inv = np.float32(1.0 / math.sqrt(sq))
                r = np.concatenate([r, *(p[0] for p in parts)])
                w = np.concatenate([w, *(p[1] * inv for p in parts)])
        return r, w

    def batch(
        self, texts: Sequence[str], pieces: Sequence[Sequence[int]] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flat ``rows`` (int64), ``offsets`` (int64, one per text) and ``weights`` (float32)."""
        parts = [self.one(t, pieces[i] if pieces is not None else ()) for i, t in enumerate(texts)]
        lengths = np.array([len(p[0]) for p in parts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        if not parts:
            return np.zeros(0, np.int64), offsets, np.zeros(0, np.float32)
        return (
            np.concatenate([p[0] for p in parts]),
            offsets,
            np.concatenate([p[1] for p in parts]).astype(np.float32, copy=False),
        )
