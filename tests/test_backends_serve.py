"""A real OpenAI-compatible upstream: `enigma serve` (with the code plugin) runs as a subprocess
and a task declared in config uses it as its backend; requests reach it through the CLI, the
Python API and a second `enigma serve` in front (chained), streamed and not."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("enigma_core.serve", reason="enigma serve is not in this checkout")
pytest.importorskip("starlette", reason="enigma serve's dependencies are not installed")
import httpx
from enigma_openai.fake_server import start_fake_server
from httpx_sse import connect_sse

from tests.serve_support import listening_url

ENIGMA = str(Path(sys.executable).with_name("enigma"))
UP_KEY = "up-key-0123456789"
FRONT_KEY = "front-key-0123456789"
REQUEST = "on the big server, write a function that reverses a string"
CODE_ANSWER = ("def ", "# already installed", "# from ", "# no verified function found")
"""What the code task answers: a verified function or its plain no (it may not find one)."""
"""Routed by keywords: the declared phrase (4 words) outweighs the code plugin's ('write a',
'function': 3)."""


@dataclass
class Served:
    """One `enigma serve` subprocess."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def client(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENIGMA_")}
    env.update(ENIGMA_HOME=str(home), **extra)
    return env


def serve(home: Path, key: str, **env: str) -> Served:
    """``enigma serve --port 0`` with its own ENIGMA_HOME; returns once /readyz says 200."""
    log = home / f"serve-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [ENIGMA, "serve", "--port", "0", "--timeout", "60"],
            stdout=subprocess.DEVNULL,
            stderr=out,
            env=child_env(home, ENIGMA_API_KEY=key, **env),
        )
    return Served(proc, listening_url(proc, log), log)


def _dead_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """An upstream server, the config that declares tasks on it, and a server in front."""
    up_home = tmp_path_factory.mktemp("upstream")
    upstream = serve(up_home, UP_KEY)
    fake = start_fake_server()
    home = tmp_path_factory.mktemp("front")
    common = {"api_key_env": "UPSTREAM_KEY", "timeout_s": 60, "max_retries": 1}
    config = {
        "backends": {
            "upstream": {"base_url": upstream.url + "/v1", "model": "enigma", **common},
            "upcode": {"base_url": upstream.url + "/v1", "model": "enigma/code", **common},
            "gone": {"base_url": f"http://127.0.0.1:{_dead_port()}/v1", "model": "m",
                     "max_retries": 0},
            "mute": {"base_url": fake.url, "model": "empty"},
        },
        "tasks": {
            "remote_code": {"backend": "upcode", "keywords": ["on the big server"]},
            "offline": {"backend": "gone", "keywords": ["offline"]},
            "shy": {"backend": "mute", "keywords": ["shyly"], "fallback": "upstream"},
        },
        "chat": {"backend": "upstream"},
    }  # fmt: skip
    (home / "config.json").write_text(json.dumps(config))
    front = serve(home, FRONT_KEY, UPSTREAM_KEY=UP_KEY)
    reference = (  # what the code plugin writes for REQUEST, asked directly
        "from enigma_core import EnigmaEngine\n"
        f"print(EnigmaEngine(log=False).execute('code', {REQUEST!r}).output, end='')\n"
    )
    local = subprocess.run(
        [sys.executable, "-c", reference],
        capture_output=True, text=True, env=child_env(up_home), timeout=120,
    )  # fmt: skip
    yield {
        "upstream": upstream,
        "front": front,
        "home": home,
        "code": local.stdout,
    }
    front.stop()
    upstream.stop()
    fake.stop()


def test_the_cli_routes_to_a_task_on_the_upstream_server(chain: dict[str, Any]) -> None:
    env = child_env(chain["home"], UPSTREAM_KEY=UP_KEY)
    done = subprocess.run(
        [ENIGMA, "route", REQUEST], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "via keywords -> remote_code]" in done.stderr
    assert done.stdout.startswith(CODE_ANSWER)  # verified code, or the code task's plain no
    plain = subprocess.run(
        [ENIGMA, "route", "--json", REQUEST], capture_output=True, text=True, env=env, timeout=120
    )
    out = json.loads(plain.stdout)
    assert out["task"] == "remote_code" and out["data"]["backend"] == "upcode"
    assert out["data"]["model"] == "enigma/code" and out["data"]["finish_reason"] == "stop"
    assert out["output"].strip() == done.stdout.strip()
    assert chain["code"].startswith(CODE_ANSWER) and out["output"] == chain["code"]
    served = chain["upstream"].log.read_text()
    assert '"POST /v1/chat/completions" 200' in served and "task=code" in served


def test_the_python_api_streams_from_the_upstream_server(
    chain: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from enigma_core import EnigmaEngine

    monkeypatch.setenv("ENIGMA_HOME", str(chain["home"]))
    monkeypatch.setenv("UPSTREAM_KEY", UP_KEY)
    engine = EnigmaEngine(use_routing=True)
    pieces: list[str] = []
    result = engine.route(REQUEST, emit=pieces.append)
    assert result.task == "remote_code" and len(pieces) > 1  # streamed, piece by piece
    assert "".join(pieces) == result.output and result.data["streamed"] is True
    conversation = [
        {"role": "user", "content": "hello there"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "thanks a lot!"},
    ]
    chat = engine.route("thanks a lot!", messages=conversation)
    assert chat.task == "chat" and chat.data["backend"] == "upstream"
    assert chat.output.startswith("You're welcome!")  # the upstream's built-in chat answered


def test_a_second_server_in_front_forwards_streamed_and_not(chain: dict[str, Any]) -> None:
    with chain["front"].client(FRONT_KEY) as client:
        body = {"model": "enigma", "messages": [{"role": "user", "content": REQUEST}]}
        answer = client.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-enigma-task"] == "remote_code"
        content = answer.json()["choices"][0]["message"]["content"]
        assert content == chain["code"]
        pieces: list[str] = []
        with connect_sse(
            client, "POST", "/v1/chat/completions", json={**body, "stream": True}
        ) as events:
            assert events.response.headers["x-enigma-task"] == "remote_code"
            for event in events.iter_sse():
                if event.data == "[DONE]":
                    break
                for choice in json.loads(event.data).get("choices", []):
                    pieces.append(choice.get("delta", {}).get("content") or "")
        assert "".join(pieces) == content and sum(1 for p in pieces if p) > 1


def test_a_failing_backend_behind_the_server_is_one_error(chain: dict[str, Any]) -> None:
    with chain["front"].client(FRONT_KEY) as client:
        body = {"model": "enigma", "messages": [{"role": "user", "content": "offline please"}]}
        failed = client.post("/v1/chat/completions", json=body)
        assert failed.status_code >= 400 and failed.headers["x-enigma-task"] == "offline"
        message = failed.json()["error"]["message"]
        assert message.startswith("backend 'gone' (http://127.0.0.1:")
        assert "cannot connect (connection refused)" in message and UP_KEY not in failed.text
        code = client.post(  # the server and its other tasks are fine
            "/v1/chat/completions",
            json={"model": "enigma", "messages": [{"role": "user", "content": REQUEST}]},
        )
        assert code.status_code == 200


def test_an_upstream_failure_is_a_gateway_error(chain: dict[str, Any]) -> None:
    with chain["front"].client(FRONT_KEY) as client:
        body = {"model": "enigma", "messages": [{"role": "user", "content": "offline please"}]}
        failed = client.post("/v1/chat/completions", json=body)
        assert failed.status_code == 502, failed.text
        assert failed.json()["error"]["code"] == "backend_unreachable"


def test_a_cascade_behind_the_server_says_so(chain: dict[str, Any]) -> None:
    with chain["front"].client(FRONT_KEY) as client:
        body = {"model": "enigma", "messages": [{"role": "user", "content": "shyly: thanks!"}]}
        answer = client.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-enigma-via"] == "cascade"  # 'shy' answered nothing
        assert answer.json()["choices"][0]["message"]["content"].startswith("You're welcome")
        cascade = answer.json()["enigma"]["classification"]["cascade"]
        assert cascade == {"from": "shy", "to": "upstream", "reason": "shy could not answer"}


def test_a_backend_can_be_named_as_the_model(chain: dict[str, Any]) -> None:
    with chain["front"].client(FRONT_KEY) as client:
        body = {"model": "enigma/upcode", "messages": [{"role": "user", "content": REQUEST}]}
        answer = client.post("/v1/chat/completions", json=body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"] == chain["code"]
