"""``enigma config show|path``: the effective configuration and where it lives."""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import typer

from enigma_core.cli import state
from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt
from enigma_core.config import load_config
from enigma_core.home import config_path, enigma_home

app = typer.Typer(help="Show enigma's configuration.", no_args_is_help=True)


@app.command("show")
def show(json_out: JsonOpt = False) -> None:
    """Print the effective config (defaults when no file exists) and its path.

    Tasks of installed plugins that the file does not mention appear with their default size
    and ``path: null`` (the plugin's shipped model).
    """
    config = load_config()
    path = config_path()
    effective = config.to_dict()
    for name, section in config.raw.items():  # sections plugins own (backends, tasks, chat)
        effective.setdefault(name, _redacted(section))
    for task in state.plugin_manager().tasks.values():
        if task.origin:  # declared in config (e.g. a model server): no local model
            continue
        effective["models"].setdefault(
            task.name, {"path": None, "size": task.default_size, "description": task.description}
        )
    out = {
        "path": str(path),
        "exists": path.exists(),
        "home": str(enigma_home()),
        "config": effective,
    }
    if json_out:
        print_json(out)
        return
    sys.stdout.write(f"# {path}{'' if path.exists() else ' (not created: defaults)'}\n")
    sys.stdout.write(json.dumps(effective, indent=2) + "\n")


SECRET_KEY = re.compile(
    r"(^|[_-])(api_?key|apikey|key|token|secret|password|passwd|authorization|bearer)$", re.I
)


def _redacted(value: Any) -> Any:
    """``value`` with anything stored under a secret-looking key replaced (keys belong in
    environment variables; ``api_key_env`` is only a variable's name and is kept)."""
    if isinstance(value, dict):
        return {
            k: "<redacted>" if SECRET_KEY.search(str(k)) and k != "api_key_env" else _redacted(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


@app.command("path")
def path(json_out: JsonOpt = False) -> None:
    """Print the config file path (under ENIGMA_HOME)."""
    if json_out:
        print_json({"path": str(config_path())})
    else:
        sys.stdout.write(f"{config_path()}\n")
