"""Property tests of the server's request parsers and validators, and its routing decision.

Any JSON a client can send must end in a parsed request or a one-line 400 naming a parameter,
never another exception; the server's engine must report the decision ``route`` returns.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enigma_core.serve.errors import ApiError
from enigma_core.serve.images import data_url_bytes
from enigma_core.serve.jsonbody import parse_json
from enigma_core.serve.routing import Listener, ServingEngine, decision_of, listening
from enigma_core.serve.validate import (
    ChatRequest,
    ImageRef,
    chat_request,
    classify_inputs,
    classify_options,
    options_from,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
parts = st.fixed_dictionaries(
    {"type": st.sampled_from(["text", "image_url", "audio", 3])},
    optional={
        "text": json_values,
        "image_url": json_values | st.fixed_dictionaries({"url": json_values}),
    },
)
messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["user", "assistant", "system", "tool", "robot", None])},
        optional={"content": json_values | st.text(max_size=30) | st.lists(parts, max_size=3)},
    )
    | json_values,
    max_size=5,
)
chat_bodies = st.fixed_dictionaries(
    {},
    optional={
        "model": st.sampled_from(["enigma", "enigma/code", ""]) | json_values,
        "messages": messages | json_values,
        "stream": json_values,
        "stream_options": json_values | st.fixed_dictionaries({"include_usage": json_values}),
        "max_tokens": json_values,
        "temperature": json_values,
        "top_p": json_values,
        "seed": json_values,
        "n": json_values,
    },
)


def _check_400(error: ApiError) -> None:
    assert error.status == 400
    assert error.message and "\n" not in error.message
    json.loads(error.body())


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chat_bodies)
def test_chat_validator_parses_or_names_the_problem(body: dict[str, Any]) -> None:
    try:
        request = chat_request(body)
    except ApiError as error:
        _check_400(error)
        return
    assert isinstance(request, ChatRequest)
    assert request.text.strip() and request.model
    assert all(set(m) == {"role", "content"} for m in request.messages)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["input", "oos_threshold", "oos_margin", "x"]), json_values))
def test_classify_validator(body: dict[str, Any]) -> None:
    try:
        texts, single = classify_inputs(body)
        options = classify_options(body)
    except ApiError as error:
        _check_400(error)
        return
    assert texts and all(isinstance(t, str) and t.strip() for t in texts)
    assert single == isinstance(body["input"], str)
    assert set(options) <= {"oos_threshold", "oos_margin"}


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "options": json_values
            | st.dictionaries(
                st.sampled_from(["max_tokens", "temperature", "faces", "max_attempts"]), json_values
            )
        },
    )
)
def test_route_options_validator(body: dict[str, Any]) -> None:
    try:
        options = options_from(body)
    except ApiError as error:
        _check_400(error)
        return
    assert "max_attempts" not in options
    assert all(v is not None for v in options.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_json_parser(raw: bytes) -> None:
    try:
        body = parse_json(raw)
    except ApiError as error:
        _check_400(error)
        return
    assert isinstance(body, dict)


@settings(max_examples=300, deadline=None)
@given(
    st.text(max_size=80)
    | st.builds(
        lambda m, b: f"data:{m};base64,{b}",
        st.sampled_from(["image/png", "image/gif", "text/html", ""]),
        st.text(max_size=40),
    )
)
def test_data_url_parser(url: str) -> None:
    try:
        fmt, data = data_url_bytes(ImageRef("messages[0].content[1].image_url", url))
    except ApiError as error:
        _check_400(error)
        assert error.param == "messages[0].content[1].image_url"
        return
    assert fmt in {"PNG", "GIF"} and data


@pytest.fixture(scope="module")
def engine() -> ServingEngine:
    """The server's engine over the plugins installed in this venv (the repo's three)."""
    return ServingEngine(use_routing=True, log=False)


@pytest.mark.parametrize(
    "text",
    [
        "write a function that reverses a string",
        "hello there!",
        "[E:vision] person, smiling, beach",
        "draw me a cat",
        "[E:code] anything",
        "qwzx plorb",
        "what is the capital of France?",
    ],
)
def test_listener_sees_the_decision_route_returns(engine: ServingEngine, text: str) -> None:
    seen = Listener()
    at_first_piece: list[dict[str, str]] = []

    def emit(piece: str) -> None:
        if not at_first_piece:
            decision = seen.decision()
            assert decision is not None
            at_first_piece.append(decision.headers())

    listening(seen)
    try:
        result = engine.route(text, emit=emit)
    finally:
        listening(None)
    final = decision_of(result).headers()
    if result.task is not None:
        assert seen.decision() is not None and seen.decision().headers() == final
    assert at_first_piece in ([], [final]), "a stream's headers are the final decision"
    if text.startswith("write"):
        assert at_first_piece, "the code task streams"


def test_listener_is_per_thread(engine: ServingEngine) -> None:
    seen = Listener()
    listening(seen)
    try:
        done = []
        thread = threading.Thread(target=lambda: done.append(engine.route("hello there!")))
        thread.start()
        thread.join()
    finally:
        listening(None)
    assert done and seen.decision() is None
