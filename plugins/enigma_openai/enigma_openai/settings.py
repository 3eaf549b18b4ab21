"""The ``backends`` and ``tasks`` sections of config.json, validated into plain dataclasses.

A backend is an OpenAI-compatible server (its ``base_url`` ends in ``/v1``); a declared task is a
routed task answered by one backend. Keys never live here: ``api_key_env`` names the environment
variable that holds one, and a field that looks like a secret is refused without echoing it.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from enigma_core.errors import EnigmaError

RESERVED_NAMES = frozenset({"chat", "router", "code", "vision", "core", "builtin"})
"""Task names taken by enigma itself: a config task with one would clash with its plugin."""
OOS_LABELS = frozenset({"oos", "out_of_scope"})
NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
SECRET_FIELD = re.compile(
    r"(^|[_-])(api_?key|apikey|key|token|secret|password|passwd|authorization|bearer|headers)$",
    re.I,
)
"""Field names that would hold a secret (``max_tokens`` is not one, ``access_token`` is)."""
BACKEND_FIELDS = (
    "base_url",
    "model",
    "api_key_env",
    "timeout_s",
    "max_retries",
    "backoff_s",
    "max_tokens",
    "temperature",
    "system",
    "description",
)
TASK_FIELDS = (
    "intents",
    "description",
    "examples",
    "keywords",
    "backend",
    "fallback",
    "escalate_below",
    "system",
)


@dataclass(frozen=True)
class Backend:
    """One OpenAI-compatible server: where it is, which model, limits and sampling defaults."""

    name: str
    base_url: str
    model: str
    api_key_env: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 2
    backoff_s: float = 0.5
    max_tokens: int | None = None
    temperature: float | None = None
    system: str = ""
    description: str = ""

    @property
    def endpoint(self) -> str:
        """The chat completions URL (query string of ``base_url`` kept, e.g. an api-version)."""
        parts = urlsplit(self.base_url)
        path = parts.path.rstrip("/") + "/chat/completions"
        return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))

    @property
    def shown_url(self) -> str:
        """``base_url`` without its query string: what errors and listings may show."""
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class DeclaredTask:
    """A routed task from config: intents, router examples, keywords and the backend it uses."""

    name: str
    backend: str
    intents: tuple[str, ...]
    description: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    fallback: str | None = None
    escalate_below: float | None = None
    system: str = ""


@dataclass(frozen=True)
class Sections:
    """Both sections, validated: backends and declared tasks by name."""

    backends: dict[str, Backend] = field(default_factory=dict)
    tasks: dict[str, DeclaredTask] = field(default_factory=dict)

    def backend_of(self, task: str) -> Backend | None:
        """The backend that answers task ``task`` (a backend answers itself)."""
        if task in self.backends:
            return self.backends[task]
        declared = self.tasks.get(task)
        return self.backends.get(declared.backend) if declared is not None else None


class _Checker:
    """Builds one-line errors that name the config file and the field at fault."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> EnigmaError:
        return EnigmaError(f"{self.source}: field {where!r} {message}")

    def fields(self, where: str, raw: Any, known: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise EnigmaError(f"{self.source}: field {where!r} must be an object")
        for key in raw:
            if key == "api_key_env":
                continue
            if SECRET_FIELD.search(str(key)):
                raise self.fail(
                    f"{where}.{key}",
                    "looks like a secret: keys never go in config.json; put the key in an "
                    "environment variable and name that variable in 'api_key_env'",
                )
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise self.fail(f"{where}.{key}", f"is not a known field{hint}")
        return raw

    def text(self, where: str, value: Any, default: str = "") -> str:
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.fail(where, "must be a string")
        return value

    def texts(self, where: str, value: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, "must be a list of non-empty strings")
        return tuple(v.strip() for v in value)

    def number(
        self, where: str, value: Any, default: Any, lo: float, hi: float, integer: bool = False
    ) -> Any:
        if value is None:
            return default
        kinds = (int,) if integer else (int, float)
        if (
            isinstance(value, bool)
            or not isinstance(value, kinds)
            or not math.isfinite(value)
            or not lo <= value <= hi
        ):
            kind = "an integer" if integer else "a number"
            raise self.fail(where, f"must be {kind} from {lo:g} to {hi:g}")
        return int(value) if integer else float(value)

    def name(self, where: str, value: str) -> str:
        if not NAME.match(value):
            raise self.fail(
                where, "must be a lowercase name (letters, digits, '_' or '-', starting a-z)"
            )
        if value in RESERVED_NAMES:
            raise self.fail(where, f"uses the name {value!r}, which enigma itself uses")
        return value


def _backend(check: _Checker, name: str, raw: Any) -> Backend:
    where = f"backends.{name}"
    check.name(where, name)
    entry = check.fields(where, raw, BACKEND_FIELDS)
    base_url = check.text(f"{where}.base_url", entry.get("base_url"))
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise check.fail(f"{where}.base_url", "must be an http:// or https:// URL ending in /v1")
    if parts.username is not None or parts.password is not None:
        raise check.fail(
            f"{where}.base_url",
            "must not hold a user name or password: put the key in an environment variable "
            "and name it in 'api_key_env'",
        )
    model = check.text(f"{where}.model", entry.get("model"))
    if not model.strip():
        raise check.fail(f"{where}.model", "must name the model the server should run")
    env = entry.get("api_key_env")
    if env is not None and (not isinstance(env, str) or not ENV_NAME.match(env)):
        raise check.fail(
            f"{where}.api_key_env",
            "must be the NAME of an environment variable that holds the key (letters, digits "
            "and '_'), not the key itself",
        )
    return Backend(
        name=name,
        base_url=base_url.rstrip("/") if not parts.query else base_url,
        model=model.strip(),
        api_key_env=env,
        timeout_s=check.number(f"{where}.timeout_s", entry.get("timeout_s"), 60.0, 0.01, 3600),
        max_retries=check.number(
            f"{where}.max_retries", entry.get("max_retries"), 2, 0, 10, integer=True
        ),
        backoff_s=check.number(f"{where}.backoff_s", entry.get("backoff_s"), 0.5, 0, 60),
        max_tokens=check.number(
            f"{where}.max_tokens", entry.get("max_tokens"), None, 1, 1_000_000, integer=True
        ),
        temperature=check.number(f"{where}.temperature", entry.get("temperature"), None, 0, 2),
        system=check.text(f"{where}.system", entry.get("system")),
        description=check.text(f"{where}.description", entry.get("description")),
    )


def _task(check: _Checker, name: str, raw: Any, backends: dict[str, Backend]) -> DeclaredTask:
    where = f"tasks.{name}"
    check.name(where, name)
    entry = check.fields(where, raw, TASK_FIELDS)
    backend = check.text(f"{where}.backend", entry.get("backend"))
    if backend not in backends:
        known = ", ".join(sorted(backends)) or "none declared"
        raise check.fail(
            f"{where}.backend", f"names backend {backend!r}, which 'backends' lacks ({known})"
        )
    intents = check.texts(f"{where}.intents", entry.get("intents")) or (name,)
    for intent in intents:
        if any(ch.isspace() for ch in intent) or intent.lower() in OOS_LABELS:
            raise check.fail(f"{where}.intents", f"has {intent!r}: intents are one word, not oos")
        if intent in RESERVED_NAMES:
            raise check.fail(f"{where}.intents", f"has {intent!r}, which enigma's own task owns")
    fallback = entry.get("fallback")
    if fallback is not None and (not isinstance(fallback, str) or not fallback):
        raise check.fail(f"{where}.fallback", "must name a task (e.g. a backend)")
    if fallback == name:
        raise check.fail(f"{where}.fallback", "names the task itself")
    escalate = check.number(f"{where}.escalate_below", entry.get("escalate_below"), None, 0, 1)
    if escalate is not None and fallback is None:
        raise check.fail(f"{where}.escalate_below", "needs a 'fallback' to escalate to")
    return DeclaredTask(
        name=name,
        backend=backend,
        intents=intents,
        description=check.text(f"{where}.description", entry.get("description")),
        examples=check.texts(f"{where}.examples", entry.get("examples")),
        keywords=check.texts(f"{where}.keywords", entry.get("keywords")),
        fallback=fallback,
        escalate_below=escalate,
        system=check.text(f"{where}.system", entry.get("system")),
    )


def parse_sections(raw: dict[str, Any], source: str = "config.json") -> Sections:
    """Validate ``backends`` and ``tasks`` of a config's JSON (absent sections: empty).

    Errors are one line naming ``source`` and the field; a secret's value is never echoed.
    """
    check = _Checker(source)
    raw_backends = raw.get("backends", {}) if raw.get("backends") is not None else {}
    raw_tasks = raw.get("tasks", {}) if raw.get("tasks") is not None else {}
    if not isinstance(raw_backends, dict):
        raise EnigmaError(f"{source}: field 'backends' must be an object of {{name: backend}}")
    if not isinstance(raw_tasks, dict):
        raise EnigmaError(f"{source}: field 'tasks' must be an object of {{name: task}}")
    backends = {name: _backend(check, str(name), entry) for name, entry in raw_backends.items()}
    tasks: dict[str, DeclaredTask] = {}
    owners: dict[str, str] = {}
    for name, entry in raw_tasks.items():
        if name in backends:
            raise check.fail(f"tasks.{name}", "has the name of a backend; pick another name")
        task = _task(check, str(name), entry, backends)
        for intent in task.intents:
            if intent in owners:
                raise check.fail(
                    f"tasks.{name}.intents", f"repeats intent {intent!r} of task {owners[intent]!r}"
                )
            owners[intent] = name
        tasks[task.name] = task
    return Sections(backends=backends, tasks=tasks)
