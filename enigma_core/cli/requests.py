"""What ``enigma route`` and ``enigma classify`` do, and the options they take, without typer.

:mod:`enigma_core.cli.route_cmd` is their typer face (help, errors); the fast path
(:mod:`enigma_core.cli.fastpath`) calls the same functions without importing typer or click.
Both read the command-line options from :data:`OPTIONS`, the one declaration of them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from enigma_core.cli import state
from enigma_core.cli.common import err, print_json, read_batch, read_request
from enigma_core.cli.task_options import CallOptions
from enigma_core.errors import EnigmaError
from enigma_core.jsonout import JSON_HELP

NO_ANSWER = "no_answer"
NO_ANSWER_EXIT = 3
"""Exit status of ``enigma route`` when the task found no answer it stands behind."""


class CommandOption(NamedTuple):
    """One option of route/classify: its flag, the parameter it fills, its kind and help."""

    flag: str
    param: str
    kind: str  # "flag" (an on/off switch) or "path"
    help: str


TEXT_HELP = "The request; '-' reads it from stdin."
BATCH = CommandOption(
    "--batch", "batch", "path", "Route every line of FILE; prints one JSON line per input line."
)
SHOW_SOURCES = CommandOption(
    "--show-sources", "show_sources", "flag", "Ask the task to cite its sources."
)
JSON = CommandOption("--json", "json_out", "flag", JSON_HELP)
OPTIONS: dict[str, tuple[CommandOption, ...]] = {
    "route": (BATCH, SHOW_SOURCES, JSON),
    "classify": (BATCH, JSON),
}
"""Each command's own options (tasks add theirs, :mod:`enigma_core.cli.task_options`)."""
CONTEXT_SETTINGS = {"ignore_unknown_options": True}
"""Click settings of both commands: requests may start with '-' ("-40 C to F"), so unknown
options are kept as the request text."""


def _run_batch(path: Path, handle: Callable[[str], dict[str, Any]]) -> None:
    failed = 0
    for number, text in read_batch(path):
        try:
            print_json(handle(text))
        except EnigmaError as exc:
            failed += 1
            print_json({"line": number, "text": text, "error": str(exc)})
    if failed:
        raise EnigmaError(f"{path}: {failed} line(s) failed; see their 'error' fields")


def route(
    text: str | None = None,
    batch: Path | None = None,
    show_sources: bool = False,
    json_out: bool = False,
    *,
    call: CallOptions,
) -> int:
    """``enigma route``: classify, run the owning task, print its answer; the exit status."""
    engine = state.engine(model_dirs=call.model_dirs)
    options = {"show_sources": show_sources, **call.options}
    if batch is not None:
        _run_batch(batch, lambda t: _route_dict(engine, t, options))
        return 0
    request = read_request(text)
    if json_out:
        out = _route_dict(engine, request, options)
        print_json(out)
        return NO_ANSWER_EXIT if out.get("status") == NO_ANSWER else 0
    streamed: list[bool] = []

    def emit(piece: str) -> None:
        streamed.append(True)
        sys.stdout.write(piece)
        sys.stdout.flush()

    result = engine.route(request, emit=emit, options=options)
    c = result.classification
    err(f"[{c.intent} {c.confidence:.2f} via {c.via} -> {result.task or 'none'}]")
    if streamed:
        if not result.output.endswith("\n"):
            sys.stdout.write("\n")
        extra = result.data.get("after_stream")
        if extra:
            sys.stdout.write(str(extra).rstrip("\n") + "\n")
    else:
        sys.stdout.write(result.output.rstrip("\n") + "\n")
    sys.stdout.flush()
    return NO_ANSWER_EXIT if result.status == NO_ANSWER else 0


def _route_dict(engine: Any, text: str, options: dict[str, Any]) -> dict[str, Any]:
    result = engine.route(text, options=options)
    out = result.to_dict()
    status = engine.router_status()
    if status.get("stale"):
        out["router"] = status
    return out


def classify(
    text: str | None = None,
    batch: Path | None = None,
    json_out: bool = False,
    *,
    call: CallOptions,
) -> int:
    """``enigma classify``: print the intent of a request (or of each batch line); the exit
    status (always 0: failures raise :class:`EnigmaError`)."""
    engine = state.engine(model_dirs=call.model_dirs)
    options = dict(call.options)
    if batch is not None:
        _run_batch(batch, lambda t: {"text": t, **engine.classify(t, options).to_dict()})
        return 0
    request = read_request(text)
    result = engine.classify(request, options)
    if json_out:
        print_json({"text": request, **result.to_dict()})
        return 0
    alternatives = ", ".join(f"{i} {c:.2f}" for i, c in result.alternatives)
    line = f"{result.intent}\t{result.confidence:.3f}\tvia {result.via}"
    sys.stdout.write(line + (f"\t(also: {alternatives})" if alternatives else "") + "\n")
    explain = result.details.get("explain") or {}
    for near in explain.get("nearest", []):  # a classifier's evidence (e.g. --explain)
        sys.stdout.write(f"  {near['similarity']:.3f}  {near['intent']:<12} {near['text']}\n")
    return 0


COMMANDS: dict[str, Callable[..., int]] = {"route": route, "classify": classify}
"""The commands the fast path may run, by name."""
