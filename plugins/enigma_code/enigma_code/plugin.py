"""Hook implementations of the code plugin; imports nothing heavy at module level."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskResult, TaskSpec

if TYPE_CHECKING:
    from enigma_core.commands import CommandGroups
    from enigma_core.context import TaskContext
    from enigma_core.training.recipe import TrainingRecipe

ENIGMA_PLUGIN_API = ">=1.1,<2"
"""Task hooks are task-scoped since API 1.1: they only hear about this plugin's tasks."""

CODE_TASK = TaskSpec(
    name="code",
    intents=("code",),
    description="Writes Python functions from a request, shown only once checked in a sandbox.",
    keywords=(
        "code",
        "function",
        "python",
        "script",
        "implement",
        "write a",
        "program",
        "def ",
        "class ",
    ),
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
DEFAULT_SOURCES = 3


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the code task."""
    register(CODE_TASK)


@hookimpl
def enigma_register_commands(groups: CommandGroups) -> None:
    """``enigma data code``, ``enigma eval code`` and ``enigma bench code``."""
    from enigma_code import commands

    groups.add_task_commands(
        "code", data=commands.data_code, eval=commands.eval_code, bench=commands.bench_code
    )


@hookimpl
def enigma_load_model(task: TaskSpec, model_dir: Path | None, context: TaskContext) -> Any:
    """Load the code model (numpy runtime); ``model_dir`` None means the shipped weights."""
    from enigma_code.generate import CodeModel

    return CodeModel.load(model_dir, context.tokenizer())


@hookimpl
def enigma_model_info(
    task: TaskSpec, model_dir: Path | None, context: TaskContext
) -> dict[str, Any] | None:
    """Path, size and metrics of the code model from its config.json (weights not read)."""
    from enigma_code.generate import WEIGHTS_DIR
    from enigma_core.training.meta import model_summary

    return model_summary(Path(model_dir) if model_dir is not None else WEIGHTS_DIR)


@hookimpl
def enigma_execute_task(task: TaskSpec, request: str, context: TaskContext) -> TaskResult:
    """Write a function for ``request`` and show it only once it passed the behaviour checks.

    Drafts are sampled silently and run in the sandbox (:mod:`enigma_code.answer`); the
    verified code is emitted at once. When none passes, the answer says so and the status is
    ``no_answer`` (the engine then tries the task's fallback). The best ``retrieved`` (5)
    functions of the library (:mod:`enigma_code.candidates`) are checked with the drafts; one
    shown comes with its package, version, licence and import line. A function this Python
    already has that does it is named with its import (:mod:`enigma_code.installed`).
    Options: ``drafts`` (5), ``retrieved``, ``library`` (path), ``show_sources``, ``sources``
    (3) and the decoding keys of ``CodeOptions``.
    """
    from enigma_code.answer import DEFAULT_DRAFTS, DEFAULT_RETRIEVED, verified_code
    from enigma_code.candidates import load_library
    from enigma_code.generate import CodeOptions
    from enigma_code.sandbox import resolve_isolation
    from enigma_core.errors import EnigmaError

    model = context.model(CODE_TASK.name)
    try:
        iso = resolve_isolation()
    except EnigmaError:
        iso = None
    drafts = int(context.options.get("drafts") or DEFAULT_DRAFTS)
    retrieved = context.options.get("retrieved")
    retrieved = DEFAULT_RETRIEVED if retrieved is None else int(retrieved)
    library = load_library(context.options.get("library")) if retrieved and iso else None
    answer = verified_code(
        model,
        request,
        iso,
        CodeOptions.from_options(context.options),
        drafts,
        library,
        retrieved,
    )
    data: dict[str, Any] = answer.to_data()
    output = answer.output  # with its package, licence and import; an installed one named
    if context.streaming:  # only now, after the checks: the checked text, word by word
        for piece in re.findall(r"\S+|\s+", output):
            context.emit(piece)
    if context.options.get("show_sources"):
        k = int(context.options.get("sources") or DEFAULT_SOURCES)
        hits = model.index().search(request, k)
        data["sources"] = [hit.to_dict() for hit in hits]
        lines = [f"# similar: {h.path}:{h.line} {h.name} - {h.summary}" for h in hits]
        data["after_stream"] = "\n".join(lines) if lines else "# similar: no match"
    return TaskResult(output=output, data=data, status="ok" if answer.verified else "no_answer")


@hookimpl
def enigma_training_recipe(task: str, context: TaskContext) -> TrainingRecipe:
    """The code task's Q/A language-model recipe (tiny by default)."""
    from enigma_code.recipe import code_recipe

    return code_recipe()
