"""Hook implementations of the vision plugin; imports nothing heavy at module level."""

from __future__ import annotations

from typing import Callable

from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskSpec

VISION_TASK = TaskSpec(
    name="vision",
    intents=("vision",),
    description="Describes an image file (or a features string) without inventing what is not there.",
    keywords=("describe", "image", "photo", "picture", "see", ".jpg", ".png", ".jpeg", ".webp", "screenshot"),
    examples=(
        "describe photo.jpg",
        "what is in this picture?",
        "what do you see in ~/pics/cat.png",
        "caption this image",
    ),
    default_size="tiny",
    module_id="vision_captioner",
    provides=("image_description",),
    requires=("tokenizer",),
    optional=("model", "faces"),
)


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the vision task."""
    register(VISION_TASK)
