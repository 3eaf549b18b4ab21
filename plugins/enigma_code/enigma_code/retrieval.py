"""A small BM25 index over the training functions, for ``--show-sources``.

Each training function is a document made of its request, its name (split on ``_`` and case)
and the identifiers in its code. The index is stored term-major (for every term: the
documents holding it and their precomputed BM25 weights) in ``index.safetensors`` plus
``index.json`` (vocabulary and, per document, name, file and line), so a query costs one
scatter-add per query term. ~3.5k stdlib functions take well under 1 MB.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enigma_code.mining import STDLIB_ROOT_LABEL, Pair, stdlib_root
from enigma_core.errors import EnigmaError

INDEX_JSON = "index.json"
INDEX_WEIGHTS = "index.safetensors"
K1, B = 1.2, 0.75
_STOP_TEXT = """
    a an the that this these those of to in on for from with by as and or is are be it its
    write function python implement create def return returns self cls how do i can you me
    make code given which into using use program script give some please"""
STOPWORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"[A-Za-z][a-z]+|[A-Z]+(?![a-z])|\d+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def stem(word: str) -> str:
    """A crude suffix stripper so that reverses / reversed / reversing meet at 'revers'."""
    for suffix in ("ing", "ies", "es", "ed", "s", "e"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> list[str]:
    """Lower-cased, stemmed words of ``text`` (snake_case and camelCase split), no stopwords."""
    words = (w.lower() for w in _WORD.findall(text.replace("_", " ")))
    return [stem(w) for w in words if w not in STOPWORDS and len(w) > 1]


def document_terms(pair: Pair) -> list[str]:
    """The words a function is found by: request and name twice, code identifiers once."""
    request = pair.prompt.split(" that ", 1)[-1]
    idents = " ".join(_IDENT.findall(pair.completion))
    module = pair.source.rsplit("/", 1)[-1].removesuffix(".py")
    return terms(request) * 2 + terms(pair.name) * 2 + terms(module) + terms(idents)


@dataclass(frozen=True)
class SourceHit:
    """One retrieved function: what it does, its name and where it is."""

    score: float
    name: str
    source: str
    line: int
    summary: str
    path: str

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "score": round(self.score, 4),
            "name": self.name,
            "source": self.source,
            "line": self.line,
            "summary": self.summary,
            "path": self.path,
        }


class SourceIndex:
    """BM25 over training functions; build with :meth:`build`, persist with :meth:`save`."""

    def __init__(
        self,
        vocab: list[str],
        term_ptr: np.ndarray,
        doc_ids: np.ndarray,
        weights: np.ndarray,
        docs: list[list[object]],
    ) -> None:
        self.vocab = {term: i for i, term in enumerate(vocab)}
        self.term_ptr, self.doc_ids, self.weights, self.docs = term_ptr, doc_ids, weights, docs

    @classmethod
    def build(cls, pairs: Sequence[Pair]) -> SourceIndex:
        """Index ``pairs`` (the training split): precompute every BM25 term weight."""
        counts = [Counter(document_terms(p)) for p in pairs]
        lengths = np.array([sum(c.values()) for c in counts], dtype=np.float64)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for doc, counter in enumerate(counts):
            for term, tf in counter.items():
                postings.setdefault(term, []).append((doc, tf))
        vocab = sorted(postings)
        n = len(pairs)
        ptr, ids, weights = [0], [], []
        for term in vocab:
            rows = postings[term]
            idf = np.log(1 + (n - len(rows) + 0.5) / (len(rows) + 0.5))
            for doc, tf in rows:
                norm = tf + K1 * (1 - B + B * lengths[doc] / avg)
                ids.append(doc)
                weights.append(idf * tf * (K1 + 1) / norm)
            ptr.append(len(ids))
        docs = [[p.name, p.source, p.line, p.root, p.prompt.split(" that ", 1)[-1]] for p in pairs]
        return cls(
            vocab,
            np.array(ptr, np.int32),
            np.array(ids, np.int32),
            np.array(weights, np.float16),
            docs,
        )

    def search(self, query: str, k: int = 3) -> list[SourceHit]:
        """The ``k`` best-matching functions for ``query`` (fewer if fewer match at all)."""
        scores = np.zeros(len(self.docs), np.float32)
        for term in set(terms(query)):
            t = self.vocab.get(term)
            if t is not None:
                a, b = self.term_ptr[t], self.term_ptr[t + 1]
                scores[self.doc_ids[a:b]] += self.weights[a:b]
        top = np.argsort(-scores, kind="stable")[:k]
        hits = []
        for i in top:
            if scores[i] <= 0:
                break
            name, source, line, root, summary = self.docs[int(i)]
            hits.append(
                SourceHit(
                    float(scores[i]),
                    str(name),
                    str(source),
                    int(line),
                    str(summary),
                    resolve_source(str(root), str(source)),
                )
            )
        return hits

    def save(self, directory: Path) -> None:
        """Write ``index.safetensors`` and ``index.json`` into ``directory`` atomically."""
        from safetensors.numpy import save

        from enigma_core.atomic import atomic_write_bytes, atomic_write_text

        tensors = {"term_ptr": self.term_ptr, "doc_ids": self.doc_ids, "weights": self.weights}
        atomic_write_bytes(directory / INDEX_WEIGHTS, save(tensors))
        vocab = sorted(self.vocab, key=self.vocab.__getitem__)
        atomic_write_text(
            directory / INDEX_JSON,
            json.dumps({"format": 1, "vocab": vocab, "docs": self.docs}, separators=(",", ":")),
        )

    @classmethod
    def load(cls, directory: Path) -> SourceIndex:
        """Read an index written by :meth:`save`; a missing or bad file raises EnigmaError."""
        from safetensors.numpy import load_file

        try:
            meta = json.loads((directory / INDEX_JSON).read_text(encoding="utf-8"))
            arrays = load_file(str(directory / INDEX_WEIGHTS))
        except (OSError, ValueError) as exc:
            raise EnigmaError(f"{directory}: no usable source index ({exc})") from None
        return cls(
            meta["vocab"], arrays["term_ptr"], arrays["doc_ids"], arrays["weights"], meta["docs"]
        )


def resolve_source(root: str, source: str) -> str:
    """An absolute path for a hit when its file exists here (stdlib hits resolve locally)."""
    if root == STDLIB_ROOT_LABEL:
        path = stdlib_root() / source
        if path.exists():
            return str(path)
    return f"{root}/{source}" if root else source
