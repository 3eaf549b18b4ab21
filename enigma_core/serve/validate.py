"""Check request bodies field by field; every refusal is a 400 naming the parameter.

Pure functions over parsed JSON (no I/O, no engine): property-tested with hypothesis.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from enigma_core.serve.errors import invalid, quoted
from enigma_core.serve.jsonbody import json_type

MAX_MESSAGES = 1000
MAX_IMAGES = 8
MAX_BATCH = 256
MAX_TOKENS = 4096
MAX_TEXT = 20_000
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
IMAGE_PROMPT = "describe this image"
"""What the router classifies when the last user message holds only images."""

OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "show_sources": (bool,),
    "faces": (bool,),
    "max_tokens": (int,),
    "seed": (int,),
    "temperature": (int, float),
    "top_p": (int, float),
    "oos_threshold": (int, float),
    "oos_margin": (int, float),
    "oos_budget": (int, float),
    "explain": (bool,),
}
"""Per-call options a client may set; anything else could change cost limits, so it is refused."""
OPTION_RANGES: dict[str, tuple[float, float]] = {
    "max_tokens": (1, MAX_TOKENS),
    "seed": (0, 2**31 - 1),
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "oos_threshold": (0.0, 1.0),
    "oos_margin": (0.0, 1.0),
    "oos_budget": (0.0, 1.0),
}


@dataclass
class ImageRef:
    """One ``image_url`` part: where it was in the request and its ``data:`` URL."""

    param: str
    url: str


@dataclass
class ChatRequest:
    """A validated chat completion request."""

    model: str
    text: str
    messages: list[dict[str, Any]]
    images: list[ImageRef] = field(default_factory=list)
    stream: bool = False
    include_usage: bool = False
    options: dict[str, Any] = field(default_factory=dict)


def _kind(value: Any, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, kinds)


def check_option(name: str, value: Any, param: str) -> Any:
    """One option value of the allowed type and range (``None`` passes through)."""
    if value is None:
        return None
    kinds = OPTION_TYPES[name]
    if not _kind(value, kinds):
        wanted = " or ".join(sorted({"boolean" if k is bool else "number" for k in kinds}))
        if kinds == (int,):
            wanted = "integer"
        raise invalid(f"{param} must be {wanted}, not {json_type(value)}", param)
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid(f"{param} must be a finite number", param)
    low, high = OPTION_RANGES.get(name, (None, None))
    if low is not None and not low <= value <= high:
        raise invalid(f"{param} must be between {low:g} and {high:g}, not {value!r}", param)
    return value


def options_from(body: dict[str, Any], param: str = "options") -> dict[str, Any]:
    """The ``options`` object of /v1/route: known names only, each type- and range-checked."""
    raw = body.get(param)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid(f"{param} must be an object, not {json_type(raw)}", param)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in OPTION_TYPES:
            known = ", ".join(sorted(OPTION_TYPES))
            raise invalid(f"{param}: unknown option {quoted(name)} (known: {known})", param)
        checked = check_option(name, value, f"{param}.{name}")
        if checked is not None:
            out[name] = checked
    return out


def text_value(value: Any, param: str) -> str:
    """A non-empty request text within the engine's length limit."""
    if not isinstance(value, str):
        raise invalid(f"{param} must be a string, not {json_type(value)}", param)
    if not value.strip():
        raise invalid(f"{param} is empty: give some text", param)
    if len(value) > MAX_TEXT:
        raise invalid(
            f"{param} is too long: {len(value):,} characters (the limit is {MAX_TEXT:,})", param
        )
    return value


def classify_inputs(body: dict[str, Any]) -> tuple[list[str], bool]:
    """/v1/classify's ``input``: texts in order and whether a single string was sent."""
    if "input" not in body:
        raise invalid("missing required parameter 'input'", "input", "missing_required_parameter")
    value = body["input"]
    if isinstance(value, list):
        if not value:
            raise invalid("input is an empty array: give at least one text", "input")
        if len(value) > MAX_BATCH:
            raise invalid(f"input has {len(value)} texts; the limit is {MAX_BATCH}", "input")
        return [text_value(item, f"input[{i}]") for i, item in enumerate(value)], False
    return [text_value(value, "input")], True


def classify_options(body: dict[str, Any]) -> dict[str, Any]:
    """The optional per-call knobs of /v1/classify: out-of-scope threshold, margin or budget
    (a point on the router's stored rejection curve), and ``explain`` (nearest examples)."""
    out = {}
    for name in ("oos_threshold", "oos_margin", "oos_budget", "explain"):
        value = check_option(name, body.get(name), name)
        if value is not None:
            out[name] = value
    return out


def _model(body: dict[str, Any]) -> str:
    if "model" not in body:
        raise invalid("missing required parameter 'model'", "model", "missing_required_parameter")
    model = body["model"]
    if not isinstance(model, str) or not model:
        raise invalid(f"model must be a non-empty string, not {json_type(model)}", "model")
    return model


def _parts(content: list[Any], param: str, images: list[ImageRef] | None) -> str:
    """Text of a list of content parts; image parts go to ``images`` (None: validated only)."""
    texts: list[str] = []
    for j, part in enumerate(content):
        where = f"{param}[{j}]"
        if not isinstance(part, dict):
            raise invalid(f"{where} must be an object, not {json_type(part)}", where)
        kind = part.get("type")
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise invalid(f"{where}.text must be a string, not {json_type(text)}", where)
            texts.append(text)
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            if not isinstance(url, str):
                raise invalid(f"{where}.image_url.url must be a string", f"{where}.image_url")
            if images is not None:
                if len(images) >= MAX_IMAGES:
                    raise invalid(f"too many images: the limit is {MAX_IMAGES}", where)
                images.append(ImageRef(f"{where}.image_url", url))
        else:
            shown = kind if isinstance(kind, str) else json_type(kind)
            raise invalid(
                f"{where}.type {quoted(shown)} is not supported (use 'text' or 'image_url')", where
            )
    return "\n".join(texts)


def _messages(body: dict[str, Any]) -> tuple[list[dict[str, Any]], str, list[ImageRef]]:
    if "messages" not in body:
        raise invalid(
            "missing required parameter 'messages'", "messages", "missing_required_parameter"
        )
    raw = body["messages"]
    if not isinstance(raw, list):
        raise invalid(f"messages must be an array, not {json_type(raw)}", "messages")
    if not raw:
        raise invalid("messages is empty: send at least one user message", "messages")
    if len(raw) > MAX_MESSAGES:
        raise invalid(f"messages has {len(raw)} entries; the limit is {MAX_MESSAGES}", "messages")
    last_user = max(
        (i for i, m in enumerate(raw) if isinstance(m, dict) and m.get("role") == "user"),
        default=-1,
    )
    out: list[dict[str, Any]] = []
    images: list[ImageRef] = []
    for i, message in enumerate(raw):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise invalid(f"{where} must be an object, not {json_type(message)}", where)
        role = message.get("role")
        if role not in ROLES:
            shown = role if isinstance(role, str) else json_type(role)
            raise invalid(f"{where}.role {quoted(shown)} is not one of {', '.join(ROLES)}", where)
        content = message.get("content")
        if content is None:
            if role == "user":
                raise invalid(f"{where}.content is required for a user message", where)
            text = ""
        elif isinstance(content, str):
            text = content
        elif isinstance(content, list):
            text = _parts(content, f"{where}.content", images if i == last_user else None)
        else:
            raise invalid(
                f"{where}.content must be a string or an array of parts, not {json_type(content)}",
                f"{where}.content",
            )
        out.append({"role": role, "content": text})
    if last_user < 0:
        raise invalid("messages has no user message to answer", "messages")
    text = out[last_user]["content"]
    if not text.strip():
        if not images:
            raise invalid(
                f"messages[{last_user}].content is empty: give some text or an image",
                f"messages[{last_user}].content",
            )
        text = IMAGE_PROMPT
    return out, text_value(text, f"messages[{last_user}].content"), images


def chat_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a /v1/chat/completions body; unknown OpenAI fields are accepted and ignored."""
    model = _model(body)
    messages, text, images = _messages(body)
    stream = body.get("stream", False)
    if stream is None:
        stream = False
    if not isinstance(stream, bool):
        raise invalid(f"stream must be a boolean, not {json_type(stream)}", "stream")
    include_usage = False
    stream_options = body.get("stream_options")
    if stream_options is not None:
        if not isinstance(stream_options, dict):
            raise invalid("stream_options must be an object", "stream_options")
        flag = stream_options.get("include_usage", False)
        if not isinstance(flag, bool):
            raise invalid(
                "stream_options.include_usage must be a boolean", "stream_options.include_usage"
            )
        include_usage = flag
    n = body.get("n")
    if n is not None and (not _kind(n, (int,)) or n != 1):
        raise invalid("n: only 1 choice per request is supported", "n")
    options: dict[str, Any] = {}
    for name in ("max_completion_tokens", "max_tokens"):
        value = check_option("max_tokens", body.get(name), name)
        if value is not None:
            options["max_tokens"] = value
    for name in ("temperature", "top_p", "seed"):
        value = check_option(name, body.get(name), name)
        if value is not None:
            options[name] = value
    return ChatRequest(model, text, messages, images, stream, include_usage, options)
