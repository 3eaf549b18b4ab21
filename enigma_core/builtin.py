"""Built-in fallbacks (all ``trylast`` so installed plugins win): the default ``chat`` task."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from enigma_core.errors import EnigmaError
from enigma_core.hookspecs import hookimpl
from enigma_core.types import TaskResult, TaskSpec

if TYPE_CHECKING:
    from enigma_core.context import TaskContext

CHAT_TASK = TaskSpec(
    name="chat",
    intents=("chat",),
    description="Default task: small talk and anything no specialist claims.",
    keywords=(
        "hello",
        "hi",
        "hey",
        "thanks",
        "thank you",
        "how are you",
        "good morning",
        "who are you",
        "what can you do",
        "help",
    ),
    examples=("hello there", "how are you today?", "thanks a lot!", "what can you do?"),
    module_id="chat_fallback",
    provides=("default_task",),
    is_default=True,
)

_GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b", re.I)
_THANKS = re.compile(r"\b(thanks|thank you|cheers)\b", re.I)


@hookimpl(trylast=True)
def enigma_register_tasks(register: Callable[[TaskSpec], None]) -> None:
    """Register the built-in default task."""
    register(CHAT_TASK)


def _capabilities(context: TaskContext) -> str:
    lines = []
    for task in context.tasks.values():
        if task.intents and task.name != CHAT_TASK.name:
            example = f' (e.g. "{task.examples[0]}")' if task.examples else ""
            lines.append(f"- {task.name}: {task.description}{example}")
    if not lines:
        return "No specialist plugins are installed yet; see `enigma plugins`."
    return "I can hand requests to these specialists:\n" + "\n".join(lines)


@hookimpl(trylast=True)
def enigma_execute_task(task: TaskSpec, request: str, context: TaskContext) -> TaskResult:
    """Forward to ``chat.backend`` when the config names one (a model server task, with the
    whole conversation); else greet, thank, or say what enigma can do."""
    backend = context.engine.config.chat_backend()
    if backend is not None:
        if backend not in context.tasks:
            raise EnigmaError(
                f"config chat.backend is {backend!r}, but no installed plugin registers that task"
            )
        return context.engine.execute(
            backend,
            request,
            emit=context.emit_fn,
            options=context.options,
            messages=context.messages,
            images=context.images,
            files=context.files,
        )
    if _GREETING.search(request):
        reply = "Hello! I'm enigma, a team of small local specialists."
    elif _THANKS.search(request):
        reply = "You're welcome!"
    else:
        reply = "I have no chat model installed, so I can't hold a conversation yet."
    return TaskResult(output=f"{reply}\n{_capabilities(context)}", data={"model": None})
