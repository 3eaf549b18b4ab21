"""Bounded thread lanes: engine work runs off the event loop, with admission control.

A lane has ``threads`` workers and room for ``queue`` waiting calls; one more is refused at
once (429 + Retry-After), never queued without bound. A slot is freed when its thread really
finishes, so a call that timed out still counts until it stops. Whatever a call raises,
``SystemExit`` and ``KeyboardInterrupt`` from a plugin included, comes back as a value.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from enigma_core.serve.errors import ApiError

T = TypeVar("T")


class Contained(Exception):
    """A BaseException (other than Exception) raised by engine code in a worker thread."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


def contained(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[bool, Any]:
    """``(True, fn(*args))``, or ``(False, exception)`` for anything it raises."""
    try:
        return True, fn(*args)
    except Exception as exc:
        return False, exc
    except BaseException as exc:  # SystemExit, KeyboardInterrupt, GeneratorExit from a plugin
        return False, Contained(exc)


class LaneTimeout(Exception):
    """The call did not finish within the lane's deadline (its thread may still be running)."""


@dataclass
class Call:
    """A call admitted to a lane: its thread's future and the loop-side ``(ok, value)`` result."""

    future: concurrent.futures.Future[Any]
    result: asyncio.Future[tuple[bool, Any]]


class Lane:
    """``threads`` workers plus ``queue`` waiting places; see the module docstring."""

    def __init__(self, name: str, threads: int, queue: int, on_reject: Callable[[str], None]):
        self.name = name
        self.capacity = threads + queue
        self.admitted = 0
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix=f"enigma-{name}"
        )
        self._on_reject = on_reject

    def submit(self, fn: Callable[..., T], *args: Any) -> Call:
        """Admit one call or raise the 429; must be called on the event loop."""
        if self.admitted >= self.capacity:
            self._on_reject(self.name)
            raise ApiError(
                429,
                f"server busy: {self.capacity} {self.name} requests already running or queued; "
                "retry shortly",
                "server_busy",
                headers={"Retry-After": "1"},
            )
        loop = asyncio.get_running_loop()
        call = Call(self._executor.submit(contained, fn, args), loop.create_future())
        self.admitted += 1

        def finished(future: concurrent.futures.Future[Any]) -> None:  # in the worker thread
            if not loop.is_closed():
                loop.call_soon_threadsafe(self._settle, call, future)

        call.future.add_done_callback(finished)
        return call

    def _settle(self, call: Call, future: concurrent.futures.Future[Any]) -> None:
        """On the loop, once the thread is done (one wake-up frees the slot and answers)."""
        self.admitted -= 1
        if call.result.done():
            return
        if future.cancelled():
            call.result.set_result((False, LaneTimeout()))
        else:
            call.result.set_result(future.result())

    async def run(self, fn: Callable[..., T], *args: Any, timeout: float) -> T:
        """Run ``fn(*args)`` in the lane; its exception re-raised here, LaneTimeout on deadline."""
        return await self.wait(self.submit(fn, *args), timeout)

    async def wait(self, call: Call, timeout: float) -> Any:
        """Await a call; one still waiting for a thread at the deadline never runs."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(timeout, _expire, call.result)
        try:
            ok, value = await call.result
        finally:
            timer.cancel()
        if not ok:
            if isinstance(value, LaneTimeout):
                call.future.cancel()
            raise value
        return value

    def shutdown(self) -> None:
        """Stop accepting work; running calls finish in their threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _expire(result: asyncio.Future[tuple[bool, Any]]) -> None:
    if not result.done():
        result.set_result((False, LaneTimeout()))
