"""From a request in words to an expression, and from an exact value back to words.

``"what is 15 percent of 80?"`` becomes ``"15% of 80"``: number words for operators are turned
into symbols, then the longest run of arithmetic tokens in the request is taken as the
expression. Results print exactly (``40.8``, ``1/3 ≈ 0.333333333333``) or marked ``≈``.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction

from enigma_math.evaluator import Num

MAX_DECIMALS = 20
"""Terminating decimals longer than this are shown as a fraction plus an approximation."""
SHOWN_DIGITS = 12
"""Significant digits shown for approximate results."""

# Longest phrases first: "square root of" must win over "root of", "raised to" over "to".
_WORDS: tuple[tuple[str, str], ...] = (
    (r"(?:raised )?to the power of", "^"),
    (r"raised to", "^"),
    (r"(?:the )?square root of", "sqrt "),
    (r"(?:the )?absolute value of", "abs "),
    (r"squared", "^2"),
    (r"cubed", "^3"),
    (r"multiplied by", "*"),
    (r"times", "*"),
    (r"divided by", "/"),
    (r"plus", "+"),
    (r"minus", "-"),
    (r"per ?cent", "%"),
    (r"pct", "%"),
)
_WORD_RES = tuple((re.compile(rf"\b{pattern}\b"), symbol) for pattern, symbol in _WORDS)
_SYMBOLS = str.maketrans({"×": "*", "·": "*", "÷": "/", "−": "-", "–": "-", "²": "^2", "³": "^3"})
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TIMES_X = re.compile(r"(?<=\d)\s*x\s*(?=[\d(])")
_OPERAND_EXPECTED = ("(", "^", "*", "/", "-", "+", "of")
_SCAN = re.compile(r"\d+(?:\.\d*)?|\.\d+|\*\*|[-+*/^%()]|sqrt\b|abs\b|pi\b|of\b|\s+|.", re.S)


def normalise(text: str) -> str:
    """Lower-case ``text`` and replace operator words and symbols by ASCII operators."""
    text = text.lower().translate(_SYMBOLS)
    text = _THOUSANDS.sub("", text)
    for pattern, symbol in _WORD_RES:
        text = pattern.sub(f" {symbol} ", text)
    return _TIMES_X.sub(" * ", text)


def _is_math(token: str, previous: str | None) -> bool:
    if token == "of":
        return previous == "%"  # "17% of 240"; a bare "of" ends the expression
    return bool(token.strip()) and (
        token[0].isdigit()
        or token[0] == "."
        or token in ("sqrt", "abs", "pi")
        or token in ("**", "-", "+", "*", "/", "^", "%", "(", ")")
    )


def extract(text: str) -> str | None:
    """The arithmetic expression in a request (its longest run of math tokens), or None."""
    runs: list[list[str]] = []
    current: list[str] = []
    previous: str | None = None
    for token in _SCAN.findall(normalise(text)):
        if token.isspace():
            continue
        if _is_math(token, previous):
            current.append(token)
            previous = token
            continue
        if current:
            runs.append(current)
        current, previous = [], None
    if current:
        runs.append(current)
    runs = [_trim(run) for run in runs if any(t[0].isdigit() or t[0] == "." for t in run)]
    runs = [run for run in runs if run]
    if not runs:
        return None
    best = max(runs, key=len)
    return display(best)


def _trim(run: list[str]) -> list[str]:
    """Drop operators that cannot start or end an expression (e.g. a trailing '-' or '/')."""
    while run and run[0] in ("*", "/", "^", "%", ")", "**"):
        run = run[1:]
    while run and run[-1] in ("*", "/", "^", "-", "+", "(", "**", "sqrt", "abs"):
        run = run[:-1]
    return run


def display(tokens: list[str]) -> str:
    """Tokens joined the way people write them: ``17% of 240``, ``12 * (3 + 4)``, ``2^-1``."""
    tokens = ["^" if t == "**" else t for t in tokens]
    parts: list[str] = []
    for i, token in enumerate(tokens):
        prev = tokens[i - 1] if i else None
        unary_prev = prev in ("-", "+") and (i < 2 or tokens[i - 2] in _OPERAND_EXPECTED)
        glue = (
            prev is None
            or token in ("%", ")", "^")
            or prev in ("(", "^")
            or unary_prev
            or (token == "(" and prev in ("sqrt", "abs", ")"))
        )
        parts.append(token if glue else " " + token)
    return "".join(parts)


def _decimal_places(value: Fraction) -> int | None:
    """How many decimals ``value`` needs exactly, or None if its expansion never ends."""
    den, twos, fives = value.denominator, 0, 0
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    return max(twos, fives) if den == 1 else None


def _exact_decimal(value: Fraction, places: int) -> str:
    scaled = abs(value.numerator) * 10**places // value.denominator
    digits = str(scaled).rjust(places + 1, "0")
    whole, frac = digits[: len(digits) - places], digits[len(digits) - places :]
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}.{frac}" if places else f"{sign}{whole}"


def approximate(value: Fraction, digits: int = SHOWN_DIGITS) -> str:
    """``value`` rounded to ``digits`` significant digits, without trailing zeros."""
    with localcontext() as ctx:
        ctx.prec = digits
        rounded = Decimal(value.numerator) / Decimal(value.denominator)
    if rounded == 0:
        return "0"
    if -7 < rounded.adjusted() < digits:
        text = format(rounded, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return format(rounded.normalize(), "g")


def format_value(num: Num) -> str:
    """``84``, ``40.8``, ``1/3 ≈ 0.333333333333``, or ``≈ 1.41421356237`` (not exact)."""
    value = num.value
    if not num.exact:
        return f"≈ {approximate(value)}"
    places = _decimal_places(value)
    if places is not None and places <= MAX_DECIMALS:
        return _exact_decimal(value, places)
    return f"{value.numerator}/{value.denominator} ≈ {approximate(value)}"
