"""The HTTP client against a real (fake, misbehaving on purpose) server on 127.0.0.1: answers,
streams, retries with backoff, and turns every failure into one line naming the backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from enigma_openai.client import BackendClient
from enigma_openai.errors import BackendError
from enigma_openai.fake_server import RIGHT_KEY, FakeServer, start_fake_server
from enigma_openai.settings import Backend

HI = [{"role": "user", "content": "hello there friend"}]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = start_fake_server()
    yield fake
    fake.stop()


@pytest.fixture
def client() -> Iterator[BackendClient]:
    c = BackendClient("t")
    yield c
    c.close()


def _backend(server: FakeServer, model: str, **extra: Any) -> Backend:
    settings: dict[str, Any] = {"timeout_s": 1.0, "max_retries": 2, "backoff_s": 0.01}
    settings.update(extra)
    return Backend(name=model, base_url=server.url, model=model, **settings)


def test_answers_and_streams_the_same_text(server: FakeServer, client: BackendClient) -> None:
    backend = _backend(server, "echo", max_tokens=64, temperature=0.3)
    plain = client.complete(backend, HI, {"max_tokens": 64, "temperature": 0.3})
    assert plain.text == "echo: hello there friend" and plain.finish_reason == "stop"
    assert plain.usage["total_tokens"] == 9 and not plain.streamed
    pieces: list[str] = []
    streamed = client.complete(backend, HI, {}, emit=pieces.append)
    assert streamed.streamed and streamed.text == plain.text
    assert pieces == ["echo: ", "hello ", "there ", "friend"]  # one piece per SSE event
    sent = server.requests_for("echo")[-2:]
    assert [s.body["stream"] for s in sent] == [False, True]
    assert sent[0].body["max_tokens"] == 64 and sent[0].body["messages"] == HI
    assert sent[0].path == "/v1/chat/completions" and "authorization" not in {
        k.lower() for k in sent[0].headers
    }


def test_a_server_that_ignores_stream_true_still_answers(
    server: FakeServer, client: BackendClient
) -> None:
    pieces: list[str] = []
    answer = client.complete(_backend(server, "nostream"), HI, {}, emit=pieces.append)
    assert pieces == ["echo: hello there friend"] and answer.text == pieces[0]


def test_the_key_comes_from_the_named_variable_and_never_shows(
    server: FakeServer, client: BackendClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = _backend(server, "auth", api_key_env="FAKE_UPSTREAM_KEY")
    monkeypatch.delenv("FAKE_UPSTREAM_KEY", raising=False)
    before = len(server.requests_for("auth"))
    with pytest.raises(BackendError, match="FAKE_UPSTREAM_KEY \\(api_key_env\\) is not set"):
        client.complete(backend, HI, {})
    assert len(server.requests_for("auth")) == before  # nothing sent without a key
    monkeypatch.setenv("FAKE_UPSTREAM_KEY", RIGHT_KEY)
    assert client.complete(backend, HI, {}).text.startswith("echo:")
    assert server.requests_for("auth")[-1].headers["Authorization"] == f"Bearer {RIGHT_KEY}"
    wrong = "sk-wrong-key-that-must-not-leak-42"
    monkeypatch.setenv("FAKE_UPSTREAM_KEY", wrong)
    with pytest.raises(BackendError) as info:
        client.complete(backend, HI, {})  # the server echoes the key it got; we mask it
    message = str(info.value)
    assert "HTTP 401" in message and "refused the key in $FAKE_UPSTREAM_KEY" in message
    assert wrong not in message and "must-not-leak" not in message
    assert len(server.requests_for("auth")) == before + 2  # a 401 is not retried


CASES = [
    # model, stream, message, http status, requests the server sees
    (
        "fail500",
        False,
        "HTTP 500 Internal Server Error after 3 attempts: the model crashed",
        502,
        3,
    ),
    ("ratelimit", True, "HTTP 429 Too Many Requests after 3 attempts: slow down", 502, 3),
    ("hang", False, "no answer within 1 s (timeout_s)", 504, 1),
    ("hang", True, "no answer within 1 s (timeout_s)", 504, 1),
    ("badjson", False, "HTTP 200 with invalid JSON (17 bytes)", 502, 1),
    ("badjson", True, "sent invalid JSON in stream event 1 before any answer", 502, 1),
    ("hang_mid", False, "no answer within 1 s (timeout_s)", 504, 1),
    ("hang_mid", True, "stopped sending for 1 s (timeout_s) after 6 characters", 502, 1),
    ("cut", False, "the server closed the connection after 3 attempts", 502, 3),
    ("cut_clean", False, "HTTP 200 with invalid JSON (133 bytes)", 502, 1),
    (
        "cut",
        True,
        "broke the connection (the server closed the connection) after 6 characters",
        502,
        1,
    ),
    ("cut_clean", True, "ended the stream before the end of the answer after 6 characters", 502, 1),
]


@pytest.mark.parametrize(("model", "stream", "expected", "status", "requests"), CASES)
def test_every_failure_is_one_line_naming_the_backend(
    server: FakeServer,
    client: BackendClient,
    model: str,
    stream: bool,
    expected: str,
    status: int,
    requests: int,
) -> None:
    before = len(server.requests_for(model))
    pieces: list[str] = []
    with pytest.raises(BackendError) as info:
        client.complete(_backend(server, model), HI, {}, emit=pieces.append if stream else None)
    message = str(info.value)
    assert message == f"backend {model!r} ({server.url}): {expected}", message
    assert info.value.http_status == status
    assert len(server.requests_for(model)) - before == requests
    if "characters" in expected:  # partial output came out, then the cut-off mark
        assert pieces[0] == "echo: " and pieces[-1].strip().startswith("[cut off:")


def test_refused_connections_are_retried_then_reported(client: BackendClient) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits: list[float] = []
    backend = Backend(name="down", base_url=f"http://127.0.0.1:{port}/v1", model="m", backoff_s=0.2)
    with pytest.raises(BackendError) as info:
        client.complete(backend, HI, {}, sleep=waits.append)
    assert str(info.value) == (
        f"backend 'down' (http://127.0.0.1:{port}/v1): cannot connect (connection refused) "
        "after 3 attempts"
    )
    assert len(waits) == 2 and 0.15 <= waits[0] <= 0.2 and 0.3 <= waits[1] <= 0.4  # backoff


def test_transient_errors_are_retried_with_backoff(
    server: FakeServer, client: BackendClient
) -> None:
    waits: list[float] = []
    answer = client.complete(_backend(server, "flaky", backoff_s=0.05), HI, {}, sleep=waits.append)
    assert answer.text.startswith("echo:") and answer.attempts == 3
    assert len(waits) == 2 and waits[1] > waits[0]
    zero: list[float] = []
    with pytest.raises(BackendError, match="after 2 attempts"):
        client.complete(_backend(server, "ratelimit", max_retries=1), HI, {}, sleep=zero.append)
    assert zero == [0.0]  # the server's Retry-After: 0 is honoured


def test_wrong_path_says_to_check_model_and_base_url(
    server: FakeServer, client: BackendClient
) -> None:
    backend = Backend(name="nov1", base_url=server.url[: -len("/v1")], model="echo")
    with pytest.raises(BackendError, match="HTTP 404 Not Found: no route /chat/completions"):
        client.complete(backend, HI, {})


def test_a_key_in_the_query_string_never_shows(server: FakeServer, client: BackendClient) -> None:
    secret = "sk-query-secret-0123456789"
    backend = Backend(name="q", base_url=f"{server.url}?api-key={secret}", model="echo")
    with pytest.raises(BackendError) as info:  # the server echoes the path it got
        client.complete(backend, HI, {})
    assert server.seen[-1].path.endswith(f"?api-key={secret}")
    assert "HTTP 404" in str(info.value) and secret not in str(info.value)
