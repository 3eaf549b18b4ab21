"""``POST /v1/chat/completions``: route (or force) a task; answer as OpenAI does, streamed or not.

The engine work (image decoding, ``route`` or ``execute``) runs in the execute lane. A stream
starts when the task emits its first piece, with the decision known by then in its headers; a
task that emits nothing is sent whole when it finishes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from enigma_core.engine import RouteResult
from enigma_core.errors import EnigmaError
from enigma_core.serve import openai_format as fmt
from enigma_core.serve.errors import ApiError, quoted
from enigma_core.serve.failures import to_api_error
from enigma_core.serve.images import decode_images
from enigma_core.serve.jsonbody import read_json
from enigma_core.serve.lanes import Call, LaneTimeout
from enigma_core.serve.responses import json_response, note_decision
from enigma_core.serve.routing import Decision, Listener, decision_of, forced_result, listening
from enigma_core.serve.state import ServerState
from enigma_core.serve.validate import ChatRequest, chat_request
from enigma_core.types import TaskSpec

MODEL = "enigma"


class StreamAborted(EnigmaError):
    """Raised inside ``emit`` when nobody listens any more (client gone, deadline passed)."""


def resolve_model(state: ServerState, model: str) -> TaskSpec | None:
    """None for ``enigma`` (route), the task for ``enigma/<task>``; 404 for anything else."""
    if model == MODEL:
        return None
    prefix, sep, name = model.partition("/")
    task = state.engine.tasks.get(name) if prefix == MODEL and sep else None
    if task is None or task.classifies:
        raise ApiError(
            404,
            f"model {quoted(model)} does not exist: use 'enigma' or 'enigma/<task>' "
            "(see GET /v1/models)",
            "model_not_found",
            "model",
        )
    return task


@dataclass
class ChatJob:
    """One chat request's work, run in a lane thread; ``listener`` sees its decision."""

    state: ServerState
    request: ChatRequest
    task: TaskSpec | None
    listener: Listener = field(default_factory=Listener)
    events: Any = None  # (loop, queue) of a stream, None for a plain answer
    aborted: threading.Event = field(default_factory=threading.Event)
    announced: bool = False

    def emit(self, piece: str) -> None:
        """Forward a piece to the stream; the first one also carries the decision."""
        if self.aborted.is_set():
            raise StreamAborted("the client stopped listening")
        loop, queue = self.events
        if not self.announced:
            self.announced = True
            loop.call_soon_threadsafe(queue.put_nowait, ("decision", self.listener.decision()))
        loop.call_soon_threadsafe(queue.put_nowait, ("piece", piece))

    def __call__(self) -> tuple[RouteResult, dict[str, int]]:
        engine = self.state.engine
        request = self.request
        listening(self.listener)
        try:
            extras = {
                "emit": self.emit if self.events is not None else None,
                "options": request.options,
                "messages": request.messages,
                "images": decode_images(request.images) if request.images else [],
                "files": self.state.files,
            }
            if self.task is None:
                result = engine.route(request.text, **extras)
            else:
                start = time.perf_counter()
                answer = engine.execute(self.task, request.text, **extras)
                ms = (time.perf_counter() - start) * 1000
                result = forced_result(engine, self.listener, request.text, answer, ms)
            return result, _tokens(self.state, request, result.output)
        finally:
            listening(None)


def _tokens(state: ServerState, request: ChatRequest, output: str) -> dict[str, int]:
    """Usage counted with the shared tokenizer (the one every enigma model reads)."""
    tokenizer = state.engine.tokenizer()
    prompt = sum(len(tokenizer.encode(m["content"])) for m in request.messages if m["content"])
    return fmt.usage(prompt, len(tokenizer.encode(output)) if output else 0)


def _enigma(result: RouteResult) -> dict[str, Any]:
    """The ``enigma`` object of a response: the decision, alternatives, timings, task data."""
    out = result.to_dict()
    out.pop("text", None)
    out.pop("output", None)
    return out


def _observe(state: ServerState, result: RouteResult, forced: bool) -> None:
    metrics = state.metrics
    if not forced:
        metrics.classify_seconds.observe(result.timings_ms.get("classify", 0.0) / 1000)
    if result.task is not None:
        metrics.execute_seconds.labels(result.task).observe(
            result.timings_ms.get("execute", 0.0) / 1000
        )
    state.track_models()


def _model_name(decision: Decision) -> str:
    return f"{MODEL}/{decision.task}" if decision.task is not None else MODEL


async def chat_completions(request: Request) -> Response:
    """The OpenAI chat completions endpoint."""
    state: ServerState = request.app.state.enigma
    body = await read_json(request, state.settings.max_body)
    chat = chat_request(body)
    task = resolve_model(state, chat.model)
    if chat.stream:
        return await _stream(request, state, chat, task)
    job = ChatJob(state, chat, task)
    timeout = state.settings.timeout
    try:
        result, tokens = await state.execute_lane.run(job, timeout=timeout)
    except Exception as exc:
        decision = job.listener.decision()
        if decision is not None:
            note_decision(request, decision)
        raise to_api_error(exc, decision, state, timeout) from None
    decision = decision_of(result)
    _observe(state, result, task is not None)
    note_decision(request, decision)
    answer = fmt.completion(
        fmt.completion_id(), _model_name(decision), result.output, tokens, _enigma(result)
    )
    return json_response(answer, headers=decision.headers())


async def _stream(
    request: Request, state: ServerState, chat: ChatRequest, task: TaskSpec | None
) -> Response:
    """Start the job; answer with its error, or with an SSE stream once the decision is known."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    timeout = state.settings.timeout
    deadline = loop.time() + timeout
    job = ChatJob(state, chat, task, events=(loop, queue))
    call = state.execute_lane.submit(job)
    call.result.add_done_callback(lambda _f: queue.put_nowait(("end", None)))
    first = await _next_event(queue, deadline, loop)
    if first is None or first[0] == "end":
        job.aborted.set()
        try:
            result, tokens = await state.execute_lane.wait(call, max(0.001, deadline - loop.time()))
        except Exception as exc:
            decision = job.listener.decision()
            if decision is not None:
                note_decision(request, decision)
            raise to_api_error(exc, decision, state, timeout) from None
        decision = decision_of(result)
        body = _whole(state, chat, task, result, tokens, decision)
    else:
        decision = first[1]
        body = _chunks(state, chat, task, job, call, queue, decision, deadline, loop)
    note_decision(request, decision)
    headers = {**decision.headers(), "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def _next_event(
    queue: asyncio.Queue[tuple[str, Any]], deadline: float, loop: asyncio.AbstractEventLoop
) -> tuple[str, Any] | None:
    """The next event from the job thread, or None once the deadline has passed."""
    try:
        return await asyncio.wait_for(queue.get(), max(0.0, deadline - loop.time()))
    except asyncio.TimeoutError:
        return None


async def _whole(
    state: ServerState,
    chat: ChatRequest,
    task: TaskSpec | None,
    result: RouteResult,
    tokens: dict[str, int],
    decision: Decision,
) -> AsyncIterator[bytes]:
    """The SSE body of an answer that arrived in one piece."""
    writer = fmt.ChunkWriter(fmt.completion_id(), _model_name(decision), chat.include_usage)
    _observe(state, result, task is not None)
    yield writer.role()
    if result.output:
        yield writer.content(result.output)
    yield writer.finish(_enigma(result))
    if chat.include_usage:
        yield writer.usage(tokens)
    yield fmt.DONE


async def _chunks(
    state: ServerState,
    chat: ChatRequest,
    task: TaskSpec | None,
    job: ChatJob,
    call: Call,
    queue: asyncio.Queue[tuple[str, Any]],
    decision: Decision,
    deadline: float,
    loop: asyncio.AbstractEventLoop,
) -> AsyncIterator[bytes]:
    """The SSE body while the task streams: role, pieces, final chunk, usage, ``[DONE]``."""
    timeout = state.settings.timeout
    writer = fmt.ChunkWriter(fmt.completion_id(), _model_name(decision), chat.include_usage)
    try:
        yield writer.role()
        while True:
            event = await _next_event(queue, deadline, loop)
            if event is None:
                job.aborted.set()
                error = to_api_error(LaneTimeout(), job.listener.decision(), state, timeout)
                yield fmt.error_event(error.message, error.code)
                yield fmt.DONE
                return
            kind, value = event
            if kind == "piece":
                yield writer.content(value)
            elif kind == "end":
                break
        try:
            result, tokens = await state.execute_lane.wait(call, 1.0)
        except Exception as exc:
            error = to_api_error(exc, job.listener.decision(), state, timeout)
            yield fmt.error_event(error.message, error.code)
            yield fmt.DONE
            return
        _observe(state, result, task is not None)
        extra = result.data.get("after_stream")
        if extra:
            yield writer.content("\n" + str(extra).rstrip("\n"))
        yield writer.finish(_enigma(result))
        if chat.include_usage:
            yield writer.usage(tokens)
        yield fmt.DONE
    finally:
        job.aborted.set()
