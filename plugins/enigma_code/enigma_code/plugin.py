"""Hook implementations of the code plugin; imports nothing heavy at module level."""

from __future__ import annotations

from typing import Callable

from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskSpec

CODE_TASK = TaskSpec(
    name="code",
    intents=("code",),
    description="Writes Python functions from a request, streamed and checked with ast.",
    keywords=("code", "function", "python", "script", "implement", "write a", "program", "def ", "class "),
    examples=(
        "write a function that reverses a string",
        "implement binary search in python",
        "write a python script that counts words in a file",
        "give me code to merge two sorted lists",
    ),
    default_size="tiny",
    module_id="code_generator",
    provides=("code_generation",),
    requires=("tokenizer",),
    optional=("model",),
)


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the code task."""
    register(CODE_TASK)
