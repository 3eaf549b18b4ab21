"""The Ray Serve application: one ingress (the server's ASGI app) and one deployment per task."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

from ray import serve

from enigma_core.errors import EnigmaError
from enigma_core.serve.ray_serve.options import deployment_options
from enigma_core.serve.settings import ServeSettings
from enigma_core.types import TaskResult

APP_NAME = "enigma"


def deployment_name(task: str) -> str:
    """The deployment that runs ``task``."""
    return f"task-{task}"


class Specialist:
    """One task's replica: its own engine, the task's model loaded once at start."""

    def __init__(self, task: str) -> None:
        from enigma_core.engine import EnigmaEngine
        from enigma_core.inference.threads import limit_blas_threads

        limit_blas_threads(1)  # as in enigma serve: one BLAS thread decodes small models fastest
        self.task = task
        self.engine = EnigmaEngine(source="ray", log=False)
        spec = self.engine.tasks.get(task)
        if spec is None:
            raise RuntimeError(f"no installed plugin registers task {task!r} on this node")
        with contextlib.suppress(EnigmaError):  # a task without a model (built-in chat...)
            self.engine.load(task)

    def run(self, text: str, options: Any, messages: Any, images: Any, files: Any) -> TaskResult:
        """Run the task; its whole answer."""
        return self.engine.execute(
            self.task, text, options=options, messages=messages, images=images, files=files
        )

    async def stream(
        self, text: str, options: Any, messages: Any, images: Any, files: Any
    ) -> AsyncIterator[tuple[str, Any]]:
        """Run the task in a thread; yield ``("piece", text)`` as it emits, then the result.

        Called through a streaming handle, so each piece leaves this replica as soon as the
        task emits it. Cancelled (the client left, the ingress timed out): the task's next
        ``emit`` raises, which stops it.
        """
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stopped = threading.Event()

        def emit(piece: str) -> None:
            if stopped.is_set():
                raise EnigmaError(f"task {self.task!r}: the caller stopped listening")
            loop.call_soon_threadsafe(events.put_nowait, ("piece", piece))

        def work() -> TaskResult:
            return self.engine.execute(
                self.task,
                text,
                emit=emit,
                options=options,
                messages=messages,
                images=images,
                files=files,
            )

        done = loop.run_in_executor(None, work)
        done.add_done_callback(lambda _f: events.put_nowait(("end", None)))
        try:
            while True:
                kind, value = await events.get()
                if kind == "end":
                    break
                yield kind, value
            yield "result", await done  # raises what the task raised
        finally:
            stopped.set()

    def where(self) -> dict[str, Any]:
        """This replica's process id and Ray node (for ``--status`` and the fault tests)."""
        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id()}


class Ingress:
    """The HTTP ingress: router, validation, limits and responses of ``enigma serve``."""

    def __init__(self, settings_json: str, **handles: Any) -> None:
        self.settings = ServeSettings.from_json(settings_json)
        self.handles = {name.removeprefix("task_"): h for name, h in handles.items()}

    def __serve_build_asgi_app__(self) -> Any:
        from enigma_core.serve.app import create_app
        from enigma_core.serve.ray_serve.engine import RayServingEngine

        engine = RayServingEngine(
            self.handles,
            self.settings.timeout,
            use_routing=True,
            router_model=self.settings.router_model,
            source="serve",
        )
        return create_app(self.settings, engine)


def build_app(settings: ServeSettings, tasks: list[str], raw: Any) -> Any:
    """The bound application: the ingress holding one handle per task deployment."""
    handles = {}
    for task in tasks:
        spec = serve.deployment(
            Specialist, name=deployment_name(task), **deployment_options(raw, task)
        )
        handles[f"task_{task}"] = spec.bind(task)
    ingress = serve.deployment(
        serve.ingress()(Ingress), name="ingress", **deployment_options(raw, None)
    )
    return ingress.bind(settings.to_json(), **handles)
