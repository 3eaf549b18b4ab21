"""``enigma config add-task NAME --backend URL --model M --example "..."``: declare a task.

The change is validated as a whole (both sections) before config.json is replaced atomically;
an invalid one leaves the file untouched.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from enigma_core.commands import JsonOpt, print_json
from enigma_core.errors import EnigmaError
from enigma_openai.settings import parse_sections

ROUTER_MIN_EXAMPLES = 20
"""Below this many examples a declared intent is learned poorly; the command says so."""

Many = Annotated[list[str] | None, typer.Option(show_default=False)]


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def _backend_name(model: str, taken: set[str]) -> str:
    """A readable backend name from a model id ('llama3.2' -> 'llama3_2'), made unique."""
    base = re.sub(r"[^a-z0-9_]+", "_", model.lower().rsplit("/", 1)[-1]).strip("_") or "server"
    if not base[0].isalpha():
        base = f"m_{base}"
    base = base[:48]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _read_examples(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise EnigmaError(f"--examples-file {path}: cannot read it ({exc})") from None
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _pick_backend(
    raw: dict[str, Any],
    backend: str,
    model: str | None,
    api_key_env: str | None,
    backend_name: str | None,
) -> tuple[str, bool]:
    """The backend to use: an existing one by name or same URL+model, else a new entry."""
    backends = raw.setdefault("backends", {})
    if not isinstance(backends, dict):
        raise EnigmaError("config field 'backends' must be an object")
    if not _is_url(backend):
        if model or api_key_env or backend_name:
            raise EnigmaError(
                "--model, --api-key-env and --backend-name go with --backend URL, not a name"
            )
        if backend not in backends:
            known = ", ".join(sorted(backends)) or "none yet"
            raise EnigmaError(
                f"--backend {backend!r}: no such backend in config ({known}); give its URL "
                "and --model to add one"
            )
        return backend, False
    if not model:
        raise EnigmaError("--backend URL needs --model: the model the server should run")
    url = backend.rstrip("/")
    for name, entry in backends.items():
        if (
            isinstance(entry, dict)
            and str(entry.get("base_url", "")).rstrip("/") == url
            and entry.get("model") == model
            and entry.get("api_key_env") == api_key_env
            and (backend_name is None or backend_name == name)
        ):
            return name, False
    tasks = raw.get("tasks") if isinstance(raw.get("tasks"), dict) else {}
    name = backend_name or _backend_name(model, set(backends) | set(tasks))
    if name in backends:
        raise EnigmaError(f"--backend-name {name!r}: a different backend has that name")
    entry: dict[str, Any] = {"base_url": url, "model": model}
    if api_key_env:
        entry["api_key_env"] = api_key_env
    backends[name] = entry
    return name, True


def add_task(
    name: Annotated[str, typer.Argument(help="Task name (lowercase; also its intent).")],
    backend: Annotated[
        str, typer.Option(help="A backend in config, or a server URL ending in /v1.")
    ],
    model: Annotated[str | None, typer.Option(help="Model id (with --backend URL).")] = None,
    example: Many = None,
    examples_file: Annotated[
        Path | None, typer.Option(help="More examples: one request per line.")
    ] = None,
    intent: Many = None,
    keyword: Many = None,
    description: Annotated[str, typer.Option(help="One sentence: what the task does.")] = "",
    system: Annotated[str, typer.Option(help="System prompt sent with every request.")] = "",
    fallback: Annotated[
        str | None, typer.Option(help="Task answering when the router is unsure.")
    ] = None,
    escalate_below: Annotated[
        float | None, typer.Option(help="Confidence under which the fallback answers.")
    ] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the key (never the key).")
    ] = None,
    backend_name: Annotated[
        str | None, typer.Option(help="Name for a new backend (default: from the model).")
    ] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite a task of the same name.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Declare a task answered by a model server; `enigma train router` then teaches it."""
    from enigma_core.config import update_config

    examples = [e.strip() for e in example or [] if e.strip()]
    if examples_file is not None:
        examples += _read_examples(examples_file)
    outcome: dict[str, Any] = {}

    def change(raw: dict[str, Any]) -> None:
        tasks = raw.setdefault("tasks", {})
        if not isinstance(tasks, dict):
            raise EnigmaError("config field 'tasks' must be an object")
        if name in tasks and not replace:
            raise EnigmaError(f"task {name!r} is already in config (use --replace to overwrite)")
        chosen, created = _pick_backend(raw, backend, model, api_key_env, backend_name)
        entry: dict[str, Any] = {"backend": chosen, "intents": list(intent or [name])}
        for key, value in (
            ("description", description),
            ("examples", examples),
            ("keywords", list(keyword or [])),
            ("system", system),
            ("fallback", fallback),
            ("escalate_below", escalate_below),
        ):
            if value not in (None, "", []):
                entry[key] = value
        tasks[name] = entry
        parse_sections(raw, str(target))  # the whole result must be valid, else nothing is written
        outcome.update(task=name, backend=chosen, created_backend=created)

    from enigma_core.config import load_config

    target = load_config().source
    path = update_config(change, target)
    outcome.update(path=str(path), examples=len(examples), intents=list(intent or [name]))
    if json_out:
        print_json(outcome)
        return
    made = " (new backend)" if outcome["created_backend"] else ""
    sys.stdout.write(
        f"added task {name!r} on backend {outcome['backend']!r}{made} to {path}\n"
        f"next: `enigma train router` teaches the router its {len(examples)} example(s)\n"
    )
    if len(examples) < ROUTER_MIN_EXAMPLES:
        sys.stdout.write(
            f"note: the router learns an intent well from about {ROUTER_MIN_EXAMPLES} varied "
            "examples; add more with --example or --examples-file\n"
        )
