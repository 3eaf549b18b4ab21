"""The ``backends``/``tasks`` sections: valid ones parse, bad ones give one line naming the file
and the field, and a secret put in config is refused without ever being echoed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from enigma_openai.settings import parse_sections

from enigma_core.errors import EnigmaError

GOOD: dict[str, Any] = {
    "backends": {
        "ollama": {
            "base_url": "http://127.0.0.1:11434/v1/",
            "model": "llama3.2",
            "api_key_env": "OLLAMA_KEY",
            "timeout_s": 30,
            "max_retries": 1,
            "max_tokens": 256,
            "temperature": 0.2,
            "system": "Be brief.",
        },
        "big": {"base_url": "https://models.example/v1?api-version=2", "model": "big-model"},
    },
    "tasks": {
        "weather": {
            "backend": "ollama",
            "intents": ["weather"],
            "examples": ["will it rain?"],
            "keywords": ["forecast"],
            "fallback": "big",
            "escalate_below": 0.6,
        },
        "recipes": {"backend": "big"},
    },
}


def test_a_full_config_parses_with_defaults_filled_in() -> None:
    sections = parse_sections(GOOD, "/home/me/config.json")
    ollama = sections.backends["ollama"]
    assert ollama.base_url == "http://127.0.0.1:11434/v1"
    assert ollama.endpoint == "http://127.0.0.1:11434/v1/chat/completions"
    assert (ollama.timeout_s, ollama.max_retries, ollama.max_tokens) == (30.0, 1, 256)
    big = sections.backends["big"]
    assert big.endpoint == "https://models.example/v1/chat/completions?api-version=2"
    assert big.shown_url == "https://models.example/v1"  # a query string may hold a key
    assert (big.timeout_s, big.max_retries, big.api_key_env) == (60.0, 2, None)
    weather = sections.tasks["weather"]
    assert (weather.fallback, weather.escalate_below) == ("big", 0.6)
    assert sections.tasks["recipes"].intents == ("recipes",)  # the name is the default intent
    assert sections.backend_of("weather") is ollama and sections.backend_of("big") is big
    assert parse_sections({}).backends == {}


def _with(path: str, value: Any) -> dict[str, Any]:
    raw = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node = raw
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return raw


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("backends", [], "field 'backends' must be an object"),
        ("backends.ollama.base_url", "ftp://x/v1", "'backends.ollama.base_url' must be an http"),
        ("backends.ollama.model", _DELETE, "'backends.ollama.model' must name the model"),
        ("backends.ollama.timeout_s", 0, "'backends.ollama.timeout_s' must be a number from"),
        ("backends.ollama.timeout_s", True, "'backends.ollama.timeout_s' must be a number"),
        ("backends.ollama.max_retries", 1.5, "'backends.ollama.max_retries' must be an integer"),
        ("backends.ollama.temperature", 3, "'backends.ollama.temperature' must be a number"),
        ("backends.ollama.modle", "x", "'backends.ollama.modle' is not a known field (did you"),
        ("backends.Bad Name", {"base_url": "http://h/v1", "model": "m"}, "must be a lowercase"),
        ("backends.code", {"base_url": "http://h/v1", "model": "m"}, "which enigma itself uses"),
        ("tasks.weather.backend", "nope", "names backend 'nope', which 'backends' lacks"),
        ("tasks.weather.intents", ["two words"], "'tasks.weather.intents' has 'two words'"),
        ("tasks.weather.intents", ["oos"], "intents are one word, not oos"),
        ("tasks.weather.intents", ["code"], "which enigma's own task owns"),
        ("tasks.weather.examples", "one string", "'tasks.weather.examples' must be a list"),
        ("tasks.weather.escalate_below", 1.5, "'tasks.weather.escalate_below' must be a number"),
        ("tasks.weather.fallback", "weather", "names the task itself"),
        ("tasks.recipes.intents", ["weather"], "repeats intent 'weather' of task 'weather'"),
        ("tasks.ollama", {"backend": "big"}, "'tasks.ollama' has the name of a backend"),
        ("tasks.chat", {"backend": "big"}, "which enigma itself uses"),
    ],
)
def test_bad_fields_are_one_line_naming_the_file_and_field(
    path: str, value: Any, expected: str
) -> None:
    with pytest.raises(EnigmaError) as info:
        parse_sections(_with(path, value), "/home/me/config.json")
    message = str(info.value)
    assert message.startswith("/home/me/config.json: "), message
    assert expected in message and "\n" not in message


def test_escalating_needs_a_fallback() -> None:
    raw = _with("tasks.weather.fallback", _DELETE)
    with pytest.raises(EnigmaError, match="escalate_below' needs a 'fallback'"):
        parse_sections(raw)


SECRET = "sk-live-DO-NOT-PRINT-9f8e7d6c5b4a"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("backends.ollama.api_key", SECRET, "backends.ollama.api_key"),
        ("backends.ollama.token", SECRET, "backends.ollama.token"),
        ("backends.ollama.headers", {"Authorization": SECRET}, "backends.ollama.headers"),
        ("backends.ollama.api_key_env", SECRET, "backends.ollama.api_key_env"),
        ("backends.ollama.base_url", f"http://me:{SECRET}@127.0.0.1/v1", "base_url"),
        ("tasks.weather.api_key", SECRET, "tasks.weather.api_key"),
    ],
)
def test_a_secret_in_config_is_refused_and_never_echoed(path: str, value: Any, field: str) -> None:
    with pytest.raises(EnigmaError) as info:
        parse_sections(_with(path, value))
    message = str(info.value)
    assert field in message and SECRET not in message and "DO-NOT-PRINT" not in message
    assert "environment variable" in message
