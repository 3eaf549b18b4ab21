"""A small OpenAI-compatible server on 127.0.0.1 for tests and demos, misbehaving on purpose.

The request's ``model`` picks the behaviour: ``echo`` answers ``echo: <last user message>``
(streamed word by word when asked); ``fail500``, ``auth`` (401 unless the key is right),
``ratelimit`` (429), ``flaky`` (503 twice, then an answer), ``hang``, ``hang_mid`` (one piece,
then silence), ``cut`` (the connection drops mid-answer), ``cut_clean`` (the answer just ends),
``badjson``, ``empty`` and ``nostream`` (JSON even when a stream is asked for). Every request is
recorded. Standard library only; one thread per connection; stops (and wakes every hanging
handler) on :meth:`FakeServer.stop`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RIGHT_KEY = "sk-test-right-0123456789"
HANG_LIMIT_S = 30.0
"""A hanging handler gives up after this long even if nobody stops the server."""


@dataclass
class Seen:
    """One request the server received: path, headers and JSON body."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeServer:
    """A running fake server: ``url`` is its base URL (ending in /v1)."""

    httpd: ThreadingHTTPServer
    thread: threading.Thread
    seen: list[Seen] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/v1``."""
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def requests_for(self, model: str) -> list[Seen]:
        """The recorded requests that asked for ``model``."""
        return [s for s in self.seen if s.body.get("model") == model]

    def stop(self) -> None:
        """Wake hanging handlers, stop serving, close the socket."""
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


class _Server(ThreadingHTTPServer):
    """A threading HTTP server with a listen backlog for many clients at once (the default, 5,
    resets connections when 32 threads connect together on a loaded machine)."""

    request_queue_size = 256


def start_fake_server() -> FakeServer:
    """Start the server on a free port of 127.0.0.1 in a daemon thread."""
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, name="fake-openai", daemon=True)
    server = FakeServer(httpd=httpd, thread=thread)
    httpd.fake = server  # type: ignore[attr-defined]
    thread.start()
    return server


def _chunk(content: str | None = None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    body = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``seen`` instead of a log."""

    @property
    def fake(self) -> FakeServer:
        return self.server.fake  # type: ignore[attr-defined]

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            body = {}
        fake = self.fake
        with fake.lock:
            fake.seen.append(Seen(self.path, dict(self.headers.items()), body))
            model = str(body.get("model", ""))
            fake.counts[model] = fake.counts.get(model, 0) + 1
            count = fake.counts[model]
        if not self.path.endswith("/v1/chat/completions"):
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        stream = bool(body.get("stream"))
        text = self._answer_text(body)
        if model == "fail500":
            return self._json(500, {"error": {"message": "the model crashed"}})
        if model == "ratelimit":
            return self._json(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if model == "flaky" and count <= 2:
            return self._json(503, {"error": {"message": "warming up"}})
        if model == "auth" and self.headers.get("authorization") != f"Bearer {RIGHT_KEY}":
            given = self.headers.get("authorization", "")
            return self._json(401, {"error": {"message": f"invalid key {given[7:]}"}})
        if model == "hang":
            fake.stopping.wait(HANG_LIMIT_S)
            return self._close()
        if model == "badjson":
            if stream:
                return self._events([b"data: {not json\n\n"], close=True)
            return self._raw(200, b'{"choices": [oops', "application/json")
        if model == "empty":
            text = ""
        if not stream and model in ("cut", "cut_clean", "hang_mid"):
            return self._half_body(model)
        if not stream or model == "nostream":
            return self._json(200, _completion(text, str(body.get("model"))))
        words = [w + " " for w in text.split(" ")] if text else []
        if words:
            words[-1] = words[-1][:-1]
        if model in ("cut", "cut_clean", "hang_mid"):
            first = [_chunk(words[0] if words else "partial")]
            if model == "hang_mid":
                return self._events(first, close=False, hang=True)
            return self._events(first, close=True, truncate=model == "cut")
        events = [_chunk(w) for w in words] + [_chunk(finish="stop"), b"data: [DONE]\n\n"]
        return self._events(events, close=True)

    def _answer_text(self, body: dict[str, Any]) -> str:
        messages = body.get("messages") or []
        last = next((m for m in reversed(messages) if m.get("role") == "user"), {})
        return f"echo: {last.get('content', '')}"

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(data).encode(), "application/json", headers)

    def _raw(
        self, status: int, payload: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _events(
        self, events: list[bytes], close: bool, truncate: bool = False, hang: bool = False
    ) -> None:
        """Send SSE events with chunked encoding; ``truncate`` drops the connection without the
        final zero-length chunk (a broken transfer), ``hang`` goes silent after the events."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            self.wfile.flush()
        if hang:
            self.fake.stopping.wait(HANG_LIMIT_S)
        if not truncate:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        if close or truncate:
            self._close()

    def _half_body(self, model: str) -> None:
        """Half of a JSON answer: the connection drops (``cut``), the body is just short
        (``cut_clean``), or the server goes silent (``hang_mid``)."""
        payload = json.dumps(_completion("a complete answer", model)).encode()
        half = payload[: len(payload) // 2]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(half if model == "cut_clean" else payload)))
        self.end_headers()
        self.wfile.write(half)
        self.wfile.flush()
        if model == "hang_mid":
            self.fake.stopping.wait(HANG_LIMIT_S)
        self._close()

    def _close(self) -> None:
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(2)
        except OSError:
            pass


def _completion(text: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": len(text.split()), "total_tokens": 9},
    }
