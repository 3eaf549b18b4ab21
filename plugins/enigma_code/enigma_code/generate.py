"""Write code for a request with the numpy runtime: stream, stop at the function's end, check.

Decoding is the core's loop (:mod:`enigma_core.inference`) with the syntax guards of
:mod:`enigma_code.constraints` as a logits processor; every settled piece of text goes through
:class:`~enigma_code.stopping.FunctionStop` and is emitted at once. The answer is checked with
``ast.parse``; when it does not parse the request is sampled again (up to ``max_attempts``
times) and the result says whether the final answer parses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_code.constraints import SyntaxGuard, closing_table
from enigma_code.drafts_parse import parse_draft
from enigma_code.stopping import FunctionStop
from enigma_core.errors import EnigmaError
from enigma_core.training.recipe import LM_PROMPT_TEMPLATE, encode_lm_prompt

if TYPE_CHECKING:
    from enigma_code.retrieval import SourceIndex
    from enigma_core.inference import NumpyTransformer
    from enigma_core.tokenizer import SharedTokenizer

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
"""The default model shipped in the package (``enigma train code`` output + source index)."""

QA_STOP = "\nQ:"


@dataclass(frozen=True)
class CodeOptions:
    """Decoding switches. ``temperature == 0`` makes the first attempt greedy; retries then
    sample at ``retry_temperature`` (a greedy retry would repeat the same answer)."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 0.95
    retry_temperature: float = 0.7
    max_attempts: int = 6
    seed: int = 0
    max_lines: int = 60
    guided: bool = True

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> CodeOptions:
        """Take the known keys of a hook's ``context.options`` (unknown ones are ignored);
        a value of the wrong type is a one-line :class:`EnigmaError` naming the option."""
        defaults = asdict(cls())
        raw = {k: options[k] for k in defaults if options.get(k) is not None}
        if options.get("max_tokens") is not None and "max_new_tokens" not in raw:
            raw["max_new_tokens"] = options["max_tokens"]  # the core's generic name
        known: dict[str, Any] = {}
        for key, value in raw.items():
            kind = type(defaults[key])
            if kind is bool and not isinstance(value, bool):
                raise EnigmaError(f"code option {key!r} must be true or false, not {value!r}")
            try:
                known[key] = kind(value)
            except (TypeError, ValueError):
                raise EnigmaError(
                    f"code option {key!r} must be a {kind.__name__}, not {value!r}"
                ) from None
        return cls(**known)


@dataclass
class CodeAnswer:
    """The final code plus how it was obtained (every attempt counted and timed)."""

    code: str
    parses: bool
    attempts: int
    tokens: int = 0
    first_token_s: float = 0.0
    seconds: float = 0.0
    finish_reason: str = "length"
    errors: list[str] = field(default_factory=list)
    trimmed: bool = False

    def to_data(self) -> dict[str, Any]:
        """The ``TaskResult.data`` form."""
        return {
            "parses": self.parses,
            "attempts": self.attempts,
            "tokens": self.tokens,
            "finish_reason": self.finish_reason,
            "first_token_ms": round(self.first_token_s * 1000, 2),
            "seconds": round(self.seconds, 4),
            "syntax_errors": self.errors,
            "trimmed": self.trimmed,
        }


def syntax_error(code: str) -> str | None:
    """None when ``code`` is non-empty and parses; otherwise a one-line reason."""
    if not code.strip():
        return "empty answer"
    try:
        parse_draft(code)
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except ValueError as exc:  # e.g. null bytes
        return str(exc)
    return None


def trim_to_parse(code: str, max_drop: int = 6) -> str | None:
    """``code`` without its last unfinished lines, if dropping at most ``max_drop`` of them
    (keeping a header and one body line) makes it parse; else None. Used only when the token
    budget cut an answer mid-statement."""
    lines = code.rstrip("\n").split("\n")
    for drop in range(1, min(max_drop, len(lines) - 2) + 1):
        candidate = "\n".join(lines[:-drop]).rstrip() + "\n"
        if syntax_error(candidate) is None:
            return candidate
    return None


class _LastDecode:
    """The tokenizer's ``decode`` remembering its last answer: at each step the text stream and
    the syntax guard decode the same ids, so the second one is free. One per generation."""

    def __init__(self, tokenizer: SharedTokenizer) -> None:
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.eos_id
        self.ids: list[int] = []
        self.text = ""

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``."""
        if len(ids) != len(self.ids) or list(ids) != self.ids:
            self.ids, self.text = list(ids), self.tokenizer.decode(ids)
        return self.text


class CodeModel:
    """A loaded code model: numpy transformer, tokenizer, metadata and (lazily) source index."""

    def __init__(
        self,
        model: NumpyTransformer,
        meta: dict[str, Any],
        tokenizer: SharedTokenizer,
        directory: Path,
    ) -> None:
        self.model, self.meta, self.tokenizer, self.directory = model, meta, tokenizer, directory
        self.template = str(meta.get("prompt_template", LM_PROMPT_TEMPLATE))
        self._newline_ids = [tokenizer.newline_id]
        pieces = [tokenizer.decode([i]) for i in range(tokenizer.vocab_size)]
        self._closers = closing_table(pieces)  # read only from here on: shared by all threads
        self._index_lock = threading.Lock()
        self._index: SourceIndex | None = None

    @classmethod
    def load(
        cls, directory: Path | None = None, tokenizer: SharedTokenizer | None = None
    ) -> CodeModel:
        """Load ``directory`` (default: the shipped weights) for numpy inference."""
        from enigma_core.inference import load_model

        directory = Path(directory) if directory is not None else WEIGHTS_DIR
        if not (directory / "config.json").is_file():
            raise EnigmaError(
                f"{directory}: no code model here; train one with 'enigma train code --out DIR'"
            )
        if tokenizer is None:
            from enigma_core.tokenizer import load_default

            tokenizer = load_default()
        model, meta = load_model(directory, tokenizer)
        return cls(model, meta, tokenizer, directory)

    def index(self) -> SourceIndex:
        """The source index stored beside the weights (loaded once, on first use)."""
        with self._index_lock:
            if self._index is None:
                from enigma_code.retrieval import SourceIndex

                self._index = SourceIndex.load(self.directory)
            return self._index

    def prompt_ids(self, request: str) -> list[int]:
        """Token ids the model is prompted with (bos + the training template)."""
        return encode_lm_prompt(self.tokenizer, request.strip(), self.template)

    def attempt(
        self,
        request: str,
        params: Any,
        emit: Callable[[str], None] | None,
        max_lines: int,
        guided: bool = True,
    ) -> tuple[str, int, float, str]:
        """One decoding run: (code, tokens, first-token seconds, finish reason).

        The loop is the core's (:func:`~enigma_core.inference.generate_ids`, its own KV cache per
        call, so threads may share this model); when ``guided``, :class:`SyntaxGuard` applies
        the lexical bans of :mod:`enigma_code.constraints` to its logits.
        """
        from enigma_core.inference import TextStream, generate_ids

        eos = self.tokenizer.eos_id
        codec = _LastDecode(self.tokenizer)
        guard = SyntaxGuard(codec, self._newline_ids, eos, self._closers)
        stream = TextStream(codec, (QA_STOP,))
        stop = FunctionStop(max_lines=max_lines)
        status: dict[str, str] = {}
        start = time.perf_counter()
        first, produced, reason = 0.0, 0, ""
        prompt = self.prompt_ids(request)
        tokens = generate_ids(
            self.model, prompt, params, eos, status=status, processors=[guard] if guided else []
        )
        for token in tokens:
            if not produced:
                first = time.perf_counter() - start
            produced += 1
            shown = stop.feed(stream.push(token))
            if shown and emit is not None:
                emit(shown)
            if stop.done or stream.stopped:
                reason = "length" if stop.reason == "max_lines" else "stop"
                break
        reason = reason or status["reason"]
        if reason != "stop":
            shown = stop.feed(stream.flush())
            if shown and emit is not None:
                emit(shown)
        if not produced:
            first = time.perf_counter() - start
        return stop.finish(), produced + (reason == "eos"), first, reason


def write_code(
    model: CodeModel,
    request: str,
    options: CodeOptions | None = None,
    emit: Callable[[str], None] | None = None,
) -> CodeAnswer:
    """Generate a function for ``request``; resample until it parses or attempts run out."""
    from enigma_core.inference import SamplingParams

    options = options or CodeOptions()
    answer = CodeAnswer(code="", parses=False, attempts=0)
    start = time.perf_counter()
    for attempt in range(1, max(1, options.max_attempts) + 1):
        temperature = options.temperature
        if attempt > 1 and temperature == 0:
            temperature = options.retry_temperature
        params = SamplingParams(
            max_new_tokens=options.max_new_tokens,
            temperature=temperature,
            top_p=options.top_p,
            seed=options.seed + attempt - 1,
        )
        if attempt > 1 and emit is not None:
            emit(f"\n# ^ {answer.errors[-1]}; sampling again (attempt {attempt})\n\n")
        code, tokens, first, reason = model.attempt(
            request, params, emit, options.max_lines, options.guided
        )
        answer.attempts, answer.code, answer.finish_reason = attempt, code, reason
        answer.tokens += tokens
        if attempt == 1:
            answer.first_token_s = first
        error = syntax_error(code)
        if error is not None and reason == "length":
            trimmed = trim_to_parse(code)
            if trimmed is not None:
                answer.code, answer.trimmed, error = trimmed, True, None
        if error is None:
            answer.parses = True
            break
        answer.errors.append(error)
    if emit is not None and answer.code:
        emit("\n")  # streamed text now equals the answer, final newline included
    answer.seconds = time.perf_counter() - start
    return answer


_DEFAULT: CodeModel | None = None
_DEFAULT_LOCK = threading.Lock()


def default_model() -> CodeModel:
    """The shipped model, loaded once per process."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = CodeModel.load()
        return _DEFAULT


def generate_code(prompt: str, **options: Any) -> str:
    """The seed's API: Python code for ``prompt`` from the shipped model (greedy, checked)."""
    return write_code(default_model(), prompt, CodeOptions.from_options(options)).code
