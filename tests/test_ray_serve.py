"""``enigma serve --ray`` against ``enigma serve``: same requests, identical answers; streams
arrive piece by piece; a replica killed mid-run is replaced and the request it held gets a clear
error; ``--status`` lists the deployments. One Ray start for the module."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import openai
import pytest
from enigma_openai.fake_server import start_fake_server

from tests.ray_support import (
    ENIGMA,
    HOLD,
    NO_RAY,
    Running,
    SlowUpstream,
    assert_none_left,
    descendants,
    sse_arrivals,
    start,
    start_slow_upstream,
)
from tests.venvs import clean_env

pytest.importorskip("ray.serve", reason=NO_RAY)
pytestmark = pytest.mark.ray

CODE = "write a function that reverses a string"
CHAT = "hello there, how are you?"
REMOTE = "please ask the echo server something"
VOLATILE = ("id", "created", "timings_ms", "first_token_ms", "seconds")  # clocks and ids
# plus the code verifier's per-draft sandbox outcomes: a draft's probe run can time out on a
# loaded box in one server and not the other (the answer, task and ``verified`` still compared)
VOLATILE += ("checks", "agreement")
GAP = 0.3  # seconds between two words the slow upstream streams
STREAMED = "one two three four five six seven"


@pytest.fixture(scope="module")
def slow() -> Iterator[SlowUpstream]:
    """The upstream of the config-declared ``slow`` task: streams one word every ``GAP`` s."""
    upstream = start_slow_upstream(GAP)
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, slow: SlowUpstream
) -> Iterator[tuple[Running, Running]]:
    """A single-process server and a Ray Serve one over the same (empty) ENIGMA_HOME."""
    tmp = tmp_path_factory.mktemp("ray")
    home = tmp / "home"
    home.mkdir()
    fake = start_fake_server()  # an OpenAI-compatible upstream for a task declared in config
    config = {
        "backends": {
            "fake": {"base_url": fake.url, "model": "echo"},
            "slowhost": {"base_url": slow.url, "model": "slow", "max_retries": 0},
        },
        "tasks": {
            "remote": {"backend": "fake", "keywords": ["ask the echo server"]},
            "slow": {"backend": "slowhost", "keywords": ["answer slowly"]},
        },
    }
    (home / "config.json").write_text(json.dumps(config))
    plain = start(home, tmp / "plain.log")
    try:
        ray_server = start(home, tmp / "ray.log", "--ray")
    except BaseException:
        plain.stop()
        fake.stop()
        raise
    yield plain, ray_server
    assert plain.stop() == 0, plain.log()
    code = ray_server.stop()
    fake.stop()
    assert_none_left("ENIGMA_HOME", str(home))  # no Ray process outlives the command
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


def test_stream_arrives_piece_by_piece_through_ray(servers: tuple[Running, Running]) -> None:
    """The slow task's words reach the client as the upstream sends them, not in one burst."""
    body = {
        "model": "enigma/slow",
        "messages": [{"role": "user", "content": STREAMED}],
        "stream": True,
    }
    runs = [sse_arrivals(server.url, body) for server in servers]
    texts = ["".join(piece for _, piece in arrivals) for arrivals in runs]
    assert texts[0] == texts[1] == f"echo: {STREAMED}"
    sent_over = GAP * len(STREAMED.split())  # the upstream's first to last word
    for name, arrivals in zip(("single", "ray"), runs, strict=True):
        print(f"{name}: {[round(t, 2) for t, _ in arrivals]}", file=sys.stderr)
        assert len(arrivals) == len(STREAMED.split()) + 1, arrivals  # one event per word
        spread = arrivals[-1][0] - arrivals[0][0]
        assert spread >= 0.5 * sent_over, (name, arrivals)  # a burst has spread ~0
        steps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
        assert sum(step >= GAP / 3 for step in steps) >= len(steps) // 2, (name, arrivals)


def test_client_leaving_a_stream_stops_the_task(
    servers: tuple[Running, Running], slow: SlowUpstream
) -> None:
    """A client that hangs up after two pieces: the task stops (the replica's upstream stream
    breaks off) within a few pieces, through Ray as in one process, instead of running on."""
    words = " ".join(f"w{i}" for i in range(15))  # 16 pieces, 4.5 s at the upstream
    body = {"model": "enigma/slow", "messages": [{"role": "user", "content": words}]}
    for server in servers:
        while not slow.streams.empty():
            slow.streams.get_nowait()
        with httpx.stream(
            "POST", server.url + "/v1/chat/completions", json={**body, "stream": True}, timeout=60
        ) as response:
            got = 0
            for line in response.iter_lines():
                got += line.startswith("data: {") and '"content"' in line
                if got >= 2:
                    break
        sent, total = slow.streams.get(timeout=30)
        print(f"{server.url}: upstream sent {sent} of {total} pieces", file=sys.stderr)
        assert sent < total - 3, (server.url, sent, total)


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


def _answer(route: dict[str, Any]) -> tuple[Any, ...]:
    """What a /v1/route answer says: task, plugin, status, output and whether it was verified."""
    data = route.get("data") or {}
    return (
        route["task"],
        route.get("plugin"),
        route.get("status"),
        route["output"],
        data.get("verified"),
    )


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
    print(f"answers around the kill: {[a.status_code for a in answers]}", file=sys.stderr)
    assert time.monotonic() - started < 100  # answered, not hung
    for answer in answers:
        if answer.status_code == 200:  # same answer (the verifier's per-draft outcomes may
            assert _answer(answer.json()) == _answer(expected)  # differ: probes time out on a
            continue  # loaded box, which has nothing to do with the replica's death)
        error = answer.json()["error"]
        assert "task 'code'" in error["message"], answer.text
        assert answer.headers["x-enigma-task"] == "code"
        if answer.status_code == 504:  # queued for a new replica longer than --timeout (60 s)
            assert error["code"] == "task_timeout", answer.text
            continue
        assert answer.status_code == 502, answer.text  # it met the dead replica
        assert error["code"] == "plugin_error" and "replica failed" in error["message"]
    deadline = time.monotonic() + 120
    while True:
        again = httpx.post(ray_server.url + "/v1/route", json={"input": CODE}, timeout=120)
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert again.status_code == 200, again.text
    assert _answer(again.json()) == _answer(expected)
    assert _replica(ray_server, "task-code") != victim


def test_workers_with_ray_is_refused_before_ray_starts() -> None:
    done = subprocess.run(
        [ENIGMA, "serve", "--ray", "--workers", "2"],
        capture_output=True, text=True, timeout=60, env=clean_env(),
    )  # fmt: skip
    assert done.returncode != 0
    assert "--workers does not apply with --ray" in done.stderr
    assert "Ray" not in done.stderr.replace("--ray", "")


def _stream_events(url: str, body: dict[str, Any], first: threading.Event) -> list[Any]:
    """A streamed completion's SSE data, parsed (``[DONE]`` kept); ``first`` set at a piece."""
    events: list[Any] = []
    with httpx.stream("POST", url, json={**body, "stream": True}, timeout=100) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append("[DONE]" if line == "data: [DONE]" else json.loads(line[6:]))
                if '"content"' in line:
                    first.set()
    return events


def test_request_on_a_killed_replica_gets_a_clear_error(
    servers: tuple[Running, Running], slow: SlowUpstream
) -> None:
    """Kill the replica while it waits on the upstream for one request and streams another:
    the first gets a 502 naming the task, the stream an error event naming it, both within
    seconds (no hang); Serve starts a new replica and the next request succeeds."""
    _, ray_server = servers
    victim = _replica(ray_server, "task-slow")
    url = ray_server.url + "/v1/chat/completions"
    held = {"model": "enigma/slow", "messages": [{"role": "user", "content": f"{HOLD} this"}]}
    words = " ".join(f"w{i}" for i in range(15))  # 16 pieces, 4.5 s at the upstream
    streamed = {"model": "enigma/slow", "messages": [{"role": "user", "content": words}]}
    slow.held.clear()
    streaming = threading.Event()
    with ThreadPoolExecutor(2) as pool:
        pending = pool.submit(httpx.post, url, json=held, timeout=100)
        stream = pool.submit(_stream_events, url, streamed, streaming)
        assert slow.held.wait(60), "the request never reached the upstream"
        assert streaming.wait(60), "the stream never started"
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        answer = pending.result(timeout=100)
        events = stream.result(timeout=100)
    waited = time.monotonic() - killed
    print(f"failed request answered {waited:.2f} s after the kill: {answer.text}", file=sys.stderr)
    print(f"stream ended with {events[-2:]}", file=sys.stderr)
    assert waited < 30, waited
    assert answer.status_code in (502, 503), answer.text
    error = answer.json()["error"]
    assert error["code"] == "plugin_error" and "task 'slow'" in error["message"], error
    assert "Ray Serve replica failed" in error["message"], error
    assert answer.headers["x-enigma-task"] == "slow"
    assert events[-1] == "[DONE]", events
    error = events[-2]["error"]  # the stream's status line was sent: an error event ends it
    assert error["code"] == "plugin_error" and "task 'slow'" in error["message"], events
    pieces = "".join(
        c["delta"].get("content") or "" for e in events[:-2] for c in e.get("choices", [])
    )
    assert pieces and f"echo: {words}".startswith(pieces) and pieces != f"echo: {words}"
    later = {"model": "enigma/slow", "messages": [{"role": "user", "content": "later"}]}
    deadline = time.monotonic() + 120
    while True:
        again = httpx.post(url, json=later, timeout=100)
        if again.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert again.status_code == 200, again.text
    assert again.json()["choices"][0]["message"]["content"] == "echo: later"
    assert _replica(ray_server, "task-slow") != victim
