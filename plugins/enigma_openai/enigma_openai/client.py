"""One chat completion against an OpenAI-compatible server: retries, streaming, clear failures.

:class:`BackendClient` is the "model" of a backend task: the engine loads it once (an httpx
connection pool), shares it between threads and closes it on unload. Settings are passed per
call, so a config edit takes effect without reconnecting. httpx is imported only here.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource, SSEError

from enigma_openai.errors import BackendError, scrub
from enigma_openai.settings import Backend

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_ANSWER_BYTES = 8 * 1024 * 1024
"""A server that sends more than this for one answer is cut off (no upstream fills our memory)."""
MAX_BACKOFF_S = 8.0
CUT_OFF_MARK = "[cut off: {backend} stopped before the end of its answer]"


@dataclass
class Completion:
    """What the server answered: the text and the facts worth reporting about it."""

    text: str
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    streamed: bool = False


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try (after ``wait`` seconds)."""

    def __init__(self, error: BackendError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class BackendClient:
    """An HTTP connection pool for one backend; thread-safe; ``close()`` frees it.

    Proxy variables and ``.netrc`` are ignored (``trust_env=False``): nothing but the configured
    key is ever sent, and a local server is reached directly.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.http = httpx.Client(follow_redirects=False, trust_env=False)

    def close(self) -> None:
        """Close every pooled connection."""
        self.http.close()

    def complete(
        self,
        backend: Backend,
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        emit: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Completion:
        """POST ``messages`` to ``backend``; stream pieces through ``emit`` when given.

        Connect errors, 429 and 5xx are retried ``max_retries`` times with exponential backoff
        (``Retry-After`` honoured, capped), but never once any text was emitted. Every failure
        is a :class:`BackendError` naming the backend.
        """
        key = _key(backend)
        headers = {"Accept": "text/event-stream" if emit else "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = {"model": backend.model, "messages": messages, "stream": emit is not None, **params}
        timeout = httpx.Timeout(backend.timeout_s, connect=min(backend.timeout_s, 10.0))
        call = _Call(backend, key, emit)
        for attempt in range(backend.max_retries + 1):
            call.attempts = attempt + 1
            try:
                with self.http.stream(
                    "POST", backend.endpoint, json=body, headers=headers, timeout=timeout
                ) as response:
                    return call.answer(response, attempt < backend.max_retries)
            except _Retry as retry:
                if attempt >= backend.max_retries:
                    raise retry.error from None
                sleep(_backoff(backend, attempt, retry.wait))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt >= backend.max_retries:
                    raise call.connect_error(exc) from None
                sleep(_backoff(backend, attempt, None))
            except httpx.TimeoutException:
                raise call.timeout_error() from None
            except httpx.HTTPError as exc:
                if call.pieces or attempt >= backend.max_retries:
                    raise call.transport_error(exc) from None
                sleep(_backoff(backend, attempt, None))
        raise AssertionError("unreachable")  # pragma: no cover


def _key(backend: Backend) -> str | None:
    """The API key from the environment variable the config names (None: no key)."""
    if backend.api_key_env is None:
        return None
    key = os.environ.get(backend.api_key_env, "")
    if not key.strip():
        raise BackendError(
            f"backend {backend.name!r}: environment variable {backend.api_key_env} "
            "(api_key_env) is not set; export the key there",
            code="backend_key_missing",
        )
    return key.strip()


def _backoff(backend: Backend, attempt: int, retry_after: float | None) -> float:
    """Seconds to wait before the next try: the server's ``Retry-After`` or exponential."""
    if retry_after is not None:
        return min(retry_after, MAX_BACKOFF_S)
    base = backend.backoff_s * (2**attempt)
    return min(base * random.uniform(0.75, 1.0), MAX_BACKOFF_S)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _Call:
    """One completion's state across attempts: what was streamed, how it ended."""

    def __init__(self, backend: Backend, key: str | None, emit: Callable[[str], None] | None):
        self.backend = backend
        self.key = key
        self.emit = emit
        self.pieces: list[str] = []
        self.size = 0
        self.attempts = 1

    def fail(self, what: str, status: int = 502, code: str = "backend_error") -> BackendError:
        b = self.backend
        query = urlsplit(b.base_url).query
        return BackendError(
            scrub(f"backend {b.name!r} ({b.shown_url}): {what}", self.key, query), status, code
        )

    # -- answers -------------------------------------------------------------------------------
    def answer(self, response: httpx.Response, may_retry: bool) -> Completion:
        if response.status_code >= 400:
            raise self.status_error(response, may_retry)
        kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        if self.emit is not None and kind == "text/event-stream":
            return self.read_stream(response)
        raw = self.read_all(response)
        completion = self.parse_json(raw, response.status_code)
        if self.emit is not None and completion.text:
            self.emit(completion.text)  # a server that ignored stream=true: one piece
        return completion

    def status_error(self, response: httpx.Response, may_retry: bool) -> Exception:
        status = response.status_code
        detail = _error_detail(self.read_all(response, limit=64 * 1024))
        attempts = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        reason = response.reason_phrase or ""
        what = f"HTTP {status} {reason}".strip() + attempts + (f": {detail}" if detail else "")
        if status in (401, 403):
            if self.backend.api_key_env:
                hint = f"the server refused the key in ${self.backend.api_key_env}"
            else:
                hint = "the server wants a key: name its environment variable in api_key_env"
            return self.fail(f"{what} ({hint})", code="backend_auth")
        if status == 404:
            return self.fail(f"{what} (check 'model' and that base_url ends in /v1)")
        error = self.fail(what, code="backend_rate_limited" if status == 429 else "backend_error")
        if status in RETRY_STATUSES and may_retry:
            return _Retry(error, _retry_after(response))
        return error

    def read_all(self, response: httpx.Response, limit: int = MAX_ANSWER_BYTES) -> bytes:
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                if limit < MAX_ANSWER_BYTES:
                    break  # an error body: its start is enough
                raise self.fail(f"answer larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB")
            chunks.append(chunk)
        return b"".join(chunks)

    def parse_json(self, raw: bytes, status: int) -> Completion:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            shown = f"{len(raw)} bytes" if raw else "an empty body"
            raise self.fail(f"HTTP {status} with invalid JSON ({shown})") from None
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise self.fail(_error_detail(raw) or "answer has no choices[0].message") from None
        if not isinstance(content, str):
            raise self.fail("choices[0].message.content is not text")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Completion(
            text=content,
            finish_reason=choice.get("finish_reason"),
            usage=usage or {},
            attempts=self.attempts,
        )

    def read_stream(self, response: httpx.Response) -> Completion:
        finish: str | None = None
        usage: dict[str, Any] = {}
        done = False
        number = 0
        try:
            for event in EventSource(response).iter_sse():
                number += 1
                if event.data.strip() == "[DONE]":
                    done = True
                    break
                if not event.data.strip():
                    continue
                try:
                    chunk = json.loads(event.data)
                except ValueError:
                    raise self.cut(f"sent invalid JSON in stream event {number}") from None
                if not isinstance(chunk, dict):
                    raise self.cut(f"sent a non-object in stream event {number}")
                if event.event == "error" or "error" in chunk:
                    detail = _error_detail(json.dumps(chunk).encode()) or "an error event"
                    raise self.cut(f"stream error: {detail}")
                if isinstance(chunk.get("usage"), dict):
                    usage = chunk["usage"]
                for choice in chunk.get("choices") or []:
                    if not isinstance(choice, dict):
                        continue
                    delta = choice.get("delta") or {}
                    piece = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(piece, str) and piece:
                        self.piece(piece)
                    if choice.get("finish_reason"):
                        finish = str(choice["finish_reason"])
        except httpx.TimeoutException:
            raise self.timeout_error() from None
        except httpx.HTTPError as exc:
            raise self.cut(f"broke the connection ({_transport_reason(exc)})") from None
        except SSEError as exc:
            raise self.cut(f"sent a malformed stream ({exc})") from None
        if not done and finish is None:
            raise self.cut("ended the stream before the end of the answer")
        return Completion(
            text="".join(self.pieces),
            finish_reason=finish,
            usage=usage,
            attempts=self.attempts,
            streamed=True,
        )

    def piece(self, text: str) -> None:
        self.size += len(text.encode("utf-8", "replace"))
        if self.size > MAX_ANSWER_BYTES:
            raise self.cut(f"answer larger than {MAX_ANSWER_BYTES // (1024 * 1024)} MiB")
        self.pieces.append(text)
        if self.emit is not None:
            self.emit(text)

    def cut(self, what: str) -> BackendError:
        """A broken stream: mark the partial output as cut off, then the error."""
        got = sum(len(p) for p in self.pieces)
        if self.pieces and self.emit is not None:
            mark = CUT_OFF_MARK.format(backend=self.backend.name)
            self.emit(("" if self.pieces[-1].endswith("\n") else "\n") + mark + "\n")
        after = f" after {got} characters" if self.pieces else " before any answer"
        return self.fail(what + after, code="backend_stream_cut")

    # -- transport failures --------------------------------------------------------------------
    def connect_error(self, exc: httpx.HTTPError) -> BackendError:
        attempts = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        if isinstance(exc, httpx.ConnectTimeout):
            within = f"within {min(self.backend.timeout_s, 10.0):g} s"
            return self.fail(f"could not connect {within}{attempts}", 504, "backend_timeout")
        reason = _transport_reason(exc)
        return self.fail(f"cannot connect ({reason}){attempts}", code="backend_unreachable")

    def timeout_error(self) -> BackendError:
        limit = f"{self.backend.timeout_s:g} s (timeout_s)"
        if self.pieces:
            return self.cut(f"stopped sending for {limit}")
        return self.fail(f"no answer within {limit}", 504, "backend_timeout")

    def transport_error(self, exc: httpx.HTTPError) -> BackendError:
        if self.pieces:
            return self.cut(f"broke the connection ({_transport_reason(exc)})")
        attempts = f" after {self.attempts} attempts" if self.attempts > 1 else ""
        return self.fail(f"{_transport_reason(exc)}{attempts}")


def _transport_reason(exc: BaseException) -> str:
    """A short reason for a transport failure ('connection refused', 'server disconnected')."""
    text = str(exc).strip()
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused"
    if "name or service" in lowered or "nodename" in lowered or "getaddrinfo" in lowered:
        return "unknown host"
    if "disconnected" in lowered or "peer closed" in lowered or "incomplete" in lowered:
        return "the server closed the connection"
    return text.splitlines()[0] if text else type(exc).__name__


def _error_detail(raw: bytes) -> str:
    """The server's own error message from an OpenAI-style body, or the body's first line."""
    if not raw:
        return ""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw[:300].decode("utf-8", "replace").strip().splitlines()[0] if raw.strip() else ""
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message") or error.get("code")
        if error:
            return str(error)
    return ""
