"""The router's forward pass for a few requests in pure Python: no numpy import (issue 21).

``enigma classify TEXT`` classifies one request and exits; importing numpy cost more than
everything else it does. :func:`load` maps ``model.safetensors`` with the standard library and
returns a :class:`LazyRouter`: its first requests are answered here (hashed n-grams, the
embedding-bag sum, the MLP and the linear member, softmax, the oos rule and the unknown score,
in float64 from the same float16/float32 tables), and the numpy :class:`~enigma_router.inference.
RouterModel` is built over the same mapped file on the first batch, the first request that needs
what only it does (``explain``, new intents), the first attribute only it has, in a background
thread from the second request on, or at once when numpy is already imported (its per-request
path is faster). Answers are the numpy path's: same intent and alternatives, probabilities within
float32 rounding (tested on the held-out file and banking77 requests).

The n-gram hashing here is a twin of ``features.py``'s (that module imports numpy); tests check
both give the same keys.
"""

from __future__ import annotations

import bisect
import json
import math
import mmap
import re
import struct
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import mul
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from enigma_core.errors import EnigmaError

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_router.inference import RouterModel

OOS = "oos"
CONFIG_FILE, WEIGHTS_FILE = "config.json", "model.safetensors"
MAX_HEADER = 16 << 20
CACHE_LIMIT = 10_000
CACHE_KEY_CHARS = 100
# twins of features.py's hashing (that module imports numpy)
WORD_RE = re.compile(r"\w+|[^\w\s]")
GROUP_WORD, GROUP_CHAR = 1, 2
_BOS_CRC = zlib.crc32(b"<s>")
_EOS_TAIL = b" </s>"
_SPEC_DEFAULTS: dict[str, Any] = {
    "word_n": 2,
    "boundaries": True,
    "char_min": 2,
    "char_max": 5,
    "piece_n": 0,
    "lowercase": True,
    "min_df": 1,
    "max_features": 1 << 18,
}
_FORMATS = {"F32": ("f", 4), "F16": ("e", 2), "I64": ("q", 8), "U8": ("B", 1)}
_NEEDED = {
    "feat_keys": "I64",
    "feat_idf": "F32",
    "table": "F16",
    "bag_bias": "F32",
    "out_weight": "F32",
    "out_bias": "F32",
}
_OPTIONAL = {
    "linear_bias": "F32",
    "linear_weight": "F32",
    "ex_vectors": "F16",
    "ex_offsets": "I64",
    "ex_centre": "F32",
    "ex_text": "U8",
    "ex_text_ends": "I64",
    "vec_table": "F32",
}
Alternatives = list[tuple[str, float]]
Result = tuple[str, float, Alternatives]


class Unsupported(Exception):
    """Something this module leaves to the numpy loader (which also words every error)."""


def threshold_for(curve: Sequence[dict[str, Any]], budget: float) -> float:
    """``unknown.threshold_for`` without numpy: the threshold of the last stored curve point
    whose budget is not above ``budget``; inf: never reject (tests compare the two)."""
    if budget <= 0 or not curve:
        return math.inf
    budgets = [float(p["budget"]) for p in curve]
    j = bisect.bisect_right(budgets, budget + 1e-12) - 1
    thr = curve[max(j, 0)]["threshold"]
    return math.inf if thr is None else float(thr)


@dataclass
class Calibration:
    """Softmax temperature plus the out-of-scope knobs (``config.json`` ``router.calibration``).

    A prediction is ``oos`` when its confidence < ``threshold``, top1 - top2 < ``margin``, or
    its unknown score (``unknown.py``: distance + ``unknown_doubt`` x (1 - confidence)) >
    ``unknown_threshold``, the threshold of ``oos_budget`` on the stored validation ``curve``
    (any other budget is read off the same curve).
    """

    temperature: float = 1.0
    threshold: float = 0.0
    margin: float = 0.0
    oos_budget: float | None = None
    unknown_threshold: float | None = None
    curve: list[dict[str, Any]] = field(default_factory=list)
    unknown_doubt: float = 0.0
    _limits: dict[float, float] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (without the curve: see ``config.json`` for it)."""
        out: dict[str, Any] = {
            "temperature": self.temperature,
            "threshold": self.threshold,
            "margin": self.margin,
        }
        if self.oos_budget is not None:
            out["oos_budget"] = self.oos_budget
            out["unknown_threshold"] = self.unknown_threshold
            out["unknown_doubt"] = self.unknown_doubt
        return out

    def limit(self, budget: float | None = None) -> float:
        """The unknown-score threshold of ``budget`` (None: the calibrated one); inf: never.
        Each budget's look-up is remembered (a per-call budget costs one dict get)."""
        if budget is None:
            return math.inf if self.unknown_threshold is None else float(self.unknown_threshold)
        got = self._limits.get(budget)
        if got is None:
            if len(self._limits) > 256:
                self._limits.clear()
            got = self._limits[budget] = threshold_for(self.curve, float(budget))
        return got

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Calibration:
        """Read from ``config.json`` (missing keys keep neutral defaults)."""
        data = data or {}
        budget, limit = data.get("oos_budget"), data.get("unknown_threshold")
        return cls(
            temperature=float(data.get("temperature", 1.0)),
            threshold=float(data.get("threshold", 0.0)),
            margin=float(data.get("margin", 0.0)),
            oos_budget=None if budget is None else float(budget),
            unknown_threshold=None if limit is None else float(limit),
            curve=list(data.get("curve") or []),
            unknown_doubt=float(data.get("unknown_doubt", 0.0)),
        )


def read_config(directory: Path) -> dict[str, Any]:
    """A router's ``config.json`` (one-line errors when missing or not a router's)."""
    from enigma_core.training.meta import read_json

    path = directory / CONFIG_FILE
    if not path.is_file():
        raise EnigmaError(
            f"{path}: router model config not found (train with 'enigma train router')"
        )
    meta = read_json(path, "router config")
    if "router" not in meta or "labels" not in meta:
        raise EnigmaError(f"{path}: not a router model (no 'router' or 'labels' field)")
    return meta


# -- features (twins of features.py) ---------------------------------------------------------------
def tokens(text: str, lowercase: bool = True) -> list[str]:
    """Word and punctuation tokens of a request (``features.tokens``)."""
    return WORD_RE.findall(text.lower() if lowercase else text)


def word_keys(words: Sequence[str], word_n: int, boundaries: bool) -> Counter[int]:
    """Counts of the word n-gram keys (``features.word_keys``)."""
    high, crc32 = GROUP_WORD << 32, zlib.crc32
    raw = [w.encode("utf-8") for w in words]
    out: Counter[int] = Counter()
    for n in range(1, word_n + 1):
        for i in range(len(raw) - n + 1):
            out[high | crc32(b" ".join(raw[i : i + n]))] += 1
    if boundaries and raw and word_n >= 2:
        out[high | crc32(b" " + raw[0], _BOS_CRC)] += 1
        out[high | crc32(_EOS_TAIL, crc32(raw[-1]))] += 1
    return out


def char_keys(word: str, char_min: int, char_max: int) -> list[int]:
    """The char n-gram keys of one word padded with spaces, repeats kept (as
    ``features.char_keys``)."""
    s = f" {word} "
    high, crc32, sizes = GROUP_CHAR << 32, zlib.crc32, range(char_min, char_max + 1)
    if s.isascii():
        b = s.encode("ascii")
        n = len(b)
        return [high | crc32(b[i : i + k]) for k in sizes for i in range(n - k + 1)]
    n = len(s)
    return [high | crc32(s[i : i + k].encode("utf-8")) for k in sizes for i in range(n - k + 1)]


# -- the mapped file -------------------------------------------------------------------------------
class _Tensor(NamedTuple):
    dtype: str
    shape: tuple[int, ...]
    offset: int  # in the file
    count: int


def _read_weights(path: Path) -> tuple[mmap.mmap, dict[str, _Tensor], dict[str, str]]:
    """Map a safetensors file: its tensors' places and its metadata. Anything unusual raises
    :class:`Unsupported` (the numpy loader then reads the file and words the error)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise Unsupported("short file")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER:
                raise Unsupported("header size")
            header = json.loads(fh.read(n))
            buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:
        raise Unsupported(str(exc)) from None
    if not isinstance(header, dict):
        raise Unsupported("header")
    start, size = 8 + n, len(buf)
    tensors: dict[str, _Tensor] = {}
    for name, want in {**_NEEDED, **_OPTIONAL}.items():
        spec = header.get(name)
        if spec is None:
            if name in _NEEDED:
                raise Unsupported(f"no {name}")
            continue
        try:
            dtype, shape = spec["dtype"], tuple(int(d) for d in spec["shape"])
            begin, end = (int(o) for o in spec["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise Unsupported(name) from None
        count = math.prod(shape)
        if dtype != want or min(shape, default=1) <= 0 or begin < 0:
            raise Unsupported(name)
        if end - begin != count * _FORMATS[dtype][1] or start + end > size:
            raise Unsupported(name)
        tensors[name] = _Tensor(dtype, shape, start + begin, count)
    meta = header.get("__metadata__") or {}
    meta = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return buf, tensors, meta


class PureRouter:
    """One request's forward pass in pure Python over a mapped router (see module doc)."""

    def __init__(
        self,
        directory: Path,
        meta: dict[str, Any],
        buf: mmap.mmap,
        tensors: dict[str, _Tensor],
        *,
        threshold: float | None = None,
        margin: float | None = None,
        temperature: float | None = None,
    ) -> None:
        """Wrap a read ``config.json`` and a mapped weights file (:func:`load` checks both)."""
        if sys.byteorder != "little":
            raise Unsupported("big-endian machine")
        self.directory = directory
        self.meta = meta
        self.buf = buf
        self.tensors = tensors
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        router = meta["router"]
        spec = dict(router["features"])
        if set(spec) - set(_SPEC_DEFAULTS):
            raise Unsupported("feature spec")
        spec = {**_SPEC_DEFAULTS, **spec}
        if int(spec["piece_n"]) > 0:  # tokenizer pieces: the numpy path (and the tokenizer)
            raise Unsupported("pieces")
        self.lowercase = bool(spec["lowercase"])
        self.word_n, self.boundaries = int(spec["word_n"]), bool(spec["boundaries"])
        self.char_min, self.char_max = int(spec["char_min"]), int(spec["char_max"])
        self._chars = self.char_max >= self.char_min > 0
        self.calibration = Calibration.from_dict(router.get("calibration"))
        knobs = {"threshold": threshold, "margin": margin, "temperature": temperature}
        self._knobs = {k: v for k, v in knobs.items() if v is not None}
        self._numpy: RouterModel | None = None
        self._lock = threading.Lock()
        if threshold is not None:
            self.calibration.threshold = float(threshold)
        if margin is not None:
            self.calibration.margin = float(margin)
        if temperature is not None:
            self.calibration.temperature = float(temperature)
        self.keys = self._view("feat_keys")
        self.idf = self._view("feat_idf")
        table = tensors["table"]
        if len(table.shape) != 2 or table.shape[0] != len(self.keys):
            raise Unsupported("table shape")
        self.width = table.shape[1]
        self._row = struct.Struct(f"<{self.width}e")
        self._table_at = table.offset
        self.emb_bias = self._view("bag_bias").tolist()
        hidden = self.hidden_size = len(self.emb_bias)
        self.has_linear = self.width > hidden
        out = tensors["out_weight"]
        if len(out.shape) != 3 or out.shape[1] * out.shape[0] != hidden:
            raise Unsupported("out_weight shape")
        members, _, n_labels = out.shape
        if n_labels != len(self.labels):
            raise Unsupported("labels")
        w = [x / members for x in self._view("out_weight").tolist()]  # (hidden, labels)
        self.out_cols = [w[j::n_labels] for j in range(n_labels)]  # one list per label
        b = self._view("out_bias").tolist()
        self.out_b = [
            sum(b[m * n_labels + j] for m in range(members)) / members for j in range(n_labels)
        ]
        self.linear_bias = (
            self._view("linear_bias").tolist() if "linear_bias" in tensors else [0.0] * n_labels
        )
        self.linear_weight = (
            float(self._view("linear_weight")[0]) if "linear_weight" in tensors else 1.0
        )
        if self.has_linear and (
            self.width - hidden != n_labels or len(self.linear_bias) != n_labels
        ):
            raise Unsupported("linear member")
        self.oos_index = self.labels.index(OOS) if OOS in self.labels else -1
        self.known_labels = tuple(label for label in self.labels if label != OOS)
        self.has_examples = "ex_vectors" in tensors and "ex_offsets" in tensors
        if self.has_examples:
            ex = tensors["ex_vectors"]
            if len(ex.shape) != 2 or ex.shape[1] != hidden:
                raise Unsupported("ex_vectors shape")
            self.ex_offsets = self._view("ex_offsets").tolist()
            centre = None
            if "ex_centre" in tensors:
                if tuple(tensors["ex_centre"].shape) != (n_labels,):
                    raise Unsupported("ex_centre shape")
                centre = self._view("ex_centre").tolist()
            self.ex_centre = centre or [0.0] * n_labels
            self._ex = struct.Struct(f"<{hidden}e")
            self._ex_at = ex.offset
        self._words: dict[str, tuple[list[float] | None, float]] = {}
        self.vectors = None
        info = router.get("vectors")
        if info:  # static word vectors (vectors.py, numpy-free): one column per bag entry
            from enigma_router import vectors

            vt = tensors.get("vec_table")
            if vt is None or vt.shape != (int(info.get("dims", -1)), self.width):
                raise Unsupported("vec_table")
            self.vectors = vectors.load_for(info, str(directory))
            if self.vectors.dims != vt.shape[0]:
                raise Unsupported("vec_table dims")
            flat = self._view("vec_table").tolist()
            self.vec_cols = [flat[j :: self.width] for j in range(self.width)]

    def _view(self, name: str) -> memoryview:
        t = self.tensors[name]
        fmt, size = _FORMATS[t.dtype]
        return memoryview(self.buf)[t.offset : t.offset + t.count * size].cast(fmt)

    def close(self) -> None:
        """Release the views (the numpy model maps the file again)."""
        self.keys.release()
        self.idf.release()

    # -- features ------------------------------------------------------------------------------
    def _rows(self, counts: dict[int, int]) -> tuple[list[int], list[float]]:
        """Rows of the known keys and their weights ``idf * (1 + ln count)``."""
        keys, idf, n = self.keys, self.idf, len(self.keys)
        rows, weights = [], []
        for key, count in counts.items():
            pos = bisect.bisect_left(keys, key)
            if pos < n and keys[pos] == key:
                rows.append(pos)
                weights.append(idf[pos] * (1.0 + math.log(count)))
        return rows, weights

    def _weighted(self, rows: list[int], weights: list[float]) -> list[float]:
        """``sum_i weights_i * table[rows_i]`` (the float16 rows read from the mapped file)."""
        unpack, at, step = self._row.unpack_from, self._table_at, 2 * self.width
        buf = self.buf
        acc = [0.0] * self.width
        for r, w in zip(rows, weights, strict=True):
            acc = [a + w * x for a, x in zip(acc, unpack(buf, at + r * step), strict=True)]
        return acc

    def _word(self, word: str) -> tuple[list[float] | None, float]:
        """``(sum_r w_r table[r], sum_r w_r^2)`` over a word's char n-grams (cached)."""
        got = self._words.get(word)
        if got is None:
            rows, weights = self._rows(Counter(char_keys(word, self.char_min, self.char_max)))
            vec = self._weighted(rows, weights) if rows else None
            got = (vec, sum(map(mul, weights, weights)))
            if len(word) <= CACHE_KEY_CHARS:  # (as features.CACHE_KEY_CHARS)
                if len(self._words) >= CACHE_LIMIT:
                    self._words.clear()
                self._words[word] = got
        return got

    def bag_sum(self, text: str) -> list[float]:
        """:meth:`_ngram_sum`, plus the request's unit word vector times ``vec_table`` when the
        router uses word vectors."""
        acc = self._ngram_sum(text)
        if self.vectors is not None:
            u = self.vectors.unit(text)
            acc = [a + sum(map(mul, u, col)) for a, col in zip(acc, self.vec_cols, strict=True)]
        return acc

    def _ngram_sum(self, text: str) -> list[float]:
        """``sum_i w_i * table[row_i]`` of one request, the features of ``features.py``: word
        n-grams L2-normalised, then each word's char n-grams, the char group L2-normalised."""
        words = tokens(text, self.lowercase)
        rows, weights = self._rows(word_keys(words, self.word_n, self.boundaries))
        if rows:
            scale = 1.0 / math.sqrt(sum(map(mul, weights, weights)))
            acc = self._weighted(rows, [w * scale for w in weights])
        else:
            acc = [0.0] * self.width
        if not (self._chars and words):
            return acc
        parts = [self._word(w) for w in words]
        sq = sum(q for _, q in parts)
        if sq > 0:
            vecs = [v for v, _ in parts if v is not None]
            scale = 1.0 / math.sqrt(sq)
            char = [sum(col) for col in zip(*vecs, strict=True)]
            acc = [a + scale * c for a, c in zip(acc, char, strict=True)]
        return acc

    # -- the network and the decision ------------------------------------------------------------
    def hidden(self, acc: Sequence[float]) -> list[float]:
        """The MLP's ReLU layer of a bag sum."""
        return [max(a + b, 0.0) for a, b in zip(acc, self.emb_bias, strict=False)]

    def logits(self, acc: Sequence[float]) -> list[float]:
        """Raw logits of a bag sum (before temperature)."""
        h = self.hidden(acc)
        out = [b + sum(map(mul, h, col)) for b, col in zip(self.out_b, self.out_cols, strict=True)]
        if self.has_linear:
            lw, tail = self.linear_weight, acc[self.hidden_size :]
            out = [o + lw * (a + b) for o, a, b in zip(out, tail, self.linear_bias, strict=True)]
        return out

    def probabilities(self, logits: Sequence[float]) -> list[float]:
        """Softmax of ``logits / temperature``."""
        t = max(self.calibration.temperature, 1e-6)
        z = [x / t for x in logits]
        top = max(z)
        e = [math.exp(x - top) for x in z]
        total = sum(e)
        return [x / total for x in e]

    @staticmethod
    def best_index(probs: Sequence[float]) -> int:
        """The index of the largest probability (the first of equals, as numpy's argmax)."""
        return max(range(len(probs)), key=probs.__getitem__)

    def unknown_one(self, acc: Sequence[float], label: int) -> float:
        """``1 - max cosine`` of a bag sum's hidden vector to ``label``'s stored examples, minus
        ``label``'s centre (0 in routers trained before centring)."""
        centre = self.ex_centre[label]
        s, e = self.ex_offsets[label], self.ex_offsets[label + 1]
        if e <= s:
            return 2.0 - centre
        h = self.hidden(acc)
        norm = math.sqrt(sum(map(mul, h, h)))
        if norm <= 0:
            return 1.0 - centre
        unpack, at, step, buf = self._ex.unpack_from, self._ex_at, 2 * self.hidden_size, self.buf
        best = max(sum(map(mul, unpack(buf, at + i * step), h)) for i in range(s, e))
        return 1.0 - best / norm - centre

    def scored(
        self, acc: Sequence[float], budget: float | None = None
    ) -> tuple[list[float], float | None, float | None]:
        """``(probs, unknown score, limit)`` as ``RouterModel.scored``."""
        probs = self.probabilities(self.logits(acc))
        limit = self.calibration.limit(budget) if self.has_examples else math.inf
        if limit == math.inf:
            return probs, None, None
        best = self.best_index(probs)
        doubt = self.calibration.unknown_doubt * (1.0 - probs[best])
        return probs, self.unknown_one(acc, best) + doubt, limit

    def decide(
        self,
        probs: Sequence[float],
        top_k: int = 3,
        threshold: float | None = None,
        margin: float | None = None,
        unknown: float | None = None,
        limit: float | None = None,
    ) -> Result:
        """``RouterModel.decide`` of a probability list."""
        order = sorted(range(len(probs)), key=probs.__getitem__, reverse=True)
        return decision(self, probs, order, top_k, threshold, margin, unknown, limit)

    def classify(self, text: str, top_k: int = 3, budget: float | None = None) -> Result:
        """``RouterModel.classify`` of one request."""
        probs, score, limit = self.scored(self.bag_sum(text), budget)
        return self.decide(probs, top_k, unknown=score, limit=limit)

    def pick(self, numpy: bool = False) -> PureRouter | RouterModel:
        """What answers a single request: this router, or its numpy twin when ``numpy``."""
        return self.full() if numpy else self

    def full(self) -> RouterModel:
        """The numpy :class:`RouterModel` over the same mapped file and knobs (built once,
        thread-safe; no second read of the file)."""
        if self._numpy is None:
            with self._lock:
                if self._numpy is None:
                    self._numpy = self._build()
        return self._numpy

    def _build(self) -> RouterModel:
        import numpy as np

        from enigma_router.inference import RouterModel

        dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "U8": np.uint8}
        arrays = {
            name: np.frombuffer(self.buf, dtypes[t.dtype], t.count, t.offset).reshape(t.shape)
            for name, t in self.tensors.items()
        }
        return RouterModel(self.meta, arrays, None, **self._knobs, where=str(self.directory))


def decision(
    model: PureRouter | RouterModel,
    probs: Sequence[float],
    order: Sequence[int],
    top_k: int,
    threshold: float | None,
    margin: float | None,
    unknown: float | None,
    limit: float | None,
) -> Result:
    """The oos rule both paths share: ``(intent, confidence, alternatives)`` of one request's
    probabilities with ``order`` (label indices, best first; at least the top two when there
    are two); ``threshold``/``margin`` override the model's calibrated knobs when given."""
    n_alt = max(top_k - 1, 0)
    best = order[0]
    p1 = probs[best]
    p2 = probs[order[1]] if len(order) > 1 else 0.0
    labels = model.labels
    runners = [(labels[i], probs[i]) for i in order[1 : 1 + n_alt]]
    cal = model.calibration
    threshold = cal.threshold if threshold is None else threshold
    margin = cal.margin if margin is None else margin
    too_far = unknown is not None and limit is not None and unknown > limit
    if best != model.oos_index and (p1 < threshold or p1 - p2 < margin or too_far):
        return OOS, 1.0 - p1, [(labels[best], p1), *runners][:n_alt]
    if best == model.oos_index:
        return OOS, p1, runners
    return labels[best], p1, runners


class LazyRouter:
    """A router that answers single requests in pure Python (:class:`PureRouter`) until its
    numpy :class:`RouterModel` exists, and everything with that model afterwards (module doc).

    The numpy model is built at once when a call needs it (a batch, ``explain``, new intents,
    an attribute only it has) or when numpy is already imported; otherwise the second single
    request starts building it in a background thread (a process that asks twice is likely to
    ask again: a server, a batch file), so no request waits for numpy's import, and a process
    that asks once (``enigma classify TEXT``) never imports numpy."""

    def __init__(self, pure: PureRouter) -> None:
        """Wrap a loaded :class:`PureRouter`."""
        self.pure = pure
        self.labels = pure.labels
        self.meta = pure.meta
        self.oos_index = pure.oos_index
        self._full: RouterModel | None = None
        self._served = 0
        self.builder: threading.Thread | None = None
        """The background thread building the numpy model (None: not started)."""

    @property
    def calibration(self) -> Calibration:
        """The calibration in use (the numpy model's once it exists)."""
        return self.pure.calibration if self._full is None else self._full.calibration

    @property
    def full(self) -> RouterModel:
        """The numpy model (built once, thread-safe; waits for a build in progress)."""
        if self._full is None:
            self._done(self.pure.full())
        return self._full  # type: ignore[return-value]

    @property
    def is_pure(self) -> bool:
        """Whether the numpy model is not there yet."""
        return self._full is None

    def _build(self) -> None:
        """The background build: on failure the pure path keeps answering (said once on
        stderr); a call that needs numpy then raises the error in its own thread."""
        try:
            self._done(self.pure.full())
        except Exception as exc:  # a thread must not die with a traceback
            print(f"enigma: warning: router numpy model not built ({exc})", file=sys.stderr)

    def _done(self, model: RouterModel) -> None:
        """Switch to the numpy model and drop the pure path's word cache (memory)."""
        self._full = model
        self.pure._words.clear()

    def pick(self, numpy: bool = False) -> PureRouter | RouterModel:
        """What answers the next single request (see the class doc)."""
        if self._full is not None or numpy:
            return self.full
        if self.builder is None:
            if "numpy" in sys.modules:  # imported already: the numpy model costs milliseconds
                return self.full
            self._served += 1
            if self._served >= 2:
                builder = threading.Thread(target=self._build, name="enigma-router-numpy")
                self.builder = builder
                builder.start()
        return self.pure

    def classify(self, text: str, top_k: int = 3, budget: float | None = None) -> Result:
        """``RouterModel.classify`` of one request (see :meth:`pick`)."""
        return self.pick().classify(text, top_k, budget)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("pure", "_full", "_served", "builder", "_done"):
            raise AttributeError(name)
        return getattr(self.full, name)


def load(
    model_dir: str | Path,
    tokenizer: SharedTokenizer | Callable[[], SharedTokenizer] | None = None,
    **overrides: Any,
) -> LazyRouter | RouterModel:
    """Load a router: a :class:`LazyRouter` when numpy is not imported yet and the model is one
    the pure path handles, else (and for any problem, which it words) ``RouterModel.load``."""
    if "numpy" not in sys.modules:
        try:
            return LazyRouter(_load_pure(Path(model_dir), **overrides))
        except Unsupported:
            pass
    from enigma_router.inference import RouterModel

    return RouterModel.load(model_dir, tokenizer, **overrides)


def _load_pure(model_dir: Path, **overrides: Any) -> PureRouter:
    """:class:`PureRouter` of ``model_dir``, checked as ``RouterModel.load`` checks it."""
    from enigma_core.training.modeldir import check_protected, committed_dir, embedded

    directory = committed_dir(model_dir)
    meta = read_config(directory)
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise Unsupported("no weights")
    buf, tensors, metadata = _read_weights(weights)
    try:
        stored = embedded(metadata, weights)
    except EnigmaError:
        raise Unsupported("metadata") from None
    if stored is None:
        raise Unsupported("older")
    check_protected(meta, stored, directory)
    try:
        return PureRouter(directory, meta, buf, tensors, **overrides)
    except (KeyError, TypeError, ValueError) as exc:
        raise Unsupported(str(exc)) from None
