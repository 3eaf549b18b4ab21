"""Limits of a real ``enigma serve``: overload (429), timeouts (504), drain on SIGTERM, workers.

The serve probe plugin makes each case deterministic: ``probe sleep S`` holds a thread,
``probe stream N D`` streams N pieces D seconds apart.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.serve_support import chat_body, start_server
from tests.venvs import Venv


def test_overload_gets_429_and_health_stays_responsive(serve_venv: Venv, tmp_path: Path) -> None:
    server = start_server(serve_venv, tmp_path, "--threads", "1", "--queue", "1")
    health: list[int] = []
    stop = threading.Event()

    def poll_health() -> None:
        with httpx.Client(base_url=server.url, timeout=5) as client:
            while not stop.is_set():
                health.append(client.get("/healthz").status_code)
                time.sleep(0.05)

    def slow(_: int) -> httpx.Response:
        with server.client() as client:
            return client.post("/v1/chat/completions", json=chat_body("probe sleep 1.5"))

    watcher = threading.Thread(target=poll_health)
    watcher.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(slow, range(8)))
    finally:
        stop.set()
        watcher.join()
    codes = sorted(r.status_code for r in responses)
    assert codes.count(200) >= 1 and codes.count(429) >= 5, codes
    busy = next(r for r in responses if r.status_code == 429)
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"]["type"] == "rate_limit_error"
    assert len(health) >= 10 and set(health) == {200}, health
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert 'enigma_queue_rejections_total{lane="execute"}' in metrics
    assert server.stop() == 0


def test_task_timeout_is_504_naming_task_and_plugin(serve_venv: Venv, tmp_path: Path) -> None:
    server = start_server(serve_venv, tmp_path, "--timeout", "1")
    with server.client() as client:
        start = time.monotonic()
        response = client.post("/v1/chat/completions", json=chat_body("probe sleep 4"))
        took = time.monotonic() - start
        metrics = client.get("/metrics").text
    assert response.status_code == 504
    error = response.json()["error"]
    assert error["code"] == "task_timeout"
    assert "task 'probe' (plugin 'probe')" in error["message"] and "1 s" in error["message"]
    assert took < 3.5, "the answer does not wait for the task"
    assert response.headers["x-enigma-task"] == "probe"
    assert 'enigma_plugin_errors_total{kind="timeout",plugin="probe"} 1.0' in metrics
    time.sleep(3)  # the probe's thread finishes; its slot is free again
    with (
        server.client() as client,
        client.stream(
            "POST", "/v1/chat/completions", json=chat_body("probe stream 10 0.3", stream=True)
        ) as stream,
    ):
        assert stream.status_code == 200
        events = [line for line in stream.iter_lines() if line]
    assert events[-1] == "data: [DONE]"
    assert '"code":"task_timeout"' in events[-2], events[-2]
    assert 1 <= sum("piece" in e for e in events) < 10
    assert server.stop() == 0


def test_sigterm_lets_a_stream_finish_and_refuses_new_requests(
    serve_venv: Venv, tmp_path: Path
) -> None:
    server = start_server(serve_venv, tmp_path)
    body = chat_body("probe stream 12 0.1", stream=True)
    events: list[str] = []
    with (
        server.client() as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        while len([e for e in events if "piece" in e]) < 3:
            line = next(lines)
            if line:
                events.append(line)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        server.proc.send_signal(signal.SIGTERM)  # e.g. a supervisor and a service manager
        time.sleep(0.2)
        late = httpx.post(server.url + "/v1/classify", json={"input": "hi"}, timeout=5)
        assert late.status_code == 503
        assert late.json()["error"]["code"] == "shutting_down"
        assert httpx.get(server.url + "/readyz", timeout=5).status_code == 503
        events += [line for line in lines if line]
    assert events[-1] == "data: [DONE]"
    assert sum(f"piece{i} " in "".join(events) for i in range(12)) == 12
    assert server.proc.wait(timeout=30) == 0
    assert "draining: 1 request(s) in flight" in server.log()


def test_workers_share_the_port_and_sum_metrics(serve_venv: Venv, tmp_path: Path) -> None:
    server = start_server(serve_venv, tmp_path, "--workers", "2")
    for _ in range(30):  # a new connection each time: the kernel spreads them over workers
        response = httpx.post(
            server.url + "/v1/classify",
            json={"input": "hello there!"},
            headers={"Authorization": "Bearer test-key-0123456789"},
            timeout=30,
        )
        assert response.status_code == 200
    totals = []
    for _ in range(4):
        with server.client() as client:
            text = client.get("/metrics").text
        line = next(
            x
            for x in text.splitlines()
            if x.startswith("enigma_requests_total{") and 'endpoint="/v1/classify"' in x
        )
        totals.append(float(line.rsplit(" ", 1)[1]))
    assert totals == [30.0] * 4, totals
    assert server.stop() == 0
    assert "stopped" in server.log()
