"""Model-server backends through the real ``enigma`` CLI (subprocesses) against a real HTTP
server on 127.0.0.1 that misbehaves on purpose: add-task, listing, routing, streaming, the
failure matrix (message, exit status, other tasks still answer) and keys that never show."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enigma_openai.fake_server import RIGHT_KEY, FakeServer, start_fake_server

ENIGMA = str(Path(sys.executable).with_name("enigma"))
WEATHER_EXAMPLES = [
    "will it rain in Oslo tomorrow?",
    "what's the weather forecast for Berlin this weekend",
    "do I need an umbrella this afternoon",
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = start_fake_server()
    yield fake
    fake.stop()


def home() -> Path:
    return Path(os.environ["ENIGMA_HOME"])


def enigma(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed ``enigma`` with this test's ENIGMA_HOME."""
    full = {k: v for k, v in os.environ.items() if k != "ENIGMA_DEBUG"}
    full.update(env or {})
    return subprocess.run([ENIGMA, *args], capture_output=True, text=True, env=full, timeout=120)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single ``enigma: error: ...`` line of a failed run (warnings aside)."""
    lines = [line for line in done.stderr.splitlines() if line.startswith("enigma: error:")]
    assert done.returncode == 1 and len(lines) == 1, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    return lines[0][len("enigma: error: ") :]


def write_config(config: dict[str, Any]) -> Path:
    path = home() / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_add_task_writes_config_and_plugins_lists_it_from_config(server: FakeServer) -> None:
    examples = home() / "examples.txt"
    examples.write_text("\n".join(WEATHER_EXAMPLES[1:]) + "\n# a comment\n\n")
    done = enigma(
        "config", "add-task", "weather", "--backend", server.url, "--model", "echo",
        "--example", WEATHER_EXAMPLES[0], "--examples-file", str(examples),
        "--keyword", "forecast", "--description", "Weather questions.",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added task 'weather' on backend 'echo' (new backend)" in done.stdout
    assert "`enigma train router`" in done.stdout and "about 20 varied" in done.stdout
    path = home() / "config.json"
    config = json.loads(path.read_text())
    assert config["backends"] == {"echo": {"base_url": server.url, "model": "echo"}}
    assert config["tasks"]["weather"]["examples"] == WEATHER_EXAMPLES
    before = path.read_bytes()

    again = enigma("config", "add-task", "weather", "--backend", "echo")
    assert "already in config (use --replace" in one_error_line(again)
    bad = enigma("config", "add-task", "triage", "--backend", "echo", "--escalate-below", "0.5")
    assert "field 'tasks.triage.escalate_below' needs a 'fallback'" in one_error_line(bad)
    nobackend = enigma("config", "add-task", "triage", "--backend", "nope")
    assert "--backend 'nope': no such backend in config (echo)" in one_error_line(nobackend)
    assert path.read_bytes() == before  # refused changes leave the file as it was

    second = enigma(
        "config", "add-task", "triage", "--backend", server.url, "--model", "echo",
        "--fallback", "weather", "--escalate-below", "0.5", "--json",
    )  # fmt: skip
    assert json.loads(second.stdout)["backend"] == "echo"  # same server + model: reused
    assert json.loads(second.stdout)["created_backend"] is False

    listing = enigma("plugins")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("openai "))
    assert "enigma-openai" in lines[row] and "tasks=-" in lines[row]
    assert lines[row + 1].split() == ["tasks=echo,weather,triage", "(from", "config)"]
    assert "run `enigma train router`" in listing.stdout  # staleness: the router must learn
    data = json.loads(enigma("plugins", "--json").stdout)
    record = next(p for p in data["plugins"] if p["name"] == "openai")
    assert record["origins"] == {"echo": "config", "weather": "config", "triage": "config"}
    assert "weather" in data["router"]["unknown_intents"]
    info = json.loads(enigma("plugins", "info", "openai", "--json").stdout)
    weather = next(t for t in info["task_specs"] if t["name"] == "weather")
    assert weather["origin"] == "config" and weather["examples"] == WEATHER_EXAMPLES


def _serving(server: FakeServer, port: int) -> dict[str, Any]:
    """Backends for every misbehaviour, each with a declared task ``t_<backend>``."""
    fast = {"timeout_s": 1, "max_retries": 1, "backoff_s": 0.01}
    models = ["echo", "fail500", "hang", "hang_mid", "cut", "cut_clean", "badjson", "auth"]
    backends = {m: {"base_url": server.url, "model": m, **fast} for m in models}
    backends["auth"]["api_key_env"] = "FAKE_UPSTREAM_KEY"
    backends["down"] = {"base_url": f"http://127.0.0.1:{port}/v1", "model": "m", **fast}
    tasks = {f"t_{name}": {"backend": name} for name in backends}
    tasks["weather"] = {"backend": "echo", "keywords": ["forecast"]}
    return {"backends": backends, "tasks": tasks, "chat": {"backend": "echo"}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_routing_streams_and_answers_json(server: FakeServer) -> None:
    write_config(_serving(server, _free_port()))
    done = enigma("route", "is there a forecast for Rome?")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "echo: is there a forecast for Rome?\n"
    assert "-> weather]" in done.stderr and "via keywords" in done.stderr
    assert server.requests_for("echo")[-1].body["stream"] is True
    out = json.loads(enigma("route", "--json", "forecast for Rome").stdout)
    assert out["task"] == "weather" and out["output"] == "echo: forecast for Rome"
    assert out["data"]["backend"] == "echo" and out["data"]["streamed"] is False
    chat = enigma("route", "hello there!")  # chat.backend: the built-in chat forwards
    assert chat.stdout == "echo: hello there!\n" and "-> chat]" in chat.stderr


FAILURES = [
    ("down", "cannot connect (connection refused) after 2 attempts", ""),
    ("fail500", "HTTP 500 Internal Server Error after 2 attempts: the model crashed", ""),
    ("hang", "no answer within 1 s (timeout_s)", ""),
    ("auth", "HTTP 401 Unauthorized: invalid key *** (the server refused the key in", ""),
    ("badjson", "sent invalid JSON in stream event 1 before any answer", ""),
    ("cut", "broke the connection (the server closed the connection) after", "echo: "),
    ("cut_clean", "ended the stream before the end of the answer after", "echo: "),
    ("hang_mid", "stopped sending for 1 s (timeout_s) after", "echo: "),
]


@pytest.mark.parametrize(("backend", "expected", "partial"), FAILURES)
def test_a_failing_backend_is_one_line_and_exit_1(
    server: FakeServer, backend: str, expected: str, partial: str
) -> None:
    port = _free_port()
    write_config(_serving(server, port))
    url = server.url if backend != "down" else f"http://127.0.0.1:{port}/v1"
    env = {"FAKE_UPSTREAM_KEY": "sk-wrong-0123456789"}
    done = enigma("route", f"[E:t_{backend}] hello", env=env)
    message = one_error_line(done)
    assert message.startswith(f"backend {backend!r} ({url}): {expected}"), message
    assert "sk-wrong-0123456789" not in done.stdout + done.stderr
    if partial:  # what streamed stays, marked as cut off
        assert (
            done.stdout == f"{partial}\n[cut off: {backend} stopped before the end of its answer]\n"
        )
    else:
        assert done.stdout == ""
    as_json = enigma("route", "--json", f"[E:t_{backend}] hello", env=env)
    assert one_error_line(as_json).startswith(f"backend {backend!r} ({url}): ")
    assert as_json.stdout == ""


def test_other_tasks_still_answer_next_to_failing_backends(server: FakeServer) -> None:
    write_config(_serving(server, _free_port()))
    code = enigma("route", "write a function that reverses a string")
    assert code.returncode == 0 and "def " in code.stdout and "-> code]" in code.stderr
    good = enigma("route", "[E:t_echo] still answering")
    assert good.returncode == 0 and good.stdout == "echo: [E:t_echo] still answering\n"
    listing = enigma("plugins")
    assert listing.returncode == 0 and "error" not in listing.stdout


SECRET = "sk-live-NEVER-SHOWN-a1b2c3d4e5"


def test_keys_never_reach_config_output_errors_or_logs(server: FakeServer) -> None:
    config = _serving(server, _free_port())
    path = write_config(config)
    env = {"FAKE_UPSTREAM_KEY": RIGHT_KEY}
    done = enigma("route", "[E:t_auth] hello", env=env)
    assert done.returncode == 0 and done.stdout == "echo: [E:t_auth] hello\n", done.stderr
    assert server.requests_for("auth")[-1].headers["Authorization"] == f"Bearer {RIGHT_KEY}"
    shown = enigma("config", "show", "--json", env=env)
    assert shown.returncode == 0
    assert json.loads(shown.stdout)["config"]["backends"]["auth"]["api_key_env"] == (
        "FAKE_UPSTREAM_KEY"
    )
    logs = enigma("logs", "--json", env=env)
    assert logs.returncode == 0 and "t_auth" in logs.stdout
    for text in (path.read_text(), shown.stdout, logs.stdout, done.stderr):
        assert RIGHT_KEY not in text
    for file in home().rglob("*"):
        if file.is_file():
            assert RIGHT_KEY.encode() not in file.read_bytes(), file

    config["backends"]["auth"]["api_key"] = SECRET  # someone pastes a key into the file
    write_config(config)
    listing = enigma("plugins")
    assert "field 'backends.auth.api_key' looks like a secret" in listing.stdout + listing.stderr
    shown = enigma("config", "show")
    assert shown.returncode == 0 and '"api_key": "<redacted>"' in shown.stdout
    for run in (listing, shown, enigma("route", "hello"), enigma("config", "show", "--json")):
        assert SECRET not in run.stdout + run.stderr


def test_a_broken_config_file_is_still_one_error_line() -> None:
    path = home() / "config.json"
    path.write_text('{"backends": {"x": ')
    done = enigma("plugins")
    assert one_error_line(done).startswith(f"{path}: line 1 column 20: invalid JSON")
    assert done.stderr.count("\n") == 1, done.stderr  # no second line from this plugin
