"""The ingress's engine: classifies like :class:`ServingEngine`; tasks run in their deployments.

``execute`` is the one place a task runs, so overriding it sends every task (routed, forced,
cascaded) to its deployment through a handle. A stream's chunks come back with the answer and
are replayed in order (the answer is identical; it arrives as one burst, not token by token).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enigma_core.errors import EnigmaError
from enigma_core.serve.routing import ServingEngine, _listener
from enigma_core.types import Classification, TaskResult, TaskSpec


class RayServingEngine(ServingEngine):
    """A :class:`ServingEngine` whose tasks run in Ray Serve deployments (one per task)."""

    def __init__(self, handles: dict[str, Any], timeout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handles = handles
        self.timeout = timeout

    def execute(
        self,
        task: TaskSpec | str,
        text: str,
        *,
        emit: Callable[[str], None] | None = None,
        options: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        images: list[Any] | None = None,
        files: Any = None,
    ) -> TaskResult:
        """Run ``task`` in its deployment (blocking this request's thread, never the loop)."""
        spec = self.tasks.get(task) if isinstance(task, str) else task
        if spec is None:
            raise EnigmaError(f"no installed plugin registers task {task!r}")
        handle = self.handles.get(spec.name)
        if handle is None:  # a task with no deployment (none is made for intent-less tasks)
            return super().execute(
                spec,
                text,
                emit=emit,
                options=options,
                messages=messages,
                images=images,
                files=files,
            )
        plugin = self.plugins.task_owner.get(spec.name)
        listener = _listener()
        if listener is not None:
            listener.task = spec
            listener.plugin = plugin
            if listener.classification is None:
                intent = spec.intents[0] if spec.intents else spec.name
                listener.classification = Classification(intent, 1.0, "explicit")
        response = handle.run.remote(text, options, messages, images, files, emit is not None)
        try:
            result, chunks = response.result(timeout_s=self.timeout)
        except EnigmaError:
            raise
        except TimeoutError:
            response.cancel()
            raise
        except Exception as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, EnigmaError):
                raise cause from None
            what = type(exc).__name__
            raise EnigmaError(
                f"plugin '{plugin}' failed to run task '{spec.name}': its Ray Serve replica "
                f"failed ({what}); Serve restarts it, retry the request"
            ) from None
        if emit is not None:
            for chunk in chunks:
                emit(chunk)
        return result
