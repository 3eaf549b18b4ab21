"""Hook implementations of the math plugin, written only against enigma's public plugin API.

Nothing heavy is imported here: the evaluator is imported when a math request arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskResult, TaskSpec

if TYPE_CHECKING:
    from enigma_core.commands import CommandGroups
    from enigma_core.context import TaskContext

ENIGMA_PLUGIN_API = ">=1.1,<2"
"""The enigma plugin API versions this plugin works with (checked when it is discovered)."""

MATH_TASK = TaskSpec(
    name="math",
    intents=("math",),
    description="Answers arithmetic and percentage questions exactly (no model needed).",
    # The keyword router matches these literally: symbols match anywhere, words on word
    # boundaries. '-' and '/' are left out on purpose: they appear in too many non-math texts.
    keywords=(
        "%",
        "% of",
        "percent",
        "per cent",
        "percentage",
        "+",
        "*",
        "^",
        "×",
        "÷",
        "plus",
        "minus",
        "times",
        "multiplied by",
        "divided by",
        "squared",
        "cubed",
        "sqrt",
        "square root",
        "to the power of",
        "calculate",
        "compute",
        "arithmetic",
        "math",
        "maths",
    ),
    examples=(
        "what is 17% of 240",
        "12*(3+4)",
        "what's 2^10",
        "15 percent of 80",
        "sqrt(2)",
        "what is 345 times 12",
        "calculate 1024 divided by 16",
        "what is 3 plus 4",
        "compute 2 to the power of 16",
        "what is 20% of 150?",
        "square root of 144",
        "(5 + 3) * 2",
        "100 minus 37",
        "what is 7 squared",
        "how much is 45 percent of 900",
        "what is 2.5 multiplied by 4",
    ),
    module_id="math_solver",
    provides=("arithmetic", "percentages"),
)


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the math task."""
    register(MATH_TASK)


@hookimpl
def enigma_register_commands(groups: CommandGroups) -> None:
    """``enigma calc EXPRESSION``: compute directly, without routing."""
    from enigma_math.cli import calc

    groups.root.command("calc")(calc)


@hookimpl
def enigma_execute_task(task: TaskSpec, request: str, context: TaskContext) -> TaskResult:
    """Answer a math request exactly (enigma calls this only for the math task)."""
    from enigma_math.solver import solve

    return solve(request)
