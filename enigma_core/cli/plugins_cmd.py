"""``enigma plugins`` and ``enigma plugins info NAME``: what is installed and whether it works."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from enigma_core.cli import state
from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt
from enigma_core.errors import EnigmaError

app = typer.Typer(help="List installed plugins and their status.", no_args_is_help=False)


def _router_note() -> dict[str, object] | None:
    engine = state.engine()
    status = engine.router_status()
    return status if status.get("model") else None


@app.callback(invoke_without_command=True)
def plugins(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """List plugins: name, distribution, version, tasks, hooks, status."""
    if ctx.invoked_subcommand is not None:
        return
    manager = state.plugin_manager()
    records = [r.to_dict() for r in manager.records.values()]
    for r in records:  # tasks declared in a config file rather than in the plugin's code
        r["origins"] = {t: manager.tasks[t].origin for t in r["tasks"] if manager.tasks[t].origin}
    router = _router_note() if any(t.classifies for t in manager.tasks.values()) else None
    if json_out:
        print_json({"plugins": records, "router": router})
        return
    for r in records:
        status = r["status"] if r["status"] != "error" else f"error: {r['error']}"
        if r["status"] == "ok" and r["error"]:
            status = f"ok (hook error: {r['error']})"
        dist = f"{r['distribution']} {r['version']}" if r["distribution"] else "-"
        tasks = ",".join(t for t in r["tasks"] if t not in r["origins"]) or "-"
        sys.stdout.write(f"{r['name']:<12} {dist:<24} tasks={tasks:<16} {status}\n")
        for origin in sorted(set(r["origins"].values())):
            named = ",".join(t for t, o in r["origins"].items() if o == origin)
            sys.stdout.write(f"{'':<12} {'':<24} tasks={named} (from {origin})\n")
    if router and router.get("stale"):
        sys.stdout.write(f"{router['task']}: {router['hint']}\n")


@app.command("info")
def info(
    name: Annotated[str, typer.Argument(help="Plugin name.")], json_out: JsonOpt = False
) -> None:
    """Everything known about one plugin, including its tasks' keywords and examples."""
    manager = state.plugin_manager()
    record = manager.records.get(name)
    if record is None:
        known = ", ".join(sorted(manager.records)) or "none"
        raise EnigmaError(f"no plugin named {name!r} (installed: {known})")
    out = record.to_dict()
    out["task_specs"] = [manager.tasks[t].to_dict() for t in record.tasks]
    if json_out:
        print_json(out)
        return
    for key in ("name", "distribution", "version", "module", "status", "error"):
        sys.stdout.write(f"{key}: {out[key]}\n")
    sys.stdout.write(f"hooks: {', '.join(out['hooks'])}\n")
    for spec in out["task_specs"]:
        sys.stdout.write(f"task {spec['name']}: intents={spec['intents']} {spec['description']}\n")
        sys.stdout.write(f"  keywords: {', '.join(spec['keywords'])}\n")
