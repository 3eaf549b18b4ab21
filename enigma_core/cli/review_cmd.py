"""``enigma review``: the decisions worth a person's look, and labelling them.

Listed: out-of-scope answers, keyword/default fallbacks, low confidence and close calls that
nobody labelled yet. ``enigma review label ID INTENT`` (or ``--interactive``) stores a label in
the log and in ``ENIGMA_HOME/data/router_feedback.jsonl``, which the next
``enigma train router`` learns from.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from enigma_core.cli import state
from enigma_core.cli.common import print_json
from enigma_core.commands import JsonOpt
from enigma_core.errors import EnigmaError

app = typer.Typer(help="Review uncertain routing decisions and label them.")


def _valid_labels() -> list[str]:
    from enigma_core.catalog import KNOWN_INTENTS

    installed = state.engine().installed_intents()
    return sorted({*installed, *KNOWN_INTENTS, "oos"})


def _check_label(intent: str) -> str:
    labels = _valid_labels()
    if intent not in labels:
        raise EnigmaError(f"unknown intent {intent!r}; one of: {', '.join(labels)}")
    return intent


def _label(decision_id: int, intent: str) -> str:
    from enigma_core.decisions.logger import log_path
    from enigma_core.decisions.query import get, open_log, set_label
    from enigma_core.feedback import append_label

    conn = open_log(log_path())
    decision = get(conn, decision_id)
    path = append_label(decision.text, _check_label(intent), decision_id)
    set_label(conn, decision_id, intent)
    return str(path)


@app.callback(invoke_without_command=True)
def review(
    ctx: typer.Context,
    count: Annotated[int, typer.Option("-n", "--count", min=1, help="How many at most.")] = 20,
    interactive: Annotated[
        bool,
        typer.Option(
            "--interactive", "-i", help="Ask for a label for each (Enter skips, q stops)."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """List unlabelled decisions worth a look (oos, fallback, low confidence, close calls)."""
    if ctx.invoked_subcommand is not None:
        return
    from enigma_core.decisions.logger import log_path
    from enigma_core.decisions.query import LogFilter, open_log, review_reason, select

    found = select(open_log(log_path()), LogFilter(limit=count, review=True))
    if json_out:
        print_json([{**d.to_dict(), "reason": review_reason(d)} for d in found])
        return
    if not found:
        sys.stdout.write("nothing to review\n")
        return
    labels = ", ".join(_valid_labels()) if interactive else ""
    labelled = 0
    for d in found:
        text = d.text if d.text is not None else f"sha256:{d.text_sha256[:12]}"
        sys.stdout.write(
            f"#{d.id}  {d.intent} {d.confidence:.2f} via {d.via}  ({review_reason(d)})  {text!r}\n"
        )
        if not interactive:
            continue
        sys.stdout.write(f"  label [{labels}; Enter skips, q stops]: ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer or answer.strip() == "q":
            break
        if answer.strip():
            try:
                _label(d.id or 0, answer.strip())
                labelled += 1
            except EnigmaError as exc:
                sys.stdout.write(f"  not labelled: {exc}\n")
    if interactive:
        sys.stdout.write(f"labelled {labelled}; `enigma train router` will learn from them\n")


@app.command("label")
def label(
    decision_id: Annotated[int, typer.Argument(help="The decision's id (from enigma review).")],
    intent: Annotated[str, typer.Argument(help="The intent it should have had.")],
) -> None:
    """Label one decision; it joins the router's feedback data."""
    path = _label(decision_id, intent)
    sys.stdout.write(f"#{decision_id} labelled {intent} (added to {path})\n")
