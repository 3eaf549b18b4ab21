"""``enigma logs``: the decision log in the style of ``llm logs`` (filters, JSON, on/off)."""

from __future__ import annotations

import sys
import time
from typing import Annotated

import typer

from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt
from enigma_core.errors import EnigmaError

app = typer.Typer(help="Show the decision log (every classify/route decision).")


def _line(d: object) -> str:
    from enigma_core.decisions.record import Decision

    assert isinstance(d, Decision)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(d.ts))
    text = d.text if d.text is not None else f"sha256:{d.text_sha256[:12]}"
    task = f" -> {d.task}" if d.kind == "route" else ""
    shadow = f"  shadow: {d.shadow_intent} {d.shadow_confidence:.2f}" if d.shadow_intent else ""
    label = f"  label: {d.label}" if d.label else ""
    return (
        f"#{d.id}  {when}  {d.intent} {d.confidence:.2f} via {d.via}{task}  [{d.status}]  "
        f"{text!r}{shadow}{label}"
    )


@app.callback(invoke_without_command=True)
def logs(
    ctx: typer.Context,
    count: Annotated[
        int, typer.Option("-n", "--count", min=1, max=1_000_000, help="How many (newest first).")
    ] = 20,
    intent: Annotated[str | None, typer.Option("--intent", help="Only this intent.")] = None,
    via: Annotated[
        str | None, typer.Option("--via", help="Only decided this way: model, keywords, ...")
    ] = None,
    below: Annotated[
        float | None,
        typer.Option("--below", min=0.0, max=1.0, help="Only confidence below CONF."),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Only newer than 30m, 2h, 7d or a date.")
    ] = None,
    disagreements: Annotated[
        bool,
        typer.Option("--disagreements", help="Only where the shadow router decided otherwise."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List logged decisions, newest first (subcommands: on, off, status, path)."""
    if ctx.invoked_subcommand is not None:
        return
    from enigma_core.decisions.logger import log_path
    from enigma_core.decisions.query import LogFilter, open_log, parse_since, select

    conn = open_log(log_path())
    found = select(
        conn,
        LogFilter(
            limit=count,
            intent=intent,
            via=via,
            below=below,
            since=parse_since(since) if since else None,
            disagreements=disagreements,
        ),
    )
    if json_out:
        print_json([d.to_dict() for d in found])
        return
    for d in found:
        sys.stdout.write(_line(d) + "\n")


def _switch(enabled: bool) -> None:
    from enigma_core.config import update_config

    def change(raw: dict) -> None:
        section = raw.setdefault("log", {})
        if not isinstance(section, dict):
            raise EnigmaError("config field 'log' must be an object; fix it by hand first")
        section["enabled"] = enabled

    path = update_config(change)
    sys.stdout.write(f"decision log {'on' if enabled else 'off'} ({path})\n")


@app.command("on")
def on() -> None:
    """Log every decision (the default)."""
    _switch(True)


@app.command("off")
def off() -> None:
    """Stop logging decisions."""
    _switch(False)


@app.command("path")
def path() -> None:
    """Print where the log lives (ENIGMA_HOME/logs.db)."""
    from enigma_core.decisions.logger import log_path

    sys.stdout.write(f"{log_path()}\n")


@app.command("status")
def status(json_out: JsonOpt = False) -> None:
    """Whether logging is on, where, how many decisions and over what time."""
    from enigma_core.config import load_config
    from enigma_core.decisions.logger import log_path
    from enigma_core.decisions.query import open_log
    from enigma_core.decisions.query import status as log_status

    settings = load_config().log
    where = log_path()
    out: dict = {"enabled": settings.enabled, "path": str(where), **settings.to_dict()}
    if where.is_file():
        out.update(log_status(open_log(where)))
    if json_out:
        print_json(out)
        return
    state = "on" if settings.enabled else "off"
    size = f"{out.get('decisions', 0):,} decisions" if where.is_file() else "no log yet"
    keep = "text" if settings.text else "sha256 only"
    sys.stdout.write(f"decision log {state}: {where} ({size}; keeps {keep})\n")
