"""Helpers for the Ray Serve tests: real ``enigma serve`` (with and without ``--ray``) processes."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.serve_support import listening_url
from tests.venvs import clean_env

ENIGMA = str(Path(sys.executable).parent / "enigma")
NO_RAY = "Ray Serve not installed: `make test` installs enigma-core[ray] for these tests"


@dataclass
class Running:
    """A server process started in its own session (a signal reaches it alone)."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        """What the server wrote on stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM, then wait (SIGKILL after ``timeout``); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def start(home: Path, log_path: Path, *args: str, wait_s: float = 240) -> Running:
    """``enigma serve --port 0 ARGS`` with ENIGMA_HOME=home; returns once /readyz says 200."""
    env = clean_env({"ENIGMA_HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"})
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [ENIGMA, "serve", "--port", "0", "--no-access-log", *args],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    return Running(proc, listening_url(proc, log_path, wait_s), log_path)


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` and its command line (Linux /proc)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found[child] = commands.get(child, "")
                todo.append(child)
    return found


HOLD = "hold"
"""A user message containing this word is held by :class:`SlowUpstream` until it stops."""


@dataclass
class SlowUpstream:
    """An OpenAI-compatible upstream on loopback that answers slowly, on purpose.

    Streamed: ``echo: <message>`` one word every ``gap`` seconds. Not streamed: the whole
    answer at once, except a message containing :data:`HOLD`, which is held (``held`` is set
    when it arrives) until :meth:`stop`, so a test can kill the replica that waits on it.
    Writing a piece to a caller that hung up ends the stream early (see ``streams``).
    """

    httpd: ThreadingHTTPServer
    gap: float
    held: threading.Event
    stopping: threading.Event
    streams: queue.Queue[tuple[int, int]]
    """(pieces sent, pieces in the answer) of each stream, put when it ends or breaks off."""

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        """Release held requests, stop serving, close the socket."""
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def start_slow_upstream(gap: float) -> SlowUpstream:
    """Serve :class:`SlowUpstream` on a free port of 127.0.0.1 in a daemon thread."""
    held = threading.Event()
    stopping = threading.Event()
    streams: queue.Queue[tuple[int, int]] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            text = f"echo: {body['messages'][-1]['content']}"
            if not body.get("stream"):
                if HOLD in text:
                    held.set()
                    stopping.wait(120)
                answer = {
                    "id": "slow",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                }
                data = json.dumps(answer).encode()
                with contextlib.suppress(OSError):  # a held caller may be gone by now
                    self.send_response(200)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            words = text.split(" ")
            sent = 0
            self.close_connection = True
            try:
                for i, word in enumerate(words):
                    if i:
                        time.sleep(gap)
                    piece = word if i == len(words) - 1 else word + " "
                    self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
                    sent += 1
                self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
            except OSError:  # the caller hung up mid-stream
                pass
            finally:
                streams.put((sent, len(words)))

        def _event(self, chunk: dict[str, Any]) -> None:
            chunk = {"id": "slow", "object": "chat.completion.chunk", **chunk}
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            self.wfile.flush()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name="slow-upstream", daemon=True).start()
    return SlowUpstream(httpd, gap, held, stopping, streams)


def sse_arrivals(url: str, body: dict[str, Any], timeout: float = 120) -> list[tuple[float, str]]:
    """POST a streamed chat completion; (seconds since sending, content) of each content piece."""
    arrivals: list[tuple[float, str]] = []
    started = time.monotonic()
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=timeout) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            assert "error" not in chunk, chunk
            for choice in chunk.get("choices") or []:
                content = choice.get("delta", {}).get("content")
                if content:
                    arrivals.append((time.monotonic() - started, content))
    return arrivals


def tagged(var: str, value: str) -> dict[int, str]:
    """Live processes whose environment holds ``var=value`` and their command lines (Linux)."""
    needle = f"{var}={value}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
    return found


def assert_none_left(var: str, value: str, wait_s: float = 30) -> None:
    """Fail if processes tagged ``var=value`` outlive ``wait_s`` (and kill them, so none stay)."""
    deadline = time.monotonic() + wait_s
    while (left := tagged(var, value)) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running after the test: {left}"
