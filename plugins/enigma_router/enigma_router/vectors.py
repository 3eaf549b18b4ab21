"""Static word vectors distilled from all-MiniLM-L6-v2: a request's mean WordPiece row.

Each token of MiniLM's WordPiece vocabulary was run through the encoder once (``[CLS] token
[SEP]``, mean-pooled output), reduced by PCA and stored as a float16 table
(``bench/router/build_vectors.py``). A request is tokenised as BERT's uncased tokeniser does
(lower case, accents stripped, punctuation split off, greedy longest-match WordPiece), and its
vector is the mean of its pieces' rows, scaled to unit length: a dense summary that carries some
of the encoder's world knowledge at the cost of a few dictionary look-ups (no transformer, no
torch at inference).

Pure Python on purpose (the tokeniser and :func:`mean_row` need no numpy), so the one-request
path of ``purepy.py`` uses it as it is.
"""

from __future__ import annotations

import hashlib
import json
import math
import mmap
import re
import struct
import unicodedata
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError

TABLE_NAME = "minilm_vectors.safetensors"
"""The shipped table (``make models-vectors``; models/router.md records its sha256)."""
TABLE_PATH = Path(__file__).resolve().parent / TABLE_NAME
_ASCII_WORDS = re.compile(r"[a-z0-9]+|[^a-z0-9\s]")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

BIG_BATCH = 4096
"""Pieces in one :meth:`StaticVectors.units` call from which the sums read a transposed float32
copy of the table (gathering and summing contiguous columns: about 4x faster on banking77's
test set; below it, the float16 rows)."""
UNITS_CHUNK = 8192
"""Requests per :meth:`StaticVectors.units` gather (bounds its memory on big files)."""
MAX_WORD_CHARS = 100
"""BERT's ``max_input_chars_per_word``: a longer word is one unknown piece."""


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def plain_ascii(text: str) -> bool:
    """Whether ``text`` takes :func:`basic_words`' regex path (ASCII, no control characters).

    For such a text the basic words are those of each of its router tokens in turn
    (``features.WORD_RE`` over the lower-cased text: runs of ``[a-z0-9_]`` and single other
    non-space characters), so the router caches a word vector per token."""
    return text.isascii() and not _ASCII_CONTROL.search(text)


_BERT_SPACE = re.compile(r"[^\S\x0b\x0c\x1c-\x1f\x85]+")
"""Whitespace that splits words in :func:`basic_words`: ``str.isspace`` less the control
characters it also accepts (BERT drops those, so ``a\x0bb`` is one word)."""


def whitespace_parts(text: str) -> list[str]:
    """``text`` cut where :func:`basic_words` splits at whitespace: the basic words of the text
    are those of its parts in turn (the router caches a word vector per part)."""
    return [p for p in _BERT_SPACE.split(text) if p]


def basic_words(text: str) -> list[str]:
    """BERT's uncased basic tokenisation: clean, split CJK characters, lower-case, strip
    accents, split on whitespace and punctuation (each punctuation mark is its own word)."""
    if text.isascii() and not _ASCII_CONTROL.search(text):
        return _ASCII_WORDS.findall(text.lower())
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append("".join(buf))
            buf.clear()

    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        cat = unicodedata.category(ch)
        if cat.startswith("C") and ch not in "\t\n\r":  # controls vanish (\x0b, \x85 too)
            continue
        if ch.isspace() or cat == "Zs":
            flush()
            continue
        if _is_cjk(cp):
            flush()
            out.append(ch)
            continue
        buf.append(ch)
    flush()
    words: list[str] = []
    for token in out:
        if token.isascii():
            token = token.lower()
        else:  # per character, as BERT: str.lower would give a word-final sigma its own form
            token = "".join(c.lower() for c in token)
            token = "".join(
                c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn"
            )
        start = 0
        for i, ch in enumerate(token):
            if _is_punctuation(ch):
                if i > start:
                    words.append(token[start:i])
                words.append(ch)
                start = i + 1
        if start < len(token):
            words.append(token[start:])
    return words


PROBES = 64
"""Vocabulary look-ups answered by searching the newline-separated vocabulary bytes before the
dictionary is built (about 40 us each; building it: about 5 ms, most of ``enigma classify``'s
cost of the vectors, which looks up a few dozen pieces)."""


class WordPiece:
    """Greedy longest-match-first WordPiece over a vocabulary (BERT's ``WordpieceTokenizer``).

    ``vocab``: the pieces in id order, or their UTF-8 bytes one a line (unique pieces: the
    table's). The piece -> id dictionary is built on the :data:`PROBES`-th look-up; the first
    ones search the bytes (the first occurrence of a piece, as the dictionary keeps it)."""

    def __init__(self, vocab: Sequence[str] | bytes, unk: str = "[UNK]") -> None:
        if isinstance(vocab, bytes):
            self._blob = b"\n" + vocab + b"\n"
        else:
            self._blob = ("\n" + "\n".join(vocab) + "\n").encode("utf-8")
        self._index: dict[str, int] | None = None
        self._probes = 0
        self.unk = self._id(unk)
        self._cache: dict[str, tuple[int, ...]] = {}

    @property
    def index(self) -> dict[str, int]:
        """Piece -> id (built on first use; the first occurrence of a repeated piece wins)."""
        if self._index is None:
            pieces = self._blob[1:-1].decode("utf-8").split("\n")
            index: dict[str, int] = {}
            for i, piece in enumerate(pieces):
                index.setdefault(piece, i)
            self._index = index
        return self._index

    def __len__(self) -> int:
        """Number of pieces."""
        return self._blob.count(b"\n") - 1

    def _id(self, piece: str) -> int:
        """The id of ``piece``, -1 when it is not in the vocabulary."""
        if self._index is not None:
            return self._index.get(piece, -1)
        self._probes += 1
        if self._probes >= PROBES:
            return self.index.get(piece, -1)
        if "\n" in piece:  # (would match across lines)
            return -1
        pos = self._blob.find(b"\n" + piece.encode("utf-8") + b"\n")
        return -1 if pos < 0 else self._blob.count(b"\n", 0, pos)

    def word(self, word: str) -> tuple[int, ...]:
        """Piece ids of one basic word (the unknown id alone when it cannot be split)."""
        hit = self._cache.get(word)
        if hit is not None:
            return hit
        ids = self._split(word)
        if len(self._cache) < 100_000 and len(word) <= MAX_WORD_CHARS:  # keys of bounded size
            self._cache[word] = ids
        return ids

    def _split(self, word: str) -> tuple[int, ...]:
        if len(word) > MAX_WORD_CHARS:
            return (self.unk,)
        find = self._id
        pieces: list[int] = []
        start, n = 0, len(word)
        while start < n:
            end = n
            found = -1
            while start < end:
                sub = word[start:end] if start == 0 else "##" + word[start:end]
                found = find(sub)
                if found >= 0:
                    break
                end -= 1
            if found < 0:
                return (self.unk,)
            pieces.append(found)
            start = end
        return tuple(pieces)

    def ids(self, text: str) -> list[int]:
        """Piece ids of a whole request (no ``[CLS]`` / ``[SEP]``)."""
        out: list[int] = []
        for w in basic_words(text):
            out.extend(self.word(w))
        return out


class StaticVectors:
    """A mapped word-vector table: ``table`` (tokens x dims, float16) and its WordPiece vocab.

    Pure Python (``mmap`` + ``struct``); :meth:`array` gives numpy a zero-copy view. ``sha256``
    is the file's as recorded next to it by ``make models-vectors`` (``<file>.sha256``; a test
    checks it against the file's bytes, so loading does not hash 8 MB); a trained router
    records it and refuses another table (:func:`load_for`)."""

    def file_sha256(self) -> str:
        """The sha256 of the file's bytes (hashed now; the tests compare it to ``sha256``)."""
        return hashlib.sha256(self.buf).hexdigest()

    def __init__(self, path: Path) -> None:
        """Map ``path`` (a one-line EnigmaError when it is missing or not such a table)."""
        try:
            with path.open("rb") as fh:
                buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self.sha256 = path.with_name(path.name + ".sha256").read_text().split()[0]
        except (OSError, IndexError, ValueError) as exc:  # ValueError: an empty file
            raise EnigmaError(f"{path}: cannot read the router's word vectors ({exc})") from None
        self.path = path
        try:
            (n,) = struct.unpack_from("<Q", buf)
            header = json.loads(buf[8 : 8 + n])
            t, v = header["table"], header["vocab"]
            self.rows, self.dims = (int(d) for d in t["shape"])
            start = 8 + n
            t0, t1 = (int(o) for o in t["data_offsets"])
            v0, v1 = (int(o) for o in v["data_offsets"])
            if t["dtype"] != "F16" or t1 - t0 != 2 * self.rows * self.dims:
                raise ValueError("table")
            if start + max(t1, v1) > len(buf):
                raise ValueError("short file")
            vocab = bytes(buf[start + v0 : start + v1])  # split on first use (WordPiece)
            vocab.decode("utf-8")  # (valid UTF-8: a ValueError otherwise)
            if vocab.count(b"\n") + 1 != self.rows:
                raise ValueError("vocab size")
        except (KeyError, TypeError, ValueError, struct.error) as exc:
            raise EnigmaError(f"{path}: not a router word-vector table ({exc})") from None
        self.meta = {str(k): str(x) for k, x in (header.get("__metadata__") or {}).items()}
        self.buf = buf
        self.offset = start + t0
        self.wordpiece = WordPiece(vocab)
        self._row = struct.Struct(f"<{self.dims}e")
        self._array: Any = None
        self._t32: Any = None

    def array(self) -> Any:
        """The table as a read-only numpy float16 ``(rows, dims)`` view (no copy)."""
        if self._array is None:
            import numpy as np

            self._array = np.frombuffer(
                self.buf, dtype="<f2", count=self.rows * self.dims, offset=self.offset
            ).reshape(self.rows, self.dims)
        return self._array

    def _transposed(self) -> Any:
        """``(dims, rows)`` float32 copy of the table (15.6 MB, made on the first big batch)."""
        if self._t32 is None:
            import numpy as np

            self._t32 = np.ascontiguousarray(self.array().T, dtype=np.float32)
        return self._t32

    def ids(self, text: str) -> list[int]:
        """WordPiece ids of a request."""
        return self.wordpiece.ids(text)

    def unit(self, text: str) -> list[float]:
        """The request's vector in pure Python: the sum of its pieces' rows (float64), scaled
        to unit length (all zeros for a request without pieces)."""
        acc = [0.0] * self.dims
        unpack, buf, at, step = self._row.unpack_from, self.buf, self.offset, 2 * self.dims
        for i in self.ids(text):
            acc = [a + x for a, x in zip(acc, unpack(buf, at + i * step), strict=True)]
        norm = math.sqrt(sum(a * a for a in acc))
        return [a / norm for a in acc] if norm > 0 else acc

    def units(self, texts: Sequence[str]) -> Any:
        """Unit request vectors ``(len(texts), dims)`` float32 with numpy (training, batches),
        :data:`UNITS_CHUNK` requests at a time (the gathered rows of a whole big file would take
        gigabytes; each request is summed on its own, so chunks give the same rows)."""
        import numpy as np

        if len(texts) > UNITS_CHUNK:
            return np.concatenate(
                [self.units(texts[i : i + UNITS_CHUNK]) for i in range(0, len(texts), UNITS_CHUNK)]
            )
        table = self.array()
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        ids = [self.ids(t) for t in texts]
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        filled = np.flatnonzero(counts)
        if len(filled):  # one gather, then each request's rows summed in order (as one by one)
            flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(counts.sum()))
            starts = np.concatenate([[0], np.cumsum(counts[filled])[:-1]])
            if len(flat) >= BIG_BATCH:  # columns of a transposed float32 copy: 4x faster sums
                sums = np.add.reduceat(np.take(self._transposed(), flat, axis=1), starts, axis=1)
                out[filled] = sums.T
            else:
                out[filled] = np.add.reduceat(table[flat].astype(np.float32), starts, axis=0)
        norm = np.sqrt(np.einsum("ij,ij->i", out, out))
        np.divide(out, norm[:, None], out=out, where=norm[:, None] > 0)
        return out


_LOADED: dict[Path, StaticVectors] = {}


def load(path: Path = TABLE_PATH) -> StaticVectors:
    """The table at ``path`` (read once per process)."""
    got = _LOADED.get(path)
    if got is None:
        got = _LOADED[path] = StaticVectors(path)
    return got


def load_for(info: dict[str, Any], where: str) -> StaticVectors:
    """The table a trained router's ``router.vectors`` block names, checked by sha256."""
    table = load(TABLE_PATH.parent / str(info.get("file", TABLE_NAME)))
    want = str(info.get("sha256", ""))
    if table.sha256 != want:
        raise EnigmaError(
            f"{where}: trained with word vectors sha256 {want[:12]}, but this enigma-router "
            f"ships {table.sha256[:12]} ({table.path.name}); retrain the router"
        )
    return table
