"""The one SentencePiece tokenizer every enigma model shares (no torch; cheap to import).

Its file's sha256 is its identity: checkpoints record it and refuse a different tokenizer.
Encoding is exact: ``decode(encode(text)) == text`` for any text, code and unicode included
(identity normalisation, no whitespace collapsing, ``\\n`` as a fixed piece, byte fallback).
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import sentencepiece as spm

from enigma_core.bounded import read_file
from enigma_core.errors import EnigmaError, TokenizerMismatchError

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
TOOL_MARKER = "[E:tool]"
VISION_MARKER = "[E:vision]"
NEWLINE = "\n"
USER_SYMBOLS: tuple[str, ...] = (TOOL_MARKER, VISION_MARKER, NEWLINE)
"""Pieces with fixed ids right after the specials: ``[E:tool]``=4, ``[E:vision]``=5, ``\\n``=6."""
TOOL_ID, VISION_ID, NEWLINE_ID = 4, 5, 6
_SPACE_MARK = "\u2581"  # SentencePiece's visible space; a literal one in text is sent as bytes.
MAX_TOKENIZER_BYTES = 64 << 20  # the shipped one is 130 KB; a 100k-piece model is ~2 MB


class SharedTokenizer:
    """A loaded SentencePiece model plus the fixed ids and identity (sha256) enigma relies on."""

    def __init__(self, model_bytes: bytes, path: Path | None = None) -> None:
        """Wrap serialized model bytes; ``path`` is only remembered for messages and ``info``."""
        name = str(path) if path is not None else "<tokenizer bytes>"
        sp = spm.SentencePieceProcessor()
        try:
            sp.LoadFromSerializedProto(model_bytes)
        except Exception:  # sentencepiece raises plain RuntimeError/OSError with C++ detail
            raise EnigmaError(f"{name}: not a SentencePiece tokenizer model") from None
        self._sp = sp
        self._path = path
        self._sha256 = hashlib.sha256(model_bytes).hexdigest()
        self._check_fixed_ids(name)
        self._space_bytes = [sp.piece_to_id(f"<0x{b:02X}>") for b in _SPACE_MARK.encode()]
        self._vocab_size = sp.get_piece_size()

    def _check_fixed_ids(self, name: str) -> None:
        """Refuse a model whose special/marker ids differ from the ones every model assumes."""
        expected = {PAD_ID: "<pad>", UNK_ID: "<unk>", BOS_ID: "<s>", EOS_ID: "</s>"}
        expected.update({TOOL_ID: TOOL_MARKER, VISION_ID: VISION_MARKER, NEWLINE_ID: NEWLINE})
        size = self._sp.get_piece_size()
        for idx, piece in expected.items():
            got = self._sp.id_to_piece(idx) if idx < size else None
            if got != piece:
                raise EnigmaError(
                    f"{name}: not an enigma tokenizer (id {idx} is {got!r}, expected {piece!r}); "
                    "train one with 'enigma tokenizer train'"
                )
        if self._sp.piece_to_id("<0x41>") == UNK_ID:
            raise EnigmaError(f"{name}: tokenizer has no byte fallback; retrain it")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SharedTokenizer:
        """Load a tokenizer file; a missing, broken, non-regular or oversized (over 64 MB) file
        is a one-line :class:`EnigmaError`, raised before anything is parsed."""
        p = Path(path)
        return cls(read_file(p, MAX_TOKENIZER_BYTES, "tokenizer"), p)

    # -- identity ---------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The file this tokenizer was loaded from (None when built from bytes)."""
        return self._path

    @property
    def sha256(self) -> str:
        """Hex sha256 of the model file: the tokenizer's identity, recorded by every model."""
        return self._sha256

    @property
    def vocab_size(self) -> int:
        """Number of ids (embedding rows a model needs)."""
        return self._vocab_size

    pad_id = PAD_ID
    unk_id = UNK_ID
    bos_id = BOS_ID
    eos_id = EOS_ID
    tool_id = TOOL_ID
    vision_id = VISION_ID
    newline_id = NEWLINE_ID

    @property
    def marker_ids(self) -> dict[str, int]:
        """Ids of the seed's markers, e.g. ``{"[E:tool]": 4, "[E:vision]": 5}``."""
        return {TOOL_MARKER: TOOL_ID, VISION_MARKER: VISION_ID}

    def require_sha256(self, expected: str, what: str = "model") -> None:
        """Raise :class:`TokenizerMismatchError` naming both hashes if ``expected`` differs."""
        if expected != self._sha256:
            raise TokenizerMismatchError(
                f"{what} was trained with tokenizer {expected[:12]} but the loaded tokenizer is "
                f"{self._sha256[:12]} ({self._path or 'bytes'}); load the tokenizer it was trained "
                "with or retrain the model"
            )

    # -- encoding ---------------------------------------------------------------------------
    def encode(
        self, text: str, add_bos: bool = False, add_eos: bool = False, *, prefix_space: bool = False
    ) -> list[int]:
        """Token ids of ``text``; exact: ``decode(encode(text)) == text``.

        ``prefix_space=True`` encodes ``" " + text`` so a request's first word gets the pieces it
        has mid-sentence (``▁draw``, not ``d``+``raw``); use it for whole requests (router),
        not for pieces that are concatenated (prompt + completion), and expect a leading space
        back from ``decode``.
        """
        if prefix_space:
            text = " " + text
        ids = self._encode_with_space_marks(text) if _SPACE_MARK in text else self._sp.encode(text)
        if add_bos:
            ids.insert(0, BOS_ID)
        if add_eos:
            ids.append(EOS_ID)
        return ids

    def _encode_with_space_marks(self, text: str) -> list[int]:
        """Encode text holding a literal U+2581 (which SentencePiece would decode as a space)."""
        ids: list[int] = []
        for i, part in enumerate(text.split(_SPACE_MARK)):
            if i:
                ids.extend(self._space_bytes)
            if part:
                ids.extend(self._sp.encode(part))
        return ids

    def encode_batch(
        self,
        texts: Sequence[str],
        add_bos: bool = False,
        add_eos: bool = False,
        *,
        prefix_space: bool = False,
    ) -> list[list[int]]:
        """Token ids of many texts (same result as ``encode`` on each, faster in one call)."""
        if prefix_space:
            texts = [" " + t for t in texts]
        if any(_SPACE_MARK in t for t in texts):
            return [self.encode(t, add_bos, add_eos) for t in texts]
        out: list[list[int]] = self._sp.encode(list(texts), num_threads=1)
        if add_bos or add_eos:
            head = [BOS_ID] if add_bos else []
            tail = [EOS_ID] if add_eos else []
            out = [head + ids + tail for ids in out]
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; pad/bos/eos are dropped, unknown ids raise :class:`EnigmaError`."""
        seq = [int(i) for i in ids]
        for i in seq:
            if not 0 <= i < self._vocab_size:
                raise EnigmaError(
                    f"token id {i} is outside the vocabulary (0..{self._vocab_size - 1})"
                )
        return self._sp.decode(seq)

    def id_to_piece(self, idx: int) -> str:
        """The piece string of one id (for debugging and reports)."""
        return self._sp.id_to_piece(int(idx))

    def pieces(self, text: str) -> list[str]:
        """The pieces ``text`` splits into (debugging aid)."""
        return [self._sp.id_to_piece(i) for i in self.encode(text)]

    def __len__(self) -> int:
        """Same as :attr:`vocab_size`."""
        return self._vocab_size

    def __repr__(self) -> str:
        """Short description with path, size and hash prefix."""
        return (
            f"SharedTokenizer(path={self._path}, vocab_size={self._vocab_size}, "
            f"sha256={self._sha256[:12]})"
        )

    def info(self) -> dict[str, object]:
        """JSON-ready facts: path, sha256, vocab size and the fixed special ids."""
        return {
            "path": str(self._path) if self._path else None,
            "sha256": self._sha256,
            "vocab_size": self._vocab_size,
            "special_ids": {
                "pad": PAD_ID,
                "unk": UNK_ID,
                "bos": BOS_ID,
                "eos": EOS_ID,
                TOOL_MARKER: TOOL_ID,
                VISION_MARKER: VISION_ID,
                "newline": NEWLINE_ID,
            },
        }


def default_tokenizer_path() -> Path:
    """The tokenizer shipped inside the ``enigma_core`` package (``assets/tokenizer.model``)."""
    return Path(__file__).resolve().parent / "assets" / "tokenizer.model"


@functools.cache
def load_default() -> SharedTokenizer:
    """The shipped tokenizer, loaded once per process."""
    return SharedTokenizer.load(default_tokenizer_path())


# -- training -------------------------------------------------------------------------------
def _read_lines(path: Path) -> list[str]:
    """Non-empty lines of a UTF-8 text file; unreadable or non-UTF-8 files are EnigmaErrors."""
    from enigma_core.formats import read_text_file

    return [ln for ln in read_text_file(path).splitlines() if ln.strip()]


def _data_lines(path: Path) -> list[str]:
    """Training lines of one data file: JSON lines contribute their text fields, not the syntax."""
    from enigma_core.formats import JSONL_SUFFIXES, IntentExample, load_examples

    if path.suffix.lower() not in JSONL_SUFFIXES:
        return _read_lines(path)

    texts: list[str] = []
    for ex in load_examples(path):
        texts.extend([ex.text] if isinstance(ex, IntentExample) else [ex.prompt, ex.completion])
    return [ln for t in texts for ln in t.splitlines() if ln.strip()]


def stdlib_sample_files(max_bytes: int) -> list[Path]:
    """A deterministic sample (~``max_bytes``) of the running Python's stdlib sources, no tests.

    Files are ordered by a hash of their relative path, so the same Python version always yields
    the same sample; the sample gives the tokenizer realistic Python code to learn from.
    """
    import sysconfig

    if max_bytes <= 0:
        return []
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
    candidates = []
    for p in root.rglob("*.py"):
        rel = p.relative_to(root)
        if skip.intersection(rel.parts[:-1]) or rel.name.startswith("test_"):
            continue
        candidates.append((hashlib.sha256(rel.as_posix().encode()).hexdigest(), p))
    chosen: list[Path] = []
    total = 0
    for _, p in sorted(candidates):
        size = p.stat().st_size
        if size > max_bytes // 4 or size == 0:  # keep the sample varied: no single giant file
            continue
        chosen.append(p)
        total += size
        if total >= max_bytes:
            break
    return chosen


def _stdlib_lines(files: list[Path]) -> Iterator[str]:
    """Non-empty lines of stdlib files; files that are not valid UTF-8 are skipped."""
    for p in files:
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        yield from (ln for ln in text.splitlines() if ln.strip())


def train_tokenizer(
    files: Sequence[str | os.PathLike[str]],
    out_path: str | os.PathLike[str],
    vocab_size: int = 8192,
    *,
    stdlib_sample_bytes: int = 0,
    model_type: str = "unigram",
    character_coverage: float = 0.9999,
) -> SharedTokenizer:
    """Train a shared tokenizer on ``files`` (+ optional stdlib code) and write it atomically.

    Deterministic: the same files, options and Python version give a byte-identical model
    (one thread, no sampling, no paths recorded in the model). Returns the loaded tokenizer.
    """
    from enigma_core.atomic import atomic_write_bytes

    if not files and stdlib_sample_bytes <= 0:
        raise EnigmaError("no training files given for the tokenizer (use --data FILE)")
    min_vocab = 256 + len(USER_SYMBOLS) + 4 + 16
    if vocab_size < min_vocab:
        raise EnigmaError(f"--vocab-size {vocab_size} is too small (at least {min_vocab})")
    lines: list[str] = []
    for f in files:
        lines.extend(_data_lines(Path(f)))
    lines.extend(_stdlib_lines(stdlib_sample_files(stdlib_sample_bytes)))
    if not lines:
        raise EnigmaError("the tokenizer training files hold no text")
    buf = io.BytesIO()
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines),
            model_writer=buf,
            vocab_size=vocab_size,
            model_type=model_type,
            character_coverage=character_coverage,
            byte_fallback=True,
            normalization_rule_name="identity",
            remove_extra_whitespaces=False,
            add_dummy_prefix=False,
            allow_whitespace_only_pieces=True,
            split_digits=True,
            max_sentence_length=16384,
            input_sentence_size=0,
            shuffle_input_sentence=False,
            hard_vocab_limit=False,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            user_defined_symbols=list(USER_SYMBOLS),
            num_threads=1,
            minloglevel=2,
        )
    except RuntimeError as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise EnigmaError(f"tokenizer training failed: {msg}") from None
    data = buf.getvalue()
    tok = SharedTokenizer(data, Path(out_path))
    atomic_write_bytes(out_path, data)
    os.chmod(out_path, 0o644)  # a tokenizer is a shareable asset, not a private temp file
    return tok


def manifest_path(model_path: str | os.PathLike[str]) -> Path:
    """Where the provenance manifest of a tokenizer lives (``X.model`` → ``X.manifest.json``)."""
    return Path(model_path).with_suffix(".manifest.json")


def write_manifest(
    tok: SharedTokenizer,
    files: Sequence[str | os.PathLike[str]],
    *,
    data_repeat: int = 1,
    stdlib_sample_bytes: int = 0,
) -> Path:
    """Record what a tokenizer was trained from (file hashes, options, versions) beside it.

    Retraining reproduces the same sha256 only from the same inputs; the manifest says which.
    """
    import json
    import platform

    from enigma_core.atomic import atomic_write_text

    if tok.path is None:
        raise EnigmaError("cannot write a manifest for a tokenizer that has no file")
    inputs = []
    for f in files:
        data = Path(f).read_bytes()
        inputs.append(
            {"path": str(f), "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        )
    facts = {
        "sha256": tok.sha256,
        "vocab_size": tok.vocab_size,
        "inputs": inputs,
        "data_repeat": data_repeat,
        "stdlib_sample_bytes": stdlib_sample_bytes,
        "stdlib_files": len(stdlib_sample_files(stdlib_sample_bytes)),
        "python": platform.python_version(),
        "sentencepiece": spm.__version__,
    }
    out = manifest_path(tok.path)
    atomic_write_text(out, json.dumps(facts, indent=2) + "\n")
    os.chmod(out, 0o644)
    return out
