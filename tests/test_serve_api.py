"""``enigma serve`` driven by the official ``openai`` SDK and httpx: endpoints, headers, metrics.

One real server (a subprocess in a venv built from the repo's wheels) for the whole module.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.serve_support import KEY, Server, chat_body, data_url, png_bytes, start_server
from tests.venvs import Venv

CODE = "write a function that reverses a string"


@pytest.fixture(scope="module")
def server(serve_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The default server (API key on)."""
    running = start_server(serve_venv, tmp_path_factory.mktemp("serve"))
    yield running
    assert running.stop() == 0, running.log()


@pytest.fixture(scope="module")
def sdk(server: Server) -> openai.OpenAI:
    """The official OpenAI client pointed at the server."""
    return openai.OpenAI(base_url=server.url + "/v1", api_key=KEY, max_retries=0, timeout=120)


def test_chat_completion_routes_code_with_sdk(sdk: openai.OpenAI) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model="enigma", messages=[{"role": "user", "content": CODE}]
    )
    completion = raw.parse()
    assert raw.headers["x-enigma-intent"] == "code"
    assert raw.headers["x-enigma-task"] == "code"
    assert raw.headers["x-enigma-via"] == "model"
    assert 0.5 < float(raw.headers["x-enigma-confidence"]) <= 1.0
    assert completion.model == "enigma/code"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.role == "assistant"
    assert "def " in completion.choices[0].message.content
    assert completion.usage.completion_tokens > 0
    extra = completion.model_extra["enigma"]
    assert extra["task"] == "code" and extra["plugin"] == "code"
    assert set(extra["timings_ms"]) >= {"classify", "execute"}
    assert extra["alternatives"], extra


def test_streaming_chat_with_sdk(sdk: openai.OpenAI) -> None:
    stream = sdk.chat.completions.create(
        model="enigma",
        messages=[{"role": "user", "content": CODE}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [
        c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content
    ]
    assert len(pieces) > 3, "the code task streams token by token"
    assert "def " in "".join(pieces)
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finals] == ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert len({c.id for c in chunks}) == 1


def test_stream_is_sse_ending_with_done(server: Server) -> None:
    with (
        server.client() as client,
        client.stream(
            "POST", "/v1/chat/completions", json=chat_body("hello there!", stream=True)
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-enigma-task"] == "chat"
        body = response.read().decode()
    events = [e for e in body.split("\n\n") if e]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.startswith("Hello!")


def test_models_list_with_sdk(sdk: openai.OpenAI) -> None:
    ids = [m.id for m in sdk.models.list()]
    assert ids[0] == "enigma"
    assert {"enigma/chat", "enigma/code", "enigma/vision", "enigma/probe"} <= set(ids)
    assert "enigma/router" not in ids, "the router is not a task that answers requests"
    assert sdk.models.retrieve("enigma/code").owned_by == "enigma-code"
    with pytest.raises(openai.NotFoundError):
        sdk.models.retrieve("enigma/nope")


def test_image_message_reaches_the_task_decoded(sdk: openai.OpenAI) -> None:
    url = data_url(png_bytes(64, 48))
    completion = sdk.chat.completions.create(
        model="enigma/probe",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "probe report"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    report = json.loads(completion.choices[0].message.content)
    assert report["images"] == [[64, 48, "RGB"]]
    assert url[:40] not in json.dumps(report["messages"]), "base64 never reaches the task text"


def test_conversation_reaches_task_and_last_user_message_routes(server: Server) -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": CODE},
        {"role": "assistant", "content": "def f(s): return s[::-1]"},
        {"role": "user", "content": "probe report"},
    ]
    with server.client() as client:
        response = client.post(
            "/v1/chat/completions", json={"model": "enigma", "messages": messages}
        )
    assert response.status_code == 200, response.text
    assert response.headers["x-enigma-task"] == "probe"
    report = json.loads(response.json()["choices"][0]["message"]["content"])
    assert [m["role"] for m in report["messages"]] == ["system", "user", "assistant", "user"]
    assert report["messages"][1]["content"] == CODE
    assert report["streaming"] is False


def test_forced_task_skips_the_router(server: Server) -> None:
    with server.client() as client:
        response = client.post("/v1/chat/completions", json=chat_body(CODE, "enigma/chat"))
    assert response.status_code == 200
    assert response.headers["x-enigma-task"] == "chat"
    assert response.headers["x-enigma-via"] == "explicit"
    assert response.json()["model"] == "enigma/chat"


def test_openai_options_reach_the_task(server: Server) -> None:
    body = chat_body("probe report", "enigma/probe", max_tokens=7, temperature=0.5, seed=3)
    with server.client() as client:
        report = json.loads(
            client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"][
                "content"
            ]
        )
    assert report["options"] == {"max_tokens": 7, "temperature": 0.5, "seed": 3}


def test_classify_one_and_many_in_order(server: Server) -> None:
    texts = [CODE, "hello there!", "describe photo.png", "draw me a cat"]
    with server.client() as client:
        one = client.post("/v1/classify", json={"input": CODE})
        many = client.post("/v1/classify", json={"input": texts})
    assert one.status_code == 200
    assert one.json()["intent"] == "code" and one.json()["text"] == CODE
    assert one.headers["x-enigma-intent"] == "code" and one.headers["x-enigma-task"] == "code"
    data = many.json()["data"]
    assert [d["text"] for d in data] == texts
    assert [d["intent"] for d in data] == ["code", "chat", "vision", "image"]


def test_route_matches_route_json_shape(server: Server, serve_venv: Venv) -> None:
    with server.client() as client:
        response = client.post("/v1/route", json={"input": "hello there!"})
    assert response.status_code == 200
    body = response.json()
    cli = serve_venv.json("route", "hello there!")
    assert set(cli) <= set(body)
    assert (body["intent"], body["task"], body["output"]) == (
        cli["intent"],
        cli["task"],
        cli["output"],
    )
    assert response.headers["x-enigma-task"] == "chat"


def test_route_missing_plugin_is_answered_not_failed(server: Server) -> None:
    with server.client() as client:
        response = client.post("/v1/chat/completions", json=chat_body("draw me a cat"))
    assert response.status_code == 200
    assert response.headers["x-enigma-intent"] == "image"
    assert response.headers["x-enigma-task"] == "none"
    assert response.json()["enigma"]["status"] == "missing_plugin"
    assert "image" in response.json()["choices"][0]["message"]["content"]


def test_plugins_endpoint(server: Server) -> None:
    with server.client() as client:
        body = client.get("/v1/plugins").json()
    names = {p["name"]: p for p in body["data"]}
    assert {"builtin", "code", "router", "vision", "probe"} <= set(names)
    assert names["code"]["tasks"] == ["code"]
    assert "path" not in body["router"], "no server paths in responses"


def test_health_is_public_everything_else_needs_the_key(server: Server) -> None:
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(server.url + "/readyz").json()
    assert ready["status"] == "ready" and ready["router"] == "model"
    for method, path in [
        ("GET", "/v1/models"),
        ("POST", "/v1/classify"),
        ("GET", "/metrics"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/plugins"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
            response = httpx.request(method, server.url + path, headers=headers, json={})
            assert response.status_code == 401, (path, headers)
            assert response.json()["error"]["code"] == "invalid_api_key"
            assert response.headers["www-authenticate"] == "Bearer"
    assert KEY not in server.log()


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_by_decision(server: Server) -> None:
    with server.client() as client:
        before = client.get("/metrics").text
        client.post("/v1/chat/completions", json=chat_body(CODE))
        client.post("/v1/classify", json={"input": "hello there!"})
        client.post("/v1/classify", json={"input": ""})
        after = client.get("/metrics").text
    labels = {
        "endpoint": "/v1/chat/completions",
        "intent": "code",
        "task": "code",
        "via": "model",
        "status": "200",
    }
    assert _metric(after, "enigma_requests_total", **labels) == (
        _metric(before, "enigma_requests_total", **labels) + 1
    )
    assert _metric(after, "enigma_requests_total", endpoint="/v1/classify", status="400") >= 1
    assert _metric(after, "enigma_classify_seconds_count") >= 2
    assert _metric(after, "enigma_execute_seconds_count", task="code") >= 1
    assert _metric(after, "enigma_model_loads_total", task="code") == 1
    assert _metric(after, "enigma_model_loads_total", task="router") == 1
    assert "enigma_requests_in_flight" in after
    assert "enigma_queue_rejections_total" in after or "enigma_queue_rejections" in after
    assert "enigma_plugin_errors" in after


def test_access_log_line_per_request(server: Server) -> None:
    pattern = re.compile(
        r'^127\.0\.0\.1 "POST /v1/chat/completions" 200 intent=chat task=chat via=model '
        r"\d+\.\dms$"
    )
    before = len([x for x in server.log().splitlines() if pattern.match(x)])
    with server.client() as client:
        client.post("/v1/chat/completions", json=chat_body("hello there!", "enigma"))
    for _ in range(50):  # the line is written just after the last byte is sent
        lines = [x for x in server.log().splitlines() if pattern.match(x)]
        if len(lines) > before:
            break
        time.sleep(0.1)
    assert len(lines) == before + 1, server.log()[-2000:]


def test_openapi_document(server: Server) -> None:
    with server.client() as client:
        doc = client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/v1/chat/completions", "/v1/classify", "/v1/route", "/v1/models"} <= set(doc["paths"])


def test_no_key_server_answers_everyone(serve_venv: Venv, tmp_path: Path) -> None:
    running = start_server(serve_venv, tmp_path, key=None)
    try:
        response = httpx.post(running.url + "/v1/classify", json={"input": "hello"}, timeout=30)
        assert response.status_code == 200
        assert running.url.startswith("http://127.0.0.1:"), "binds loopback by default"
    finally:
        assert running.stop() == 0


def test_help_imports_no_server_stack(serve_venv: Venv) -> None:
    code = (
        "import atexit, sys\n"
        "heavy = ('starlette', 'uvicorn', 'prometheus_client', 'enigma_core.serve', 'torch')\n"
        "atexit.register(lambda: print('LOADED', sorted(m for m in sys.modules "
        "if m.startswith(heavy)), file=sys.stderr))\n"
        "sys.argv = ['enigma', '--help']\n"
        "from enigma_core.cli.main import run\n"
        "run()\n"
    )
    done = serve_venv.run_python(code)
    assert "serve" in done.stdout, done.stdout
    assert "LOADED []" in done.stderr, done.stderr


def test_serve_without_the_extra_says_what_to_install(core_venv: Venv) -> None:
    done = core_venv.run("serve", "--port", "0")
    assert done.returncode == 1
    err = done.stderr.decode().strip()
    assert err.startswith("enigma: error: enigma serve needs") and "enigma-core[serve]" in err
    assert len(err.splitlines()) == 1


def test_image_message_is_described_by_vision(sdk: openai.OpenAI) -> None:
    url = data_url(png_bytes(96, 64, (250, 0, 0)))
    raw = sdk.chat.completions.with_raw_response.create(
        model="enigma",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is in this picture?"},
                    {"type": "image_url", "image_url": {"url": url}},
                ],
            }
        ],
    )
    assert raw.headers["x-enigma-task"] == "vision"
    assert "red" in raw.parse().choices[0].message.content.lower()


def test_classify_explains_and_takes_a_rejection_budget(server: Server) -> None:
    with server.client() as client:
        explained = client.post("/v1/classify", json={"input": CODE, "explain": True})
        strict = client.post("/v1/classify", json={"input": "zork the quux", "oos_budget": 0.5})
        bad = client.post("/v1/classify", json={"input": CODE, "oos_budget": 3})
    assert explained.status_code == 200, explained.text
    nearest = explained.json()["details"]["explain"]["nearest"]
    assert nearest and nearest[0]["intent"] == "code"
    assert strict.status_code == 200 and strict.json()["intent"] == "oos"
    assert bad.status_code == 400 and "oos_budget" in bad.json()["error"]["message"]
