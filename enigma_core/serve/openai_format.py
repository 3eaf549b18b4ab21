"""Build chat completion objects and SSE chunks exactly in the OpenAI API's shape."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

DONE = b"data: [DONE]\n\n"


def completion_id() -> str:
    """A fresh ``chatcmpl-`` id."""
    return "chatcmpl-" + secrets.token_hex(12)


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """The ``usage`` object."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    cid: str, model: str, content: str, tokens: dict[str, int], enigma: dict[str, Any]
) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` with one choice, plus the ``enigma`` decision."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": tokens,
        "system_fingerprint": None,
        "enigma": enigma,
    }


class ChunkWriter:
    """SSE ``chat.completion.chunk`` events of one streamed completion, same id throughout."""

    def __init__(self, cid: str, model: str, include_usage: bool) -> None:
        self.cid = cid
        self.model = model
        self.created = int(time.time())
        self.include_usage = include_usage

    def _event(self, choices: list[dict[str, Any]], **extra: Any) -> bytes:
        chunk: dict[str, Any] = {
            "id": self.cid,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": None,
            "choices": choices,
        }
        if self.include_usage:
            chunk["usage"] = None
        chunk.update(extra)
        return (
            b"data: "
            + json.dumps(chunk, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            + b"\n\n"
        )

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        """One chunk carrying ``delta`` for choice 0."""
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._event([choice])

    def role(self) -> bytes:
        """The first chunk: the assistant role and empty content."""
        return self.delta({"role": "assistant", "content": ""})

    def content(self, text: str) -> bytes:
        """A piece of the answer."""
        return self.delta({"content": text})

    def finish(self, enigma: dict[str, Any]) -> bytes:
        """The last choice chunk: empty delta, ``finish_reason: stop``, and the decision."""
        choice = {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
        return self._event([choice], enigma=enigma)

    def usage(self, tokens: dict[str, int]) -> bytes:
        """The usage-only chunk sent when ``stream_options.include_usage`` is set."""
        return self._event([], usage=tokens)


def error_event(message: str, code: str) -> bytes:
    """An error inside an already started stream (the status line is sent by then)."""
    body = {"error": {"message": message, "type": "api_error", "param": None, "code": code}}
    return (
        b"data: "
        + json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        + b"\n\n"
    )
