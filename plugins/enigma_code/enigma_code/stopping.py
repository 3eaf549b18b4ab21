"""Decide, while text streams in, where a generated function ends.

The rule: once a function body has started (an indented logical line after one at column 0),
the first non-blank line back at column 0 ends the answer, unless it is inside a string or
brackets (where Python allows it). Lines at column 0 before the body (imports, decorators, a
multi-line ``def``) are kept. Trailing blank lines are held back so the streamed text never
ends in stray newlines. The lexical state comes from :class:`~enigma_code.constraints.PyLexer`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from enigma_code.constraints import PyLexer


@dataclass
class FunctionStop:
    """Feed generated text piece by piece; get back what to show and whether to stop."""

    max_lines: int = 80
    text: str = ""
    done: bool = False
    reason: str = ""  # "dedent" (the function ended) or "max_lines"
    lexer: PyLexer = field(default_factory=PyLexer, repr=False)
    _lines: int = 0
    _held: str = field(default="", repr=False)

    def feed(self, piece: str) -> str:
        """Consume ``piece``; return the part of it that belongs to the answer (may be '')."""
        if self.done:
            return ""
        accepted = []
        lex = self.lexer
        for ch in piece:
            at_col0 = lex.line == "" and ch not in " \t\n"
            if at_col0 and lex.body and not lex.quote and not lex.depth:
                self.done, self.reason = True, "dedent"
                break
            accepted.append(ch)
            lex.feed(ch)
            if ch == "\n":
                self._lines += 1
                if self._lines >= self.max_lines:
                    self.done, self.reason = True, "max_lines"
                    break
        return self._release("".join(accepted))

    def _release(self, new: str) -> str:
        """Hold trailing newlines back until more text arrives after them."""
        buffered = self._held + new
        stripped = buffered.rstrip("\n")
        self._held = buffered[len(stripped) :]
        self.text += stripped
        return stripped

    def finish(self) -> str:
        """The complete answer: accepted text with exactly one final newline."""
        return self.text.rstrip() + "\n" if self.text.strip() else ""


def cut_function(text: str, max_lines: int = 80) -> str:
    """Apply the stop rule to a finished text at once (what streaming would have kept)."""
    stop = FunctionStop(max_lines=max_lines)
    stop.feed(text)
    return stop.finish()
