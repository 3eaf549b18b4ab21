"""The ingress's engine: classifies like :class:`ServingEngine`; tasks run in their deployments.

``execute`` is the one place a task runs, so overriding it sends every task (routed, forced,
cascaded) to its deployment through a handle. A streamed request uses a streaming handle
(``.options(stream=True)``): each piece the task emits in its replica is handed to the
server's stream as it arrives, so tokens reach the client one by one, as with ``enigma serve``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, NoReturn

from enigma_core.errors import EnigmaError
from enigma_core.serve.lanes import LaneTimeout
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
        args = (text, options, messages, images, files)
        if emit is not None:
            return self._stream(handle, args, emit, plugin, spec.name)
        response = handle.run.remote(*args)
        try:
            return response.result(timeout_s=self.timeout)
        except EnigmaError:
            raise
        except TimeoutError:
            response.cancel()
            raise LaneTimeout() from None
        except Exception as exc:
            _replica_failed(exc, plugin, spec.name)

    def _stream(
        self,
        handle: Any,
        args: tuple[Any, ...],
        emit: Callable[[str], None],
        plugin: str | None,
        task: str,
    ) -> TaskResult:
        """Run the task through a streaming handle, passing each piece to ``emit`` as it comes.

        The replica's ``stream`` yields ``("piece", text)`` events and then ``("result",
        TaskResult)``. A listener gone (``emit`` raises) or the request timeout cancels it.
        """
        events = handle.options(stream=True).stream.remote(*args)
        timed_out = threading.Event()

        def expire() -> None:
            timed_out.set()
            events.cancel()

        expired = threading.Timer(self.timeout, expire)  # next() itself takes no timeout
        expired.daemon = True
        expired.start()
        result: TaskResult | None = None
        try:
            for kind, value in events:
                if kind == "piece":
                    emit(value)
                else:
                    result = value
        except EnigmaError:
            events.cancel()
            raise
        except Exception as exc:
            if timed_out.is_set():
                raise LaneTimeout() from None
            _replica_failed(exc, plugin, task)
        finally:
            expired.cancel()
        if result is None:
            raise EnigmaError(
                f"plugin '{plugin}' failed to run task '{task}': its Ray Serve replica "
                "ended the stream without an answer"
            )
        return result


def _replica_failed(exc: BaseException, plugin: str | None, task: str) -> NoReturn:
    """Re-raise what the replica raised, or say its replica failed (one clear line)."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, EnigmaError):
        raise cause from None
    what = type(exc).__name__
    raise EnigmaError(
        f"plugin '{plugin}' failed to run task '{task}': its Ray Serve replica "
        f"failed ({what}); Serve restarts it, retry the request"
    ) from None
