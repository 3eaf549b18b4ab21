"""A safe arithmetic evaluator: a small recursive-descent parser over exact fractions.

No ``eval``/``exec``: the input is tokenised, parsed by hand and computed with
:class:`fractions.Fraction`, so ``17% of 240`` is exactly ``204/5``. Limits on input length,
nesting, literal size and result size keep hostile input (``9^9^9``) cheap to refuse.

Grammar (``^`` is right-associative and binds tighter than unary minus, so ``-2^2 = -4``)::

    expr    := term (("+" | "-") term)*
    term    := factor (("*" | "/" | "of") factor | implicit-times)*
    factor  := ("+" | "-") factor | power
    power   := postfix ("^" factor)?
    postfix := atom "%"*
    atom    := NUMBER | "pi" | "(" expr ")" | FUNC postfix
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

MAX_CHARS = 300
"""Longest expression accepted, in characters."""
MAX_DEPTH = 40
"""Deepest nesting of parentheses/unary operators accepted."""
MAX_LITERAL_DIGITS = 60
"""Most digits in one number literal."""
MAX_RESULT_DIGITS = 2_000
"""Most digits any intermediate numerator or denominator may have."""
APPROX_DIGITS = 40
"""Significant digits kept for irrational intermediate results (square roots, pi, ...)."""

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?|\.\d+)|(sqrt|abs|pi|of)\b|(\*\*|[-+*/^%()]))")
_FUNCS = ("sqrt", "abs")
_LOG2_10 = math.log2(10)


class MathError(ValueError):
    """Why an expression cannot be computed, phrased for the user (one line)."""


@dataclass(frozen=True)
class Num:
    """A computed value: an exact fraction, or a 40-digit approximation when ``exact`` is False."""

    value: Fraction
    exact: bool = True


def _digits(n: int) -> int:
    return int(abs(n).bit_length() / _LOG2_10) + 1


def _checked(value: Fraction, exact: bool) -> Num:
    """Refuse results too large to be useful; keep approximations at a fixed precision."""
    if max(_digits(value.numerator), _digits(value.denominator)) > MAX_RESULT_DIGITS:
        raise MathError(f"the result is too large (more than {MAX_RESULT_DIGITS:,} digits)")
    if not exact and value.denominator != 1:
        value = Fraction(_to_decimal(value))
    return Num(value, exact)


def _to_decimal(value: Fraction) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS
        return Decimal(value.numerator) / Decimal(value.denominator)


def _iroot(n: int, k: int) -> int:
    """The integer floor of the ``k``-th root of ``n >= 0`` (Newton's method on integers)."""
    if n < 2:
        return n
    x = 1 << -(-n.bit_length() // k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def _exact_root(value: Fraction, degree: int) -> Fraction | None:
    """The exact ``degree``-th root of a non-negative fraction, or None if it is irrational."""
    num, den = _iroot(value.numerator, degree), _iroot(value.denominator, degree)
    if num**degree == value.numerator and den**degree == value.denominator:
        return Fraction(num, den)
    return None


def _power(base: Num, exponent: Num) -> Num:
    exact = base.exact and exponent.exact
    b, e = base.value, exponent.value
    if e.denominator == 1:
        n = e.numerator
        if b == 0 and n < 0:
            raise MathError("division by zero (0 to a negative power)")
        if b not in (0, 1, -1):
            size = max(math.log10(abs(b.numerator)), math.log10(b.denominator)) * abs(n)
            if abs(n) > 100_000 or size > MAX_RESULT_DIGITS:
                raise MathError(f"the result is too large (more than {MAX_RESULT_DIGITS:,} digits)")
        return _checked(b**n, exact)
    if b < 0:
        raise MathError("a negative number to a fractional power is not a real number")
    if exact and e.denominator <= 12:
        root = _exact_root(b, e.denominator)
        if root is not None:
            return _power(Num(root), Num(Fraction(e.numerator)))
    if abs(e) > 100_000:
        raise MathError("the exponent is too large")
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS
        try:
            result = _to_decimal(b) ** _to_decimal(e)
        except ArithmeticError as exc:
            raise MathError("the result is too large") from exc
    if not result.is_finite():
        raise MathError("the result is too large")
    return _checked(Fraction(result), False)


def _sqrt(arg: Num) -> Num:
    if arg.value < 0:
        raise MathError("the square root of a negative number is not a real number")
    if arg.exact:
        root = _exact_root(arg.value, 2)
        if root is not None:
            return Num(root)
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS
        return _checked(Fraction(_to_decimal(arg.value).sqrt()), False)


def _pi() -> Num:
    digits = "3.141592653589793238462643383279502884197"
    return Num(Fraction(Decimal(digits)), False)


class _Parser:
    """Recursive-descent parser that computes as it parses (no tree, no eval)."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise MathError("the expression ends too early")
        self.pos += 1
        return token

    def expect(self, token: str) -> None:
        found = self.peek()
        if found != token:
            raise MathError(f"expected '{token}' but found {_show(found)}")
        self.pos += 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathError(f"the expression is nested too deeply (limit {MAX_DEPTH})")

    def expr(self) -> Num:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.term()
            total = value.value + right.value if op == "+" else value.value - right.value
            value = _checked(total, value.exact and right.exact)
        return value

    def term(self) -> Num:
        value = self.factor()
        while True:
            token = self.peek()
            if token in ("*", "/", "of"):
                self.take()
            elif token == "(" or token in _FUNCS or token == "pi":
                pass  # implicit multiplication: 2(3+4), 2 pi, 3 sqrt 2
            else:
                return value
            right = self.factor()
            exact = value.exact and right.exact
            if token == "/":
                if right.value == 0:
                    raise MathError("division by zero")
                value = _checked(value.value / right.value, exact)
            else:
                value = _checked(value.value * right.value, exact)

    def factor(self) -> Num:
        if self.peek() in ("+", "-"):
            op = self.take()
            self.enter()
            value = self.factor()
            self.depth -= 1
            return Num(-value.value, value.exact) if op == "-" else value
        return self.power()

    def power(self) -> Num:
        base = self.postfix()
        if self.peek() == "^":
            self.take()
            self.enter()
            exponent = self.factor()
            self.depth -= 1
            return _power(base, exponent)
        return base

    def postfix(self) -> Num:
        value = self.atom()
        while self.peek() == "%":
            self.take()
            value = _checked(value.value / 100, value.exact)
        return value

    def atom(self) -> Num:
        token = self.take()
        if token == "(":
            self.enter()
            value = self.expr()
            self.expect(")")
            self.depth -= 1
            return value
        if token == "pi":
            return _pi()
        if token in _FUNCS:
            self.enter()
            arg = self.postfix()
            self.depth -= 1
            return _sqrt(arg) if token == "sqrt" else Num(abs(arg.value), arg.exact)
        if token[0].isdigit() or token[0] == ".":
            if sum(c.isdigit() for c in token) > MAX_LITERAL_DIGITS:
                raise MathError(f"a number has more than {MAX_LITERAL_DIGITS} digits")
            return Num(Fraction(Decimal(token)))
        raise MathError(f"unexpected {_show(token)}")


def _show(token: str | None) -> str:
    return "the end of the expression" if token is None else f"'{token}'"


def tokenize(text: str) -> list[str]:
    """Split ``text`` into numbers, operators, parentheses and the words sqrt/abs/pi/of."""
    tokens: list[str] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise MathError(f"unexpected character {text[pos:].lstrip()[:1]!r}")
        token = match.group(match.lastindex or 0)
        tokens.append("^" if token == "**" else token)
        pos = match.end()
    return tokens


def evaluate(text: str) -> Num:
    """Compute an arithmetic expression exactly; :class:`MathError` says why it can't."""
    if len(text) > MAX_CHARS:
        raise MathError(f"the expression is too long ({len(text)} characters, limit {MAX_CHARS})")
    tokens = tokenize(text.lower())
    if not tokens:
        raise MathError("there is nothing to compute")
    parser = _Parser(tokens)
    value = parser.expr()
    if parser.peek() is not None:
        raise MathError(f"unexpected {_show(parser.peek())}")
    return value
