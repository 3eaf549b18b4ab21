"""Cheap lexical guards applied while decoding, so a small model's answers parse more often.

:class:`PyLexer` follows the generated text incrementally (strings, comments, bracket depth,
whether a body has started). From it, :func:`banned_tokens` forbids at each step:

- a newline or eos while a single-line string literal is open (the model must close it);
- eos while brackets are open or before the function has a body line;
- a token that closes a bracket which is not open, or not the innermost open one
  (``f(x))``, ``[a)``), using a table of the tokens that start with closing brackets;
- the token that would continue a loop: one token 8 times in a row, or a unit of 2–4 tokens
  4 times (``x, x, x, x, ...``, ``_to_to_to_to``) — the degenerate loops of greedy decoding.

These never change a well-formed answer; they only remove continuations that cannot parse.
:class:`SyntaxGuard` applies them as a logits processor of the core's decoding loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

MAX_UNIT = 4
MAX_SINGLE = 8  # digits are single tokens: 10000000 is legitimate
MAX_REPEATS = 4


@dataclass
class PyLexer:
    """Incremental, approximate Python lexer state over the text generated so far."""

    quote: str = ""  # open string delimiter: ' " ''' or """ ("" when outside strings)
    escape: bool = False
    comment: bool = False
    brackets: str = ""  # the open (, [ and { in order (outside strings and comments)
    line: str = ""  # the current (unfinished) physical line
    start: str = ""  # first character of the current logical line ("" before it starts)
    header: bool = False  # a logical line starting at column 0 was completed
    body: bool = False  # an indented logical line was completed after a header
    closed: int = -1  # line length just after the last single-quoted string closed
    opened: int = 0  # line length before the open triple quote

    def feed(self, piece: str) -> None:
        """Advance over ``piece`` (character by character, so piece boundaries never matter)."""
        for ch in piece:
            if ch == "\n":
                self._end_line()
                continue
            if not self.start and not self.quote and ch not in " \t#":
                self.start = "x" if not self.line else " "
            self.line += ch
            if self.comment:
                continue
            if self.quote:
                if self.escape:
                    self.escape = False
                elif ch == "\\":
                    self.escape = True
                elif len(self.quote) == 3:
                    if self.line.endswith(self.quote) and len(self.line) > self.opened + 3:
                        self.quote = ""
                elif ch == self.quote:
                    self.quote, self.closed = "", len(self.line)
            elif ch == "#":
                self.comment = True
            elif ch in "'\"":
                if self.line.endswith(ch * 3) and self.closed == len(self.line) - 1:
                    self.quote, self.opened = ch * 3, len(self.line) - 3  # '' then ' = '''
                else:
                    self.quote = ch
            elif ch in "([{":
                self.brackets += ch
            elif ch in ")]}":
                self.brackets = self.brackets[:-1]

    def _end_line(self) -> None:
        """Bookkeeping at a newline: a logical line ends when no bracket or string is open."""
        self.line, self.comment, self.closed, self.opened = "", False, -1, -3
        if len(self.quote) == 1:
            self.quote = ""  # an unterminated single-line string cannot continue
        if self.quote or self.depth or not self.start:
            return
        if self.start == " ":
            self.body = self.body or self.header
        else:
            self.header = True
        self.start = ""

    @property
    def depth(self) -> int:
        """How many brackets are open."""
        return len(self.brackets)

    @property
    def in_line_string(self) -> bool:
        """True inside a single-quoted string that must end on this line."""
        return len(self.quote) == 1 and not self.escape

    @property
    def can_end(self) -> bool:
        """True when ending the answer now could leave parseable code."""
        if self.quote or self.depth:
            return False
        return self.body or (self.start == " " and self.header)


def repeating_token(ids: Sequence[int]) -> int | None:
    """The token that would extend a loop at the end of ``ids``: one token repeated
    :data:`MAX_SINGLE` times, or a unit of 2-4 tokens repeated :data:`MAX_REPEATS` times."""
    for unit in range(1, MAX_UNIT + 1):
        span = unit * (MAX_SINGLE if unit == 1 else MAX_REPEATS)
        if len(ids) < span:
            continue
        tail = ids[-span:]
        if all(tail[k] == tail[k % unit] for k in range(span)):
            return int(tail[0])  # the next token of the pattern repeats its first token
    return None


OPENER = {")": "(", "]": "[", "}": "{"}
ClosingTable = list[tuple[str, list[int]]]


def closing_table(pieces: Sequence[str]) -> ClosingTable:
    """Group token ids by the closing brackets their text starts with (spaces ignored), e.g.
    ``")"``, ``"))"``, ``")]"``; tokens holding quotes, ``#`` or newlines are left out."""
    groups: dict[str, list[int]] = {}
    for token, piece in enumerate(pieces):
        if not piece or any(c in piece for c in "'\"#\n"):
            continue
        prefix = ""
        for ch in piece:
            if ch in OPENER:
                prefix += ch
            elif ch in "([{":
                break
        if prefix:
            groups.setdefault(prefix, []).append(token)
    return sorted(groups.items())


def _closes_cleanly(prefix: str, brackets: str) -> bool:
    """True when closing ``prefix`` in order matches the innermost open ``brackets``."""
    if len(prefix) > len(brackets):
        return False
    return all(OPENER[c] == brackets[-1 - k] for k, c in enumerate(prefix))


def banned_tokens(
    lexer: PyLexer,
    ids: Sequence[int],
    newline_ids: Sequence[int],
    eos_id: int,
    closers: ClosingTable = (),
) -> list[int]:
    """Token ids that must not come next (see the module docstring)."""
    banned: list[int] = []
    if lexer.in_line_string:
        banned.extend(newline_ids)
        banned.append(eos_id)
    elif not lexer.can_end:
        banned.append(eos_id)
    if not lexer.quote and not lexer.comment:
        for prefix, tokens in closers:
            if not _closes_cleanly(prefix, lexer.brackets):
                banned.extend(tokens)
    repeat = repeating_token(ids)
    if repeat is not None:
        banned.append(repeat)
    return banned


class Decoder(Protocol):
    """What :class:`SyntaxGuard` needs from the tokenizer (``SharedTokenizer`` satisfies it)."""

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``."""
        ...


@dataclass
class SyntaxGuard:
    """Logits processor that forbids the :func:`banned_tokens` of the text generated so far.

    Build one per generation (it lexes the answer incrementally as it grows); the core's loop
    calls it before every sample: ``generate_ids(..., processors=[SyntaxGuard(...)])``.
    """

    codec: Decoder
    newline_ids: Sequence[int]
    eos_id: int
    closers: ClosingTable = ()
    lexer: PyLexer = field(default_factory=PyLexer)
    text: str = ""  # the decoded text the lexer has seen
    seen: int = 0  # how many generated ids that text covers

    def __call__(self, generated: Sequence[int], logits: np.ndarray) -> np.ndarray:
        """``logits`` with every banned next token at ``-inf``."""
        import numpy as np

        if len(generated) != self.seen:
            self._advance(generated)
        banned = banned_tokens(self.lexer, generated, self.newline_ids, self.eos_id, self.closers)
        if banned:
            logits[banned] = -np.inf
        return logits

    def _advance(self, generated: Sequence[int]) -> None:
        """Feed the lexer the new text; re-lex from the start when a character completed
        differently (multi-byte UTF-8 decodes as U+FFFD until its last byte arrives)."""
        text = self.codec.decode(generated)
        if text.startswith(self.text):
            self.lexer.feed(text[len(self.text) :])
        else:
            self.lexer = PyLexer()
            self.lexer.feed(text)
        self.text, self.seen = text, len(generated)
