"""Config-declared tasks through the real engine and plugin discovery: registration, routing,
streaming, chat forwarding, cascades, failures that leave other tasks answering, live edits."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enigma_openai.errors import BackendError
from enigma_openai.fake_server import FakeServer, start_fake_server

from enigma_core import EnigmaEngine
from enigma_core.errors import EnigmaError


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = start_fake_server()
    yield fake
    fake.stop()


def write_config(server: FakeServer, **extra: Any) -> Path:
    """A config with backends ``good`` (echo), ``empty``, ``broken`` (500) and ``big`` and a
    declared ``weather`` task on ``good``; ``extra`` top-level keys are merged in."""
    fast = {"timeout_s": 2, "max_retries": 1, "backoff_s": 0.01}
    config: dict[str, Any] = {
        "backends": {
            "good": {"base_url": server.url, "model": "echo", "system": "Be brief.", **fast},
            "empty": {"base_url": server.url, "model": "empty", **fast},
            "broken": {"base_url": server.url, "model": "fail500", **fast},
            "big": {"base_url": server.url, "model": "echo", **fast},
        },
        "tasks": {
            "weather": {
                "backend": "good",
                "description": "Weather questions.",
                "keywords": ["forecast", "umbrella"],
                "examples": ["will it rain in Oslo tomorrow?", "forecast for Rome"],
                "system": "You answer weather questions.",
            },
        },
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    path = Path(os.environ["ENIGMA_HOME"]) / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_config_tasks_register_with_their_origin(server: FakeServer) -> None:
    write_config(
        server, tasks={"triage": {"backend": "empty", "fallback": "big", "escalate_below": 0.7}}
    )
    engine = EnigmaEngine(use_routing=True)
    weather, good, triage = engine.tasks["weather"], engine.tasks["good"], engine.tasks["triage"]
    assert engine.plugins.task_owner["weather"] == "openai"
    assert weather.origin == good.origin == "config"
    assert (
        weather.intents == ("weather",) and weather.examples[0] == "will it rain in Oslo tomorrow?"
    )
    assert good.intents == () and "echo" in good.description  # a backend is never routed to
    assert (triage.fallback, triage.escalate_below) == ("big", 0.7)
    status = engine.router_status()  # the shipped router does not know 'weather' yet
    assert status["stale"] and "weather" in status["unknown_intents"]


def test_a_declared_task_routes_and_streams(server: FakeServer) -> None:
    write_config(server)
    engine = EnigmaEngine(use_routing=True)
    pieces: list[str] = []
    result = engine.route("is there a forecast for Paris?", emit=pieces.append)
    assert result.task == "weather" and result.plugin == "openai"
    assert result.output == "echo: is there a forecast for Paris?" == "".join(pieces)
    assert result.data["backend"] == "good" and result.data["streamed"] is True
    sent = server.requests_for("echo")[-1].body["messages"]
    assert sent == [  # the task's own system prompt wins over the backend's
        {"role": "system", "content": "You answer weather questions."},
        {"role": "user", "content": "is there a forecast for Paris?"},
    ]
    plain = engine.execute("good", "hi")  # a backend by name, not streamed
    assert plain.output == "echo: hi" and plain.data["streamed"] is False
    assert server.requests_for("echo")[-1].body["messages"][0]["content"] == "Be brief."


def test_chat_forwards_the_whole_conversation_to_its_backend(server: FakeServer) -> None:
    write_config(server, chat={"backend": "good"})
    engine = EnigmaEngine(use_routing=True)
    conversation = [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "Arr."},
        {"role": "user", "content": "how are you today?"},
    ]
    result = engine.route("how are you today?", messages=conversation)
    assert result.task == "chat" and result.output == "echo: how are you today?"
    sent = server.requests_for("echo")[-1].body["messages"]
    assert sent == conversation  # the client's own system message wins over the backend's


def test_an_empty_answer_cascades_to_the_fallback(server: FakeServer) -> None:
    write_config(
        server, tasks={"weather": {"backend": "empty", "keywords": ["forecast"], "fallback": "big"}}
    )
    engine = EnigmaEngine(use_routing=True)
    result = engine.route("forecast for Lyon")
    assert result.task == "big" and result.output == "echo: forecast for Lyon"
    assert result.classification.via == "cascade"
    assert result.classification.details["cascade"] == {
        "from": "weather",
        "to": "big",
        "reason": "weather could not answer",
    }
    # Without a fallback the empty answer is reported as such.
    write_config(server, tasks={"weather": {"backend": "empty", "keywords": ["forecast"]}})
    without = EnigmaEngine(use_routing=True)
    assert without.route("forecast for Lyon").status == "no_answer"


def test_an_unsure_router_cascades_from_the_default_task(server: FakeServer) -> None:
    write_config(
        server,
        default_task="general",
        tasks={"general": {"backend": "empty", "fallback": "big"}},
    )
    engine = EnigmaEngine(use_routing=True)
    # The shipped router is unsure of everything at this threshold: the request is oos.
    result = engine.route("qwxz vbnm plk", options={"oos_threshold": 0.9999})
    assert result.task == "big" and result.classification.via == "cascade"
    assert result.classification.details["cascade"]["reason"] == "router unsure (out of scope)"
    assert result.classification.details["routed_from"] == "oos"


def test_config_gives_a_local_specialist_a_fallback(server: FakeServer) -> None:
    """``cascade.code`` in the config sends what the local code model cannot verify to a model
    server, with no plugin code; a fallback that is not installed is a one-line error."""
    request = "write a function that books a flight to Paris on the cheapest airline"
    write_config(server)
    assert EnigmaEngine(use_routing=True, log=False).route(request).status == "no_answer"
    write_config(server, cascade={"code": {"fallback": "big"}})
    result = EnigmaEngine(use_routing=True, log=False).route(request)
    assert result.task == "big" and result.output == f"echo: {request}"
    assert result.classification.details["cascade"] == {
        "from": "code",
        "to": "big",
        "reason": "code could not answer",
    }
    write_config(server, cascade={"code": {"fallback": "bigger"}})
    with pytest.raises(EnigmaError) as info:
        EnigmaEngine(use_routing=True, log=False).route(request)
    assert str(info.value) == (
        "config 'cascade.code.fallback' names fallback 'bigger', which no installed plugin "
        "registers"
    )


@pytest.mark.parametrize(
    ("cascade", "message"),
    [
        ([], "field 'cascade' must be an object of {task: {fallback, escalate_below}}"),
        ({"code": {}}, "field 'cascade.code.fallback' must name the task that answers instead"),
        ({"code": {"fallback": "code"}}, "field 'cascade.code.fallback' names the task itself"),
        (
            {"code": {"fallback": "big", "escalate_below": 2}},
            "field 'cascade.code.escalate_below' must be a number from 0 to 1",
        ),
    ],
)
def test_a_bad_cascade_names_its_field(server: FakeServer, cascade: Any, message: str) -> None:
    path = write_config(server, cascade=cascade)
    with pytest.raises(EnigmaError) as info:
        EnigmaEngine(use_routing=True, log=False)
    assert str(info.value) == f"{path}: {message}"


def test_a_failing_backend_is_one_error_and_the_rest_still_answers(server: FakeServer) -> None:
    write_config(server, tasks={"weather": {"backend": "broken", "keywords": ["forecast"]}})
    engine = EnigmaEngine(use_routing=True)
    with pytest.raises(BackendError) as info:
        engine.route("forecast for Oslo")
    assert str(info.value).startswith(f"backend 'broken' ({server.url}): HTTP 500")
    code = engine.route("write a function that reverses a string")
    assert code.task == "code" and "def " in code.output
    assert engine.execute("good", "still here").output == "echo: still here"
    assert engine.route("hello there").task == "chat"
    record = engine.plugins.records["openai"]
    assert record.status == "ok" and record.error is None  # an answer, not a broken plugin


def test_config_edits_apply_without_a_restart(server: FakeServer) -> None:
    path = write_config(server)
    engine = EnigmaEngine(use_routing=True)
    assert engine.execute("weather", "hi").output == "echo: hi"
    config = json.loads(path.read_text())
    config["backends"]["good"]["model"] = "empty"
    path.write_text(json.dumps(config))
    engine.reload_config()  # what the engine does by itself within a second of an edit
    assert engine.execute("weather", "hi").status == "no_answer"
    config["backends"]["good"]["model"] = 42  # a broken edit keeps the last good settings
    path.write_text(json.dumps(config))
    engine.reload_config()
    assert engine.execute("weather", "hi").status == "no_answer"


def test_a_broken_section_is_a_plugin_error_naming_the_field(server: FakeServer) -> None:
    path = write_config(server, tasks={"weather": {"backend": "nope"}})
    engine = EnigmaEngine(use_routing=True)
    record = engine.plugins.records["openai"]
    assert record.status == "error"
    assert f"{path}: field 'tasks.weather.backend' names backend 'nope'" in (record.error or "")
    assert engine.route("write a function that adds two numbers").task == "code"
    with pytest.raises(EnigmaError, match="no installed plugin registers task 'good'"):
        engine.execute("good", "hi")


def test_one_engine_serves_many_threads_with_one_connection_pool(server: FakeServer) -> None:
    write_config(server)
    engine = EnigmaEngine(use_routing=True, log=False)
    answers: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            pieces: list[str] = []
            out = engine.execute("weather", f"request {i}", emit=pieces.append)
            answers[i] = out.output if out.output == "".join(pieces) else "mixed"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and answers == {i: f"echo: request {i}" for i in range(32)}
    assert engine.loaded() == ["good"]
    pool = engine.load("good")
    assert engine.unload("good") and pool.http.is_closed
