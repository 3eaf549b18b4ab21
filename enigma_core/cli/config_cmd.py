"""``enigma config show|path``: the effective configuration and where it lives."""

from __future__ import annotations

import json
import sys

import typer

from enigma_core.cli import state
from enigma_core.cli.common import JsonOpt, print_json
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
    for task in state.plugin_manager().tasks.values():
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


@app.command("path")
def path(json_out: JsonOpt = False) -> None:
    """Print the config file path (under ENIGMA_HOME)."""
    if json_out:
        print_json({"path": str(config_path())})
    else:
        sys.stdout.write(f"{config_path()}\n")
