"""``POST /v1/chat/completions``: route (or force) a task; answer as OpenAI does, streamed or not.

The engine work (image decoding, classification, the task) runs in the execute lane. For a
stream, the routing decision comes back first so the ``x-enigma-*`` headers can be sent, then
each piece the task emits becomes one SSE chunk.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from enigma_core.errors import EnigmaError
from enigma_core.serve import openai_format as fmt
from enigma_core.serve.errors import ApiError, quoted
from enigma_core.serve.failures import to_api_error
from enigma_core.serve.images import decode_images
from enigma_core.serve.jsonbody import read_json
from enigma_core.serve.lanes import Call, LaneTimeout
from enigma_core.serve.responses import json_response, note_decision
from enigma_core.serve.routing import Decision, decide, forced
from enigma_core.serve.state import ServerState
from enigma_core.serve.validate import ChatRequest, chat_request
from enigma_core.types import TaskResult, TaskSpec

MODEL = "enigma"


class StreamAborted(EnigmaError):
    """Raised inside ``emit`` when nobody listens any more (client gone, deadline passed)."""


def resolve_model(state: ServerState, model: str) -> TaskSpec | None:
    """None for ``enigma`` (route), the task for ``enigma/<task>``; 404 for anything else."""
    if model == MODEL:
        return None
    prefix, sep, name = model.partition("/")
    task = state.engine.tasks.get(name) if prefix == MODEL and sep else None
    if task is None or not task.intents:
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
    """One chat request's work, run in a lane thread; ``decision`` is set once it is known."""

    state: ServerState
    request: ChatRequest
    task: TaskSpec | None
    emit: Callable[[str], None] | None = None
    on_decision: Callable[[Decision], None] | None = None
    decision: Decision | None = None
    aborted: threading.Event = field(default_factory=threading.Event)

    def __call__(self) -> tuple[TaskResult | None, float, dict[str, int]]:
        engine = self.state.engine
        images = decode_images(self.request.images) if self.request.images else []
        if self.task is not None:
            decision = forced(engine, self.task)
        else:
            decision = decide(engine, self.request.text, self.request.options)
        self.decision = decision
        if self.on_decision is not None:
            self.on_decision(decision)
        if decision.task is None:
            return None, 0.0, _tokens(self.state, self.request, decision.message)
        start = time.perf_counter()
        answer = engine.execute(
            decision.task,
            self.request.text,
            emit=self.emit,
            options=self.request.options,
            messages=self.request.messages,
            images=images,
            files=self.state.files,
        )
        execute_ms = (time.perf_counter() - start) * 1000
        return answer, execute_ms, _tokens(self.state, self.request, answer.output)


def _tokens(state: ServerState, request: ChatRequest, output: str) -> dict[str, int]:
    """Usage counted with the shared tokenizer (the one every enigma model reads)."""
    tokenizer = state.engine.tokenizer()
    prompt = sum(len(tokenizer.encode(m["content"])) for m in request.messages if m["content"])
    return fmt.usage(prompt, len(tokenizer.encode(output)) if output else 0)


def _enigma(decision: Decision, answer: TaskResult | None, execute_ms: float, text: str) -> Any:
    """The ``enigma`` object of a response: the decision, alternatives and timings."""
    result = decision.result(text, answer, execute_ms).to_dict()
    result.pop("text", None)
    result.pop("output", None)
    return result


def _observe(state: ServerState, decision: Decision, execute_ms: float) -> None:
    metrics = state.metrics
    if decision.classification.via != "explicit" or decision.timings_ms.get("classify"):
        metrics.classify_seconds.observe(decision.timings_ms.get("classify", 0.0) / 1000)
    if decision.task is not None:
        metrics.execute_seconds.labels(decision.task.name).observe(execute_ms / 1000)
    state.track_models()


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
        answer, execute_ms, tokens = await state.execute_lane.run(job, timeout=timeout)
    except Exception as exc:
        if job.decision is not None:
            note_decision(request, job.decision)
        raise to_api_error(exc, job.decision, state, timeout) from None
    decision = job.decision
    assert decision is not None
    _observe(state, decision, execute_ms)
    note_decision(request, decision)
    output = answer.output if answer is not None else decision.message
    model = f"{MODEL}/{decision.task.name}" if decision.task is not None else MODEL
    body_out = fmt.completion(
        fmt.completion_id(), model, output, tokens, _enigma(decision, answer, execute_ms, chat.text)
    )
    return json_response(body_out, headers=decision.headers())


async def _stream(
    request: Request, state: ServerState, chat: ChatRequest, task: TaskSpec | None
) -> Response:
    """Start the job; answer with its error, or with an SSE stream once the decision is known."""
    loop = asyncio.get_running_loop()
    events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    timeout = state.settings.timeout
    deadline = loop.time() + timeout

    def put(kind: str, value: Any) -> None:
        loop.call_soon_threadsafe(events.put_nowait, (kind, value))

    job = ChatJob(state, chat, task)

    def emit(piece: str) -> None:
        if job.aborted.is_set():
            raise StreamAborted("the client stopped listening")
        put("piece", piece)

    job.emit = emit
    job.on_decision = lambda d: put("decision", d)
    call = state.execute_lane.submit(job)
    call.result.add_done_callback(lambda _f: events.put_nowait(("end", None)))

    first = await _next_event(events, deadline, loop)
    if first is None or first[0] != "decision":
        job.aborted.set()
        try:
            await state.execute_lane.wait(call, max(0.001, deadline - loop.time()))
        except Exception as exc:
            raise to_api_error(exc, job.decision, state, timeout) from None
        raise to_api_error(TimeoutError(), job.decision, state, timeout)
    decision: Decision = first[1]
    note_decision(request, decision)
    model = f"{MODEL}/{decision.task.name}" if decision.task is not None else MODEL
    writer = fmt.ChunkWriter(fmt.completion_id(), model, chat.include_usage)
    body = _chunks(state, chat, job, call, events, writer, deadline, loop)
    headers = {**decision.headers(), "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)


async def _next_event(
    events: asyncio.Queue[tuple[str, Any]], deadline: float, loop: asyncio.AbstractEventLoop
) -> tuple[str, Any] | None:
    """The next event from the job thread, or None once the deadline has passed."""
    try:
        return await asyncio.wait_for(events.get(), max(0.0, deadline - loop.time()))
    except asyncio.TimeoutError:
        return None


async def _chunks(
    state: ServerState,
    chat: ChatRequest,
    job: ChatJob,
    call: Call,
    events: asyncio.Queue[tuple[str, Any]],
    writer: fmt.ChunkWriter,
    deadline: float,
    loop: asyncio.AbstractEventLoop,
) -> AsyncIterator[bytes]:
    """The SSE body: role chunk, content chunks, final chunk, usage, ``[DONE]``."""
    timeout = state.settings.timeout
    streamed: list[str] = []
    try:
        yield writer.role()
        while True:
            event = await _next_event(events, deadline, loop)
            if event is None:
                job.aborted.set()
                error = to_api_error(LaneTimeout(), job.decision, state, timeout)
                yield fmt.error_event(error.message, error.code)
                yield fmt.DONE
                return
            kind, value = event
            if kind == "piece":
                streamed.append(value)
                yield writer.content(value)
            elif kind == "end":
                break
        try:
            answer, execute_ms, tokens = await state.execute_lane.wait(call, 1.0)
        except Exception as exc:
            error = to_api_error(exc, job.decision, state, timeout)
            yield fmt.error_event(error.message, error.code)
            yield fmt.DONE
            return
        decision = job.decision
        assert decision is not None
        _observe(state, decision, execute_ms)
        output = answer.output if answer is not None else decision.message
        if not streamed and output:
            yield writer.content(output)
        elif streamed and answer is not None and answer.data.get("after_stream"):
            yield writer.content("\n" + str(answer.data["after_stream"]).rstrip("\n"))
        yield writer.finish(_enigma(decision, answer, execute_ms, chat.text))
        if chat.include_usage:
            yield writer.usage(tokens)
        yield fmt.DONE
    finally:
        job.aborted.set()
