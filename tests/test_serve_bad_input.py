"""Bad requests to a real ``enigma serve``: each the right 4xx, one clear line, no traceback."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.serve_support import Server, bomb_png, chat_body, data_url, png_bytes, start_server
from tests.venvs import Venv


@pytest.fixture(scope="module")
def server(serve_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with the default limits (8 MiB bodies) and an API key."""
    running = start_server(serve_venv, tmp_path_factory.mktemp("serve_bad"))
    yield running
    assert running.stop() == 0, running.log()


def _image_body(url: str, text: str = "describe this image") -> dict[str, Any]:
    content = [{"type": "text", "text": text}, {"type": "image_url", "image_url": {"url": url}}]
    return {"model": "enigma", "messages": [{"role": "user", "content": content}]}


def _error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert "\n" not in error["message"] and "Traceback" not in response.text
    return error


def _post(server: Server, path: str, **kwargs: Any) -> httpx.Response:
    with server.client() as client:
        return client.post(path, **kwargs)


def test_malformed_json(server: Server) -> None:
    error = _error(_post(server, "/v1/chat/completions", content=b'{"model": "enigma",'), 400)
    assert error["code"] == "invalid_json" and "line 1, column" in error["message"]


@pytest.mark.parametrize(
    ("body", "param", "words"),
    [
        ({"model": 5, "messages": []}, "model", "must be a non-empty string"),
        (chat_body("hi") | {"messages": "hi"}, "messages", "must be an array"),
        (chat_body("hi") | {"stream": "yes"}, "stream", "must be a boolean"),
        (chat_body("hi") | {"max_tokens": -1}, "max_tokens", "between 1 and 4096"),
        (chat_body("hi") | {"temperature": "hot"}, "temperature", "must be number"),
        (chat_body("hi") | {"n": 3}, "n", "only 1 choice"),
        (
            {"model": "enigma", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0]",
            "is not one of",
        ),
        (
            {"model": "enigma", "messages": [{"role": "user", "content": 7}]},
            "messages[0].content",
            "string or an array",
        ),
        (
            {"model": "enigma", "messages": [{"role": "user", "content": [{"type": "audio"}]}]},
            "messages[0].content[0]",
            "not supported",
        ),
        (
            {"model": "enigma", "messages": [{"role": "system", "content": "x"}]},
            "messages",
            "no user message",
        ),
    ],
)
def test_wrong_types_name_the_parameter(
    server: Server, body: dict[str, Any], param: str, words: str
) -> None:
    error = _error(_post(server, "/v1/chat/completions", json=body), 400)
    assert error["param"] == param and words in error["message"], error


def test_missing_messages(server: Server) -> None:
    error = _error(_post(server, "/v1/chat/completions", json={"model": "enigma"}), 400)
    assert error["code"] == "missing_required_parameter" and error["param"] == "messages"


@pytest.mark.parametrize("content", ["", "   ", [{"type": "text", "text": ""}]])
def test_empty_content(server: Server, content: Any) -> None:
    body = {"model": "enigma", "messages": [{"role": "user", "content": content}]}
    error = _error(_post(server, "/v1/chat/completions", json=body), 400)
    assert "empty" in error["message"]


def test_ten_megabyte_body(server: Server) -> None:
    big = chat_body("x" * (10 * 1024 * 1024))
    error = _error(_post(server, "/v1/chat/completions", json=big), 413)
    assert "too large" in error["message"]


def test_body_without_content_length_is_capped_while_read(server: Server) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"model": "enigma", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * (1024 * 1024)
        yield b'"}]}'

    error = _error(_post(server, "/v1/chat/completions", content=chunks()), 413)
    assert error["code"] == "request_too_large"


def test_bad_base64(server: Server) -> None:
    error = _error(
        _post(server, "/v1/chat/completions", json=_image_body("data:image/png;base64,@@@not")),
        400,
    )
    assert "base64" in error["message"] and error["param"].endswith("image_url")


def test_not_an_image(server: Server) -> None:
    url = "data:image/png;base64," + base64.b64encode(b"hello, not a png").decode()
    error = _error(_post(server, "/v1/chat/completions", json=_image_body(url)), 400)
    assert "image" in error["message"]


def test_png_bomb_refused_before_decoding(server: Server) -> None:
    bomb = bomb_png()
    assert len(bomb) < 1_000_000
    error = _error(_post(server, "/v1/chat/completions", json=_image_body(data_url(bomb))), 400)
    assert "too large" in error["message"], error


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/cat.png", "file:///etc/passwd", "data:text/plain;base64,aGk="]
)
def test_only_data_image_urls(server: Server, url: str) -> None:
    error = _error(_post(server, "/v1/chat/completions", json=_image_body(url)), 400)
    assert "data: URL" in error["message"] or "not supported" in error["message"]


def test_unknown_model_and_task(server: Server) -> None:
    for model in ("gpt-4o", "enigma/nope", "enigma/router", "enigma/"):
        error = _error(_post(server, "/v1/chat/completions", json=chat_body("hi", model)), 404)
        assert error["code"] == "model_not_found" and error["param"] == "model"
    error = _error(_post(server, "/v1/route", json={"input": "hi", "task": "nope"}), 404)
    assert error["code"] == "task_not_found" and "nope" in error["message"]


def test_wrong_api_key(server: Server) -> None:
    with server.client(key="not-the-key") as client:
        error = _error(client.post("/v1/chat/completions", json=chat_body("hi")), 401)
    assert "API key" in error["message"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"input": NaN}', "NaN"),
        (b'"just a string"', "must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"", "empty"),
    ],
)
def test_odd_json(server: Server, raw: bytes, words: str) -> None:
    error = _error(_post(server, "/v1/classify", content=raw), 400)
    assert words in error["message"], error


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "input"),
        ({"input": []}, "input"),
        ({"input": ["ok", 3]}, "input[1]"),
        ({"input": "x" * 20_001}, "input"),
        ({"input": "hi", "oos_threshold": 2}, "oos_threshold"),
    ],
)
def test_classify_bad_input(server: Server, body: dict[str, Any], param: str) -> None:
    assert _error(_post(server, "/v1/classify", json=body), 400)["param"] == param


def test_route_refuses_unknown_options(server: Server) -> None:
    body = {"input": "hi", "options": {"max_attempts": 10_000}}
    error = _error(_post(server, "/v1/route", json=body), 400)
    assert error["param"] == "options" and "unknown option 'max_attempts'" in error["message"]


def test_unknown_path_and_method(server: Server) -> None:
    with server.client() as client:
        assert _error(client.get("/v2/nothing"), 404)["code"] == "not_found"
        assert _error(client.delete("/v1/models"), 405)["code"] == "method_not_allowed"


def test_plugin_failure_is_502_naming_the_plugin(server: Server) -> None:
    error = _error(_post(server, "/v1/chat/completions", json=chat_body("probe fail")), 502)
    assert "'probe'" in error["message"] and "probe broke on purpose" in error["message"]
    assert error["code"] == "plugin_error"


def test_plugin_system_exit_is_contained(server: Server) -> None:
    error = _error(_post(server, "/v1/chat/completions", json=chat_body("probe exit")), 502)
    assert "SystemExit" in error["message"] and "'probe'" in error["message"]
    with server.client() as client:
        assert client.get("/healthz").status_code == 200
        ok = client.post("/v1/chat/completions", json=chat_body("hello there!"))
    assert ok.status_code == 200, "the server survives a plugin's sys.exit()"


def test_task_refusal_is_400_with_its_message(server: Server) -> None:
    error = _error(_post(server, "/v1/chat/completions", json=chat_body("probe refuse")), 400)
    assert error["message"] == "probe refuses this request"


def test_good_image_still_works(server: Server) -> None:
    body = _image_body(data_url(png_bytes(), "image/png"), "probe report")
    body["model"] = "enigma/probe"
    response = _post(server, "/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text


def test_no_traceback_in_server_log(server: Server) -> None:
    assert "Traceback" not in server.log()
