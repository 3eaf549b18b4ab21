"""Hook implementations of the vision plugin; imports nothing heavy at module level."""

from __future__ import annotations

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

VISION_TASK = TaskSpec(
    name="vision",
    intents=("vision",),
    description=(
        "Describes an image file (or a features string) without inventing what is not there."
    ),
    keywords=(
        "describe",
        "image",
        "photo",
        "picture",
        "see",
        ".jpg",
        ".png",
        ".jpeg",
        ".webp",
        "screenshot",
    ),
    examples=(
        "describe photo.jpg",
        "what is in this picture?",
        "what do you see in ~/pics/cat.png",
        "caption this image",
    ),
    default_size="micro",
    module_id="vision_captioner",
    provides=("image_description",),
    requires=("tokenizer",),
    optional=("model", "faces"),
)


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the vision task."""
    register(VISION_TASK)


@hookimpl
def enigma_register_commands(groups: CommandGroups) -> None:
    """``enigma data vision``, ``enigma eval vision`` and ``enigma bench vision``."""
    from enigma_vision import commands

    groups.add_task_commands(
        "vision", data=commands.data_vision, eval=commands.eval_vision, bench=commands.bench_vision
    )


@hookimpl
def enigma_load_model(task: TaskSpec, model_dir: Path | None, context: TaskContext) -> Any:
    """The caption model (numpy); with no shipped weights, a template-only captioner."""
    from enigma_vision.model import load_captioner

    return load_captioner(model_dir, context.tokenizer)


@hookimpl
def enigma_model_info(
    task: TaskSpec, model_dir: Path | None, context: TaskContext
) -> dict[str, Any] | None:
    """Path, size and metrics of the caption model from its config.json (weights not read)."""
    from enigma_core.training.meta import model_summary
    from enigma_vision.model import WEIGHTS_DIR

    return model_summary(Path(model_dir) if model_dir is not None else WEIGHTS_DIR)


@hookimpl
def enigma_execute_task(task: TaskSpec, request: str, context: TaskContext) -> TaskResult:
    """Describe the images attached to the request, else the file (or features) it names.

    Files are opened only as ``context.files`` allows (a server opens none). ``data`` carries
    the extracted features, so ``enigma route --json`` shows what was seen. Option ``faces``
    (default True) turns the optional OpenCV face detector off when False.
    """
    from enigma_vision.api import answer_request

    captioner = context.model(VISION_TASK.name)
    faces = bool(context.options.get("faces", True))
    output, data = answer_request(request, captioner, faces, context.files, context.images)
    return TaskResult(output=output, data=data)


@hookimpl
def enigma_training_recipe(task: str, context: TaskContext) -> TrainingRecipe:
    """The vision caption recipe: the core's Q/A LM recipe plus procedural examples."""
    from enigma_vision.recipe import vision_recipe

    return vision_recipe()
