"""The safe evaluator and the phrasing layer: exact answers, clear refusals, no eval."""

from __future__ import annotations

from fractions import Fraction

import pytest

from enigma_math.evaluator import MathError, evaluate
from enigma_math.phrasing import extract, format_value
from enigma_math.solver import solve


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("17% of 240", Fraction(204, 5)),
        ("12*(3+4)", 84),
        ("2^10", 1024),
        ("2**10", 1024),
        ("2^3^2", 512),
        ("-2^2", -4),
        ("2^-1", Fraction(1, 2)),
        ("15% of 80", 12),
        ("10 - 3 * 2", 4),
        ("(1 + 2)(3 + 4)", 21),
        ("sqrt(144)", 12),
        ("sqrt 16 + 9", 13),
        ("8^(1/3)", 2),
        ("abs(-3.5)", Fraction(7, 2)),
        ("0.1 + 0.2", Fraction(3, 10)),
        ("1/3", Fraction(1, 3)),
    ],
)
def test_exact_results(expression: str, expected: Fraction | int) -> None:
    value = evaluate(expression)
    assert value.exact and value.value == expected


def test_irrational_results_are_marked_approximate() -> None:
    value = evaluate("sqrt(2)")
    assert not value.exact
    assert format_value(value) == "≈ 1.41421356237"
    assert abs(float(value.value) ** 2 - 2) < 1e-12


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1/0", "division by zero"),
        ("9^9^9", "too large"),
        ("2^100000000", "too large"),
        ("(" * 60 + "1" + ")" * 60, "nested too deeply"),
        ("1" * 70, "more than 60 digits"),
        ("1+" * 200 + "1", "too long"),
        ("sqrt(-1)", "not a real number"),
        ("3 +", "ends too early"),
        ("2 $ 3", "unexpected character"),
        ("__import__('os')", "unexpected character"),
    ],
)
def test_refusals_are_one_clear_line(expression: str, reason: str) -> None:
    with pytest.raises(MathError, match=reason):
        evaluate(expression)


@pytest.mark.parametrize(
    ("request_text", "expression"),
    [
        ("what is 17% of 240", "17% of 240"),
        ("What's 2^10?", "2^10"),
        ("15 percent of 80", "15% of 80"),
        ("what is 3 plus 4 times 2?", "3 + 4 * 2"),
        ("what is 1,000,000 divided by 8", "1000000 / 8"),
        ("what is 7 squared", "7^2"),
        ("2 to the power of 16", "2^16"),
        ("the square root of 144", "sqrt 144"),
        ("whats 5 × 6 ÷ 3", "5 * 6 / 3"),
        ("how are you", None),
    ],
)
def test_extract_turns_words_into_an_expression(request_text: str, expression: str | None) -> None:
    assert extract(request_text) == expression


@pytest.mark.parametrize(
    ("request_text", "output"),
    [
        ("what is 17% of 240", "17% of 240 = 40.8"),
        ("12*(3+4)", "12 * (3 + 4) = 84"),
        ("what's 2^10", "2^10 = 1024"),
        ("15 percent of 80", "15% of 80 = 12"),
        ("sqrt(2)", "sqrt(2) ≈ 1.41421356237"),
        ("1/3", "1 / 3 = 1/3 ≈ 0.333333333333"),
        ("2^100", "2^100 = 1267650600228229401496703205376"),
    ],
)
def test_solve_answers_in_plain_words(request_text: str, output: str) -> None:
    assert solve(request_text).output == output


def test_solve_explains_what_it_cannot_do() -> None:
    assert "no numbers" in solve("tell me a joke").output
    result = solve("what is 5 / 0")
    assert result.output == "I can't compute 5 / 0: division by zero."
    assert result.data["error"] == "division by zero"
    assert solve("what is 17% of 240").data["fraction"] == "204/5"
