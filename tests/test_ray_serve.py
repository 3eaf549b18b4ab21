"""``enigma serve --ray`` against ``enigma serve``: same requests, identical answers; a replica
killed mid-run is replaced; ``--status`` lists the deployments. One Ray start for the module."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from enigma_openai.fake_server import start_fake_server

from tests.ray_support import ENIGMA, NO_RAY, Running, descendants, start
from tests.venvs import clean_env

pytest.importorskip("ray.serve", reason=NO_RAY)

CODE = "write a function that reverses a string"
CHAT = "hello there, how are you?"
REMOTE = "please ask the echo server something"
VOLATILE = ("id", "created", "timings_ms", "first_token_ms", "seconds")  # clocks and ids


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Running, Running]]:
    """A single-process server and a Ray Serve one over the same (empty) ENIGMA_HOME."""
    tmp = tmp_path_factory.mktemp("ray")
    home = tmp / "home"
    home.mkdir()
    fake = start_fake_server()  # an OpenAI-compatible upstream for a task declared in config
    config = {
        "backends": {"fake": {"base_url": fake.url, "model": "echo"}},
        "tasks": {"remote": {"backend": "fake", "keywords": ["ask the echo server"]}},
    }
    (home / "config.json").write_text(json.dumps(config))
    plain = start(home, tmp / "plain.log")
    try:
        ray_server = start(home, tmp / "ray.log", "--ray")
    except BaseException:
        plain.stop()
        fake.stop()
        raise
    below = descendants(ray_server.proc.pid)
    yield plain, ray_server
    assert plain.stop() == 0, plain.log()
    code = ray_server.stop()
    for pid in below:  # whatever Ray left behind (nothing, when shutdown worked)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    fake.stop()
    assert code == 0, ray_server.log()
    assert "stopped" in ray_server.log()


def _strip(value: Any) -> Any:
    """The answer without what differs between two runs of the same request (ids, clocks)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _sdk(server: Running) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=120)


@pytest.mark.parametrize("text", [CHAT, CODE, REMOTE])
def test_chat_answers_are_identical_with_sdk(servers: tuple[Running, Running], text: str) -> None:
    answers = []
    for server in servers:
        raw = _sdk(server).chat.completions.with_raw_response.create(
            model="enigma", messages=[{"role": "user", "content": text}]
        )
        headers = {k: v for k, v in raw.headers.items() if k.startswith("x-enigma-")}
        answers.append((headers, _strip(raw.parse().model_dump())))
    assert answers[0] == answers[1], answers
    assert answers[1][0]["x-enigma-task"] == {CODE: "code", CHAT: "chat", REMOTE: "remote"}[text]
    if text == REMOTE:  # the config-declared task ran in its deployment, against the upstream
        assert answers[1][1]["choices"][0]["message"]["content"] == f"echo: {REMOTE}"


def test_forced_task_and_stream_are_identical(servers: tuple[Running, Running]) -> None:
    texts = []
    for server in servers:
        stream = _sdk(server).chat.completions.create(
            model="enigma/code", messages=[{"role": "user", "content": CODE}], stream=True
        )
        texts.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))
    assert texts[0] == texts[1] and "def " in texts[1]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/classify", {"input": [CODE, CHAT, "what is in this picture?"]}),
        ("POST", "/v1/route", {"input": CODE}),
        ("GET", "/v1/models", None),
        ("GET", "/v1/plugins", None),
        ("POST", "/v1/chat/completions", {"model": "enigma/nope", "messages": []}),
    ],
)
def test_httpx_answers_are_identical(
    servers: tuple[Running, Running], method: str, path: str, body: Any
) -> None:
    answers = []
    for server in servers:
        response = httpx.request(method, server.url + path, json=body, timeout=120)
        answers.append((response.status_code, _strip(response.json())))
    assert answers[0] == answers[1], answers


def test_status_lists_deployments_and_replicas(servers: tuple[Running, Running]) -> None:
    done = subprocess.run(
        [ENIGMA, "serve", "--ray", "--status"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert done.returncode == 0, done.stderr
    for name in ("ingress", "task-chat", "task-code", "task-remote", "task-vision"):
        assert f"  {name}: HEALTHY (RUNNING 1)" in done.stdout, done.stdout


def test_status_without_ray_flag_is_refused() -> None:
    done = subprocess.run(
        [ENIGMA, "serve", "--status"], capture_output=True, text=True, timeout=60, env=clean_env()
    )
    assert done.returncode != 0
    assert "--address and --status need --ray" in done.stderr


def _replica(server: Running, deployment: str) -> int:
    found = [
        pid
        for pid, cmd in descendants(server.proc.pid).items()
        if cmd.startswith(f"ray::ServeReplica:enigma:{deployment}")
    ]
    assert len(found) == 1, found
    return found[0]


def test_killed_replica_is_replaced_and_failure_is_clear(servers: tuple[Running, Running]) -> None:
    plain, ray_server = servers
    expected = _strip(httpx.post(plain.url + "/v1/route", json={"input": CODE}, timeout=120).json())
    victim = _replica(ray_server, "task-code")
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:  # requests in flight while the replica's process dies
        pending = [
            pool.submit(httpx.post, ray_server.url + "/v1/route", json={"input": CODE}, timeout=120)
            for _ in range(8)
        ]
        time.sleep(0.2)
        os.kill(victim, signal.SIGKILL)
        answers = [p.result() for p in pending]
    assert time.monotonic() - started < 100  # answered, not hung
    for answer in answers:
        if answer.status_code == 200:
            assert _strip(answer.json()) == expected
            continue
        error = answer.json()["error"]  # a request that met the dead replica: one clear 502
        assert answer.status_code == 502, answer.text
        assert error["code"] == "plugin_error"
        assert "task 'code'" in error["message"] and "replica failed" in error["message"]
        assert answer.headers["x-enigma-task"] == "code"
    deadline = time.monotonic() + 120
    while True:
        again = httpx.post(ray_server.url + "/v1/route", json={"input": CODE}, timeout=120)
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert again.status_code == 200, again.text
    assert _strip(again.json()) == expected
    assert _replica(ray_server, "task-code") != victim
    print(f"statuses around the kill: {[a.status_code for a in answers]}", file=sys.stderr)


def test_workers_with_ray_is_refused_before_ray_starts() -> None:
    done = subprocess.run(
        [ENIGMA, "serve", "--ray", "--workers", "2"],
        capture_output=True, text=True, timeout=60, env=clean_env(),
    )  # fmt: skip
    assert done.returncode != 0
    assert "--workers does not apply with --ray" in done.stderr
    assert "Ray" not in done.stderr.replace("--ray", "")
