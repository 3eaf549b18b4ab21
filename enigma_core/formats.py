"""Parsers for enigma's training-data files (the seed's Q/A formats and JSON lines); no torch.

Formats: router ``Q: <input>`` / ``A: [E:tool]<intent>``; vision ``Q: [E:vision] <features>`` /
``A: <description>``; code ``Q: <task>`` / ``A: <code>`` (the answer runs until the next ``Q:`` at
column 0); JSON lines ``{"text", "intent"}`` or ``{"prompt", "completion"}``. Every problem is an
:class:`EnigmaError` of one line, ``file:line: what is wrong``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from enigma_core.errors import EnigmaError

TOOL_MARKER = "[E:tool]"
VISION_MARKER = "[E:vision]"
OOS = "oos"
_OOS_ALIASES = {"oos", "out_of_scope", "out-of-scope", "outofscope"}
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
MIN_EXAMPLES = 50
MIN_PER_INTENT = 10


@dataclass(frozen=True, slots=True)
class IntentExample:
    """One labelled request for the router: the text, its intent, and where it was read."""

    text: str
    intent: str
    source: str = ""
    line: int = 0


@dataclass(frozen=True, slots=True)
class PairExample:
    """One prompt/completion pair for a generator (vision features → text, task → code)."""

    prompt: str
    completion: str
    source: str = ""
    line: int = 0


Example = TypeVar("Example", IntentExample, PairExample)


def _fail(source: str, line: int, what: str) -> EnigmaError:
    """The one-line ``file:line: what`` error every parser raises."""
    return EnigmaError(f"{source}:{line}: {what}")


def normalize_intent(label: str) -> str:
    """Strip a label and map every out-of-scope spelling (``out_of_scope``, ``OOS``) to ``oos``."""
    label = label.strip()
    return OOS if label.lower() in _OOS_ALIASES else label


def _check_intent(label: str, source: str, line: int) -> str:
    """Normalise an intent label, refusing empty or multi-word ones."""
    label = normalize_intent(label)
    if not label:
        raise _fail(source, line, f"empty intent after {TOOL_MARKER}")
    if any(ch.isspace() for ch in label):
        raise _fail(source, line, f"intent {label!r} must be one word (use '_' between words)")
    return label


# -- reading ---------------------------------------------------------------------------------
def read_text_file(path: str | os.PathLike[str]) -> str:
    """UTF-8 text of ``path`` (BOM dropped); missing files and bad bytes are one-line errors."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise EnigmaError(f"{p}: file not found") from None
    except IsADirectoryError:
        raise EnigmaError(f"{p}: is a directory, expected a data file") from None
    except OSError as exc:
        raise EnigmaError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _fail(str(p), line, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x})") from None
    return text.removeprefix("\ufeff")


def _lines(text: str) -> list[str]:
    """Lines of ``text`` without their ``\\n`` or ``\\r\\n`` ending (numbering stays 1-based)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _is_comment(line: str) -> bool:
    """A ``#`` line at column 0 outside any answer is a comment."""
    return line.startswith("#")


# -- router ----------------------------------------------------------------------------------
def parse_router(text: str, source: str = "<text>") -> list[IntentExample]:
    """Parse ``Q: <input>`` / ``A: [E:tool]<intent>`` pairs; blank lines and ``#`` lines skipped."""
    out: list[IntentExample] = []
    question: tuple[str, int] | None = None
    for number, line in enumerate(_lines(text), 1):
        if not line.strip() or (question is None and _is_comment(line)):
            continue
        if line.startswith("Q:"):
            if question is not None:
                raise _fail(source, question[1], "question has no 'A: [E:tool]<intent>' answer")
            body = line[2:].strip()
            if not body:
                raise _fail(source, number, "empty question after 'Q:'")
            question = (body, number)
        elif line.startswith("A:"):
            if question is None:
                raise _fail(source, number, "answer without a 'Q:' line before it")
            answer = line[2:].strip()
            if not answer.startswith(TOOL_MARKER):
                raise _fail(source, number, f"answer has no {TOOL_MARKER} intent")
            intent = _check_intent(answer[len(TOOL_MARKER) :], source, number)
            out.append(IntentExample(question[0], intent, source, question[1]))
            question = None
        elif question is not None:
            raise _fail(source, number, f"expected 'A: {TOOL_MARKER}<intent>' after the question")
        else:
            raise _fail(source, number, "expected a line starting with 'Q:'")
    if question is not None:
        raise _fail(source, question[1], "question has no 'A: [E:tool]<intent>' answer")
    return out


# -- vision and code (multi-line answers) ------------------------------------------------------
def _parse_pairs(text: str, source: str, *, vision: bool) -> list[PairExample]:
    """Shared reader for Q/A pairs whose answer runs until the next ``Q:`` line at column 0."""
    out: list[PairExample] = []
    lines = _lines(text)
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or _is_comment(line):
            i += 1
            continue
        if line.startswith("A:"):
            raise _fail(source, i + 1, "answer without a 'Q:' line before it")
        if not line.startswith("Q:"):
            raise _fail(source, i + 1, "expected a line starting with 'Q:'")
        q_line = i + 1
        question = [line[2:].strip()]
        i += 1
        while i < len(lines) and not lines[i].startswith(("A:", "Q:")):
            question.append(lines[i])
            i += 1
        if i >= len(lines) or lines[i].startswith("Q:"):
            raise _fail(source, q_line, "question has no 'A:' answer")
        prompt = "\n".join(question).strip()
        if vision:
            if not prompt.startswith(VISION_MARKER):
                raise _fail(source, q_line, f"question has no {VISION_MARKER} marker")
            prompt = prompt[len(VISION_MARKER) :].strip()
            if not prompt:
                raise _fail(source, q_line, f"no features after {VISION_MARKER}")
        elif not prompt:
            raise _fail(source, q_line, "empty question after 'Q:'")
        a_line = i + 1
        first = lines[i][2:]
        answer = [first[1:] if first.startswith(" ") else first]
        i += 1
        while i < len(lines) and not lines[i].startswith("Q:"):
            answer.append(lines[i])
            i += 1
        while answer and not answer[-1].strip():
            answer.pop()
        while answer and not answer[0].strip():
            answer.pop(0)
        if not answer:
            raise _fail(source, a_line, "empty answer after 'A:'")
        completion = "\n".join(answer)
        out.append(PairExample(prompt, completion, source, q_line))
    return out


def parse_vision(text: str, source: str = "<text>") -> list[PairExample]:
    """Parse ``Q: [E:vision] <features>`` / ``A: <description>`` pairs (prompt = features)."""
    return _parse_pairs(text, source, vision=True)


def parse_code(text: str, source: str = "<text>") -> list[PairExample]:
    """Parse ``Q: <task>`` / ``A: <code>`` pairs; code keeps its blank lines and indentation."""
    return _parse_pairs(text, source, vision=False)


# -- JSON lines --------------------------------------------------------------------------------
def _field(obj: dict[str, object], key: str, source: str, line: int) -> str:
    """A required, non-empty string field of a JSON record."""
    value = obj.get(key)
    if not isinstance(value, str):
        what = "is missing" if value is None else f"must be a string, not {type(value).__name__}"
        raise _fail(source, line, f"field '{key}' {what}")
    if not value.strip():
        raise _fail(source, line, f"field '{key}' is empty")
    return value


def parse_jsonl(text: str, source: str = "<text>") -> list[IntentExample] | list[PairExample]:
    """Parse JSON lines of ``{"text","intent"}`` (or ``label``) or ``{"prompt","completion"}``."""
    intents: list[IntentExample] = []
    pairs: list[PairExample] = []
    first_kind: tuple[str, int] | None = None
    for number, line in enumerate(_lines(text), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(source, number, f"invalid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(obj, dict):
            raise _fail(source, number, f"expected a JSON object, got {type(obj).__name__}")
        if "text" in obj:
            kind = "intent"
        elif "prompt" in obj:
            kind = "pair"
        else:
            raise _fail(
                source, number, "needs fields 'text' and 'intent', or 'prompt' and 'completion'"
            )
        if first_kind is None:
            first_kind = (kind, number)
        elif kind != first_kind[0]:
            raise _fail(
                source,
                number,
                f"mixes {kind} records with the {first_kind[0]} records of line {first_kind[1]}",
            )
        if kind == "intent":
            text_value = _field(obj, "text", source, number)
            key = "intent" if "intent" in obj or "label" not in obj else "label"
            label = _field(obj, key, source, number)
            if any(ch.isspace() for ch in label.strip()):
                raise _fail(source, number, f"intent {label.strip()!r} must be one word")
            intents.append(IntentExample(text_value, normalize_intent(label), source, number))
        else:
            prompt = _field(obj, "prompt", source, number)
            completion = _field(obj, "completion", source, number)
            pairs.append(PairExample(prompt, completion, source, number))
    return pairs if first_kind is not None and first_kind[0] == "pair" else intents


# -- detection and loading -----------------------------------------------------------------------
def detect_format(path: str | os.PathLike[str], text: str | None = None) -> str:
    """``router``, ``vision``, ``code`` or ``jsonl``: by extension, then markers, then file name.

    A Q/A file with no ``[E:tool]``/``[E:vision]`` marker is taken as the kind its name mentions
    (``router_*.txt`` → router), else as code, so a broken router file still gets router errors.
    """
    p = Path(path)
    if p.suffix.lower() in JSONL_SUFFIXES:
        return "jsonl"
    if text is None:
        text = read_text_file(p)
    first = next((ln for ln in _lines(text) if ln.strip() and not _is_comment(ln)), "")
    if first.lstrip().startswith("{"):
        return "jsonl"
    saw_qa = False
    for line in _lines(text):
        if line.startswith("A:") and TOOL_MARKER in line:
            return "router"
        if line.startswith("Q:") and line[2:].lstrip().startswith(VISION_MARKER):
            return "vision"
        saw_qa = saw_qa or line.startswith(("Q:", "A:"))
    if saw_qa:
        stem = p.stem.lower()
        hint = next((k for k in ("router", "vision", "code") if k in stem), None)
        return hint or "code"
    raise EnigmaError(f"{p}: cannot tell the data format (expected 'Q:'/'A:' lines or JSON lines)")


def load_intent_examples(path: str | os.PathLike[str]) -> list[IntentExample]:
    """Read a router file or ``{"text","intent"}`` JSON lines into intent examples.

    Any Q/A text file is parsed as router data, so a missing marker is reported by line.
    """
    text = read_text_file(path)
    source = str(path)
    fmt = detect_format(path, text)
    if fmt == "jsonl":
        records = parse_jsonl(text, source)
        if records and isinstance(records[0], PairExample):
            raise EnigmaError(f"{source}: holds prompt/completion records, expected text/intent")
        return records  # type: ignore[return-value]
    if fmt == "vision":
        raise EnigmaError(f"{source}: holds vision pairs, expected 'A: {TOOL_MARKER}<intent>'")
    return parse_router(text, source)


def load_pair_examples(path: str | os.PathLike[str], kind: str | None = None) -> list[PairExample]:
    """Read vision/code Q/A pairs or ``{"prompt","completion"}`` JSON lines.

    ``kind`` (``vision`` or ``code``) forces a parser; by default the format is detected.
    """
    text = read_text_file(path)
    source = str(path)
    fmt = kind or detect_format(path, text)
    if fmt == "vision":
        return parse_vision(text, source)
    if fmt == "code":
        return parse_code(text, source)
    if fmt == "jsonl":
        records = parse_jsonl(text, source)
        if records and isinstance(records[0], IntentExample):
            raise EnigmaError(f"{source}: holds text/intent records, expected prompt/completion")
        return records  # type: ignore[return-value]
    raise EnigmaError(f"{source}: holds router examples, expected prompt/completion pairs")


def load_examples(path: str | os.PathLike[str]) -> list[IntentExample] | list[PairExample]:
    """Read any supported file, detecting its format."""
    text = read_text_file(path)
    fmt = detect_format(path, text)
    parser = {"router": parse_router, "vision": parse_vision, "code": parse_code}.get(fmt)
    return parser(text, str(path)) if parser else parse_jsonl(text, str(path))


# -- warnings ------------------------------------------------------------------------------------
def small_dataset_warning(
    count: int, source: str = "training data", minimum: int = MIN_EXAMPLES
) -> str | None:
    """A one-line warning when ``count`` examples are too few to learn from, else None."""
    if count >= minimum:
        return None
    return (
        f"{source}: only {count} examples; at least {minimum} are recommended, "
        "so the model will learn little"
    )


def dataset_warnings(
    examples: Sequence[IntentExample | PairExample],
    source: str = "training data",
    minimum: int = MIN_EXAMPLES,
    min_per_intent: int = MIN_PER_INTENT,
) -> list[str]:
    """All size warnings for a dataset: the total, and each intent with too few examples."""
    warnings = [w for w in [small_dataset_warning(len(examples), source, minimum)] if w]
    counts: dict[str, int] = {}
    for ex in examples:
        if isinstance(ex, IntentExample):
            counts[ex.intent] = counts.get(ex.intent, 0) + 1
    for intent, n in sorted(counts.items()):
        if n < min_per_intent:
            warnings.append(
                f"{source}: intent '{intent}' has only {n} examples "
                f"(at least {min_per_intent} recommended)"
            )
    return warnings
