"""``enigma route`` and ``enigma classify``: single requests or a batch file of them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from enigma_core.cli import state
from enigma_core.cli.common import JsonOpt, err, print_json, read_batch, read_request
from enigma_core.cli.task_options import CallOptions
from enigma_core.errors import EnigmaError

NO_ANSWER = "no_answer"
NO_ANSWER_EXIT = 3
"""Exit status of ``enigma route`` when the task found no answer it stands behind."""

TextArg = Annotated[
    str | None, typer.Argument(help="The request; '-' reads it from stdin.", show_default=False)
]
BatchOpt = Annotated[
    Path | None,
    typer.Option("--batch", help="Route every line of FILE; prints one JSON line per input line."),
]


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
    text: TextArg = None,
    batch: BatchOpt = None,
    show_sources: Annotated[
        bool, typer.Option("--show-sources", help="Ask the task to cite its sources.")
    ] = False,
    json_out: JsonOpt = False,
    *,
    call: CallOptions,
) -> None:
    """Classify a request, hand it to the specialist that owns it, and print the answer.

    A request that starts with '-' works as it is ("-40 C to F") or after '--'.
    Exit status 3: the task answered but could not stand behind an answer (no_answer).
    """
    engine = state.engine(model_dirs=call.model_dirs)
    options = {"show_sources": show_sources, **call.options}
    if batch is not None:
        _run_batch(batch, lambda t: _route_dict(engine, t, options))
        return
    request = read_request(text)
    if json_out:
        out = _route_dict(engine, request, options)
        print_json(out)
        if out.get("status") == NO_ANSWER:
            raise typer.Exit(NO_ANSWER_EXIT)
        return
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
    if result.status == NO_ANSWER:
        raise typer.Exit(NO_ANSWER_EXIT)


def _route_dict(engine: Any, text: str, options: dict[str, Any]) -> dict[str, Any]:
    result = engine.route(text, options=options)
    out = result.to_dict()
    status = engine.router_status()
    if status.get("stale"):
        out["router"] = status
    return out


def classify(
    text: TextArg = None,
    batch: BatchOpt = None,
    json_out: JsonOpt = False,
    *,
    call: CallOptions,
) -> None:
    """Say which intent a request has (and how sure), without running any task."""
    engine = state.engine(model_dirs=call.model_dirs)
    options = dict(call.options)
    if batch is not None:
        _run_batch(batch, lambda t: {"text": t, **engine.classify(t, options).to_dict()})
        return
    request = read_request(text)
    result = engine.classify(request, options)
    if json_out:
        print_json({"text": request, **result.to_dict()})
        return
    alternatives = ", ".join(f"{i} {c:.2f}" for i, c in result.alternatives)
    line = f"{result.intent}\t{result.confidence:.3f}\tvia {result.via}"
    sys.stdout.write(line + (f"\t(also: {alternatives})" if alternatives else "") + "\n")
    explain = result.details.get("explain") or {}
    for near in explain.get("nearest", []):  # a classifier's evidence (e.g. --explain)
        sys.stdout.write(f"  {near['similarity']:.3f}  {near['intent']:<12} {near['text']}\n")
