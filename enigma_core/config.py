"""The user's config file (the seed's structure): read, validated, merged with defaults.

The file is read with a size limit (1 MB) before parsing, JSON nested deeper than 16 levels is
refused, and unknown keys are reported on stderr with the closest known key (a typo such as
``shared_tokeniser`` would otherwise be ignored silently).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enigma_core.bounded import read_file
from enigma_core.errors import EnigmaError
from enigma_core.home import config_path

MAX_CONFIG_BYTES = 1 << 20
MAX_DEPTH = 16
TOP_KEYS = ("enabled", "shared_tokenizer", "default_task", "models", "log", "chat", "cascade")
MODEL_KEYS = ("path", "size", "description")
LOG_KEYS = ("enabled", "text", "max_rows", "max_days")
CASCADE_KEYS = ("fallback", "escalate_below")


@dataclass(frozen=True)
class CascadeRule:
    """``cascade.<task>`` in the config: the task that answers instead of ``<task>`` when the
    router is unsure (out of scope, or confidence below ``escalate_below``) or ``<task>`` could
    not answer. It gives any task, a plugin's or a built-in one, a fallback without code."""

    fallback: str
    escalate_below: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"fallback": self.fallback, "escalate_below": self.escalate_below}


@dataclass
class ModelEntry:
    """One model in the config: where its weights live, its size preset and a description."""

    path: str | None = None
    size: str | None = None
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"path": self.path, "size": self.size, "description": self.description}


@dataclass
class LogSettings:
    """The decision log (``ENIGMA_HOME/logs.db``): on/off, whether request text is kept, retention.

    ``text: false`` stores only the sha256 of each request. ``max_rows``/``max_days`` (null: no
    limit) bound the log; the oldest decisions go first.
    """

    enabled: bool = True
    text: bool = True
    max_rows: int | None = 100_000
    max_days: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return dict(self.__dict__)


@dataclass
class Config:
    """The config: ``enabled``, ``shared_tokenizer``, ``default_task``, ``models: {name: ...}``.

    ``enabled: false`` turns specialised models off: routing then uses keywords only.
    ``shared_tokenizer`` null means the tokenizer shipped with enigma-core.
    """

    enabled: bool = True
    shared_tokenizer: str | None = None
    default_task: str = "chat"
    models: dict[str, ModelEntry] = field(default_factory=dict)
    log: LogSettings = field(default_factory=LogSettings)
    cascades: dict[str, CascadeRule] = field(default_factory=dict)
    """``cascade``: per task name, the fallback that overrides the one its plugin declared."""
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    """The file's JSON as read: plugins validate the sections they own (see :meth:`section`)."""

    def section(self, name: str) -> Any:
        """A top-level section of the file that a plugin owns (``tasks``, ``backends``...)."""
        return self.raw.get(name)

    def chat_backend(self) -> str | None:
        """``chat.backend``: the task the built-in chat forwards to (a model server)."""
        chat = self.raw.get("chat")
        backend = chat.get("backend") if isinstance(chat, dict) else None
        return backend if isinstance(backend, str) and backend else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored on disk."""
        return {
            "enabled": self.enabled,
            "shared_tokenizer": self.shared_tokenizer,
            "default_task": self.default_task,
            "models": {name: entry.to_dict() for name, entry in self.models.items()},
            "log": self.log.to_dict(),
            "cascade": {name: rule.to_dict() for name, rule in self.cascades.items()},
        }

    def model_path(self, name: str) -> Path | None:
        """The configured weights directory of model ``name`` (relative paths: to the config)."""
        entry = self.models.get(name)
        if entry is None or not entry.path:
            return None
        path = Path(entry.path).expanduser()
        if not path.is_absolute() and self.source is not None:
            path = self.source.parent / path
        return path


def _one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped (keys may hold them)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _fail(path: Path, message: str) -> EnigmaError:
    """The one-line error naming the file."""
    return EnigmaError(f"{path}: {_one_line(message)}")


def _warn_unknown(
    path: Path, raw: dict[str, Any], known: tuple[str, ...], where: str, open_set: bool = False
) -> None:
    """One stderr line per unknown key, naming the closest known key when there is one.

    ``open_set``: other keys may be legitimate (top-level sections that plugins own), so only
    a key close to a known one (a likely typo) is reported."""
    for key in raw:
        if key not in known:
            import difflib  # here: only a mistake needs it (start-up time)

            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
            if open_set and not close:
                continue
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(known)})"
            print(
                f"enigma: warning: {path}: unknown key '{_one_line(where + key)}'{hint}",
                file=sys.stderr,
            )


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in ``value`` (iterative: no recursion limit)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            todo.extend((child, level + 1) for child in children)
    return deepest


def _parse_models(path: Path, raw: Any) -> dict[str, ModelEntry]:
    if not isinstance(raw, dict):
        raise _fail(path, "field 'models' must be an object of {name: {path, size, description}}")
    models: dict[str, ModelEntry] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise _fail(path, f"field 'models.{name}' must be an object")
        _warn_unknown(path, entry, MODEL_KEYS, f"models.{name}.")
        for key in ("path", "size"):
            if entry.get(key) is not None and not isinstance(entry.get(key), str):
                raise _fail(path, f"field 'models.{name}.{key}' must be a string or null")
        models[name] = ModelEntry(
            path=entry.get("path"),
            size=entry.get("size"),
            description=str(entry.get("description", "")),
        )
    return models


def load_config(path: Path | None = None) -> Config:
    """Read the config at ``path`` (default: under ENIGMA_HOME); a missing file means defaults.

    An unreadable, oversized, too deeply nested or invalid file is a one-line
    :class:`EnigmaError` naming the file and the line/column or field at fault.
    """
    path = path or config_path()
    if not path.exists():
        return Config(source=path)
    data = read_file(path, MAX_CONFIG_BYTES, "config")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, f"not valid UTF-8 (byte {exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}"
        raise _fail(path, f"{where}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise _fail(path, f"JSON nested deeper than {MAX_DEPTH} levels") from None
    if _depth(raw) > MAX_DEPTH:
        raise _fail(path, f"JSON nested deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, dict):
        raise _fail(path, "config must be a JSON object")
    _warn_unknown(path, raw, TOP_KEYS, "", open_set=True)
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(path, "field 'enabled' must be true or false")
    tokenizer = raw.get("shared_tokenizer")
    if tokenizer is not None and not isinstance(tokenizer, str):
        raise _fail(path, "field 'shared_tokenizer' must be a path string or null")
    default_task = raw.get("default_task", "chat")
    if not isinstance(default_task, str) or not default_task:
        raise _fail(path, "field 'default_task' must be a task name")
    return Config(
        enabled=enabled,
        shared_tokenizer=tokenizer,
        default_task=default_task,
        models=_parse_models(path, raw.get("models", {})),
        log=_parse_log(path, raw.get("log", {})),
        cascades=_parse_cascades(path, raw.get("cascade", {})),
        source=path,
        raw=raw,
    )


def _parse_log(path: Path, raw: Any) -> LogSettings:
    if not isinstance(raw, dict):
        raise _fail(path, "field 'log' must be an object of {enabled, text, max_rows, max_days}")
    _warn_unknown(path, raw, LOG_KEYS, "log.")
    settings = LogSettings()
    for key in ("enabled", "text"):
        if key in raw:
            if not isinstance(raw[key], bool):
                raise _fail(path, f"field 'log.{key}' must be true or false")
            setattr(settings, key, raw[key])
    for key, kind in (("max_rows", int), ("max_days", (int, float))):
        if key in raw:
            value = raw[key]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, kind) or value <= 0
            ):
                raise _fail(path, f"field 'log.{key}' must be a positive number or null")
            setattr(settings, key, value)
    return settings


def _parse_cascades(path: Path, raw: Any) -> dict[str, CascadeRule]:
    """``cascade: {task: {fallback, escalate_below}}``, each field checked."""
    if not isinstance(raw, dict):
        raise _fail(path, "field 'cascade' must be an object of {task: {fallback, escalate_below}}")
    rules: dict[str, CascadeRule] = {}
    for name, entry in raw.items():
        where = f"cascade.{name}"
        if not isinstance(entry, dict):
            raise _fail(path, f"field '{where}' must be an object of {{fallback, escalate_below}}")
        _warn_unknown(path, entry, CASCADE_KEYS, f"{where}.")
        fallback = entry.get("fallback")
        if not isinstance(fallback, str) or not fallback:
            raise _fail(path, f"field '{where}.fallback' must name the task that answers instead")
        if fallback == name:
            raise _fail(path, f"field '{where}.fallback' names the task itself")
        below = entry.get("escalate_below")
        if below is not None and (
            isinstance(below, bool) or not isinstance(below, int | float) or not 0 <= below <= 1
        ):
            raise _fail(path, f"field '{where}.escalate_below' must be a number from 0 to 1")
        rules[name] = CascadeRule(fallback, None if below is None else float(below))
    return rules


def update_config(change: Callable[[dict[str, Any]], None], path: Path | None = None) -> Path:
    """Apply ``change`` to the config file's JSON (keys it does not touch are kept), atomically.

    The result is validated by :func:`load_config` before it replaces the file.
    """
    from enigma_core.atomic import atomic_path

    path = path or config_path()
    raw: dict[str, Any] = {}
    if path.exists():
        load_config(path)  # a broken file is reported, never overwritten
        raw = json.loads(path.read_text(encoding="utf-8"))
    change(raw)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        try:
            load_config(tmp)  # the change must leave a valid config, else nothing is written
        except EnigmaError as exc:
            raise EnigmaError(str(exc).replace(str(tmp), str(path))) from None
    return path
