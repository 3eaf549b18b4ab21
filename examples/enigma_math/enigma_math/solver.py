"""Answer one request: find its expression, compute it exactly, phrase the result."""

from __future__ import annotations

from enigma_core.types import TaskResult

from enigma_math.evaluator import MathError, evaluate
from enigma_math.phrasing import extract, format_value

HELP = (
    "I do arithmetic and percentages exactly, e.g. 'what is 17% of 240', '12*(3+4)', "
    "'2^10' or 'sqrt(2)'."
)


def solve(request: str) -> TaskResult:
    """A :class:`TaskResult` whose output is ``expression = value`` (or why there is none).

    ``data`` holds ``expression``, ``result`` (as shown), ``exact`` and, for exact results,
    ``fraction`` (``p/q``) so programs need not parse the text.
    """
    expression = extract(request)
    if expression is None:
        return TaskResult(
            output=f"I found no numbers to compute in that request. {HELP}",
            data={"expression": None, "error": "no expression"},
        )
    try:
        value = evaluate(expression)
    except MathError as exc:
        return TaskResult(
            output=f"I can't compute {expression}: {exc}.",
            data={"expression": expression, "error": str(exc)},
        )
    shown = format_value(value)
    sign = "" if shown.startswith("≈") else "= "
    data: dict[str, object] = {"expression": expression, "result": shown, "exact": value.exact}
    if value.exact:
        data["fraction"] = f"{value.value.numerator}/{value.value.denominator}"
    return TaskResult(output=f"{expression} {sign}{shown}", data=data)
