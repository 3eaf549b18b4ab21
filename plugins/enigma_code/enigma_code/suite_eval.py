"""The suite figures of ``enigma eval code``: what a user would have been shown, per suite part.

Each task gets one verified answer (:func:`enigma_code.answer.verified_code`, the same path as
``enigma route``). Shown answers run against the task's unit tests in the sandbox. Reported per
part (``tune``, ``report``): pass@1 (shown and passing / tasks), answers shown as correct that
fail their tests, no-answer count, unparseable answers shown, failed drafts printed, and the
median time to a verified answer.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from enigma_code.answer import DEFAULT_DRAFTS, VerifiedAnswer, check_all
from enigma_code.candidates import Library
from enigma_code.generate import CodeModel, CodeOptions, syntax_error
from enigma_code.sandbox import DEFAULT_TIMEOUT_S, run_candidate
from enigma_code.sandbox_isolation import Isolation
from enigma_code.suite import PARTS, CodeTask


def suite_report(
    model: CodeModel,
    tasks: Sequence[CodeTask],
    options: CodeOptions,
    iso: Isolation,
    drafts: int = DEFAULT_DRAFTS,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[int, int], None] | None = None,
    library: Library | None = None,
    retrieved: int = 0,
) -> dict[str, Any]:
    """Every suite figure as a JSON-ready dict; ``pass_at_1`` is the report-only part's.

    Each task's drafts are sampled and checked once; the answer shown (model drafts plus
    ``retrieved`` library functions) and the model-only answer are both judged, so the
    ``model_only`` figures are a same-run baseline."""
    rows: list[dict[str, Any]] = []
    base_rows: list[dict[str, Any]] = []
    for i, task in enumerate(tasks):
        checked = check_all(model, task.prompt, iso, options, drafts, library, retrieved)
        answer = checked.answer(use_retrieved=True)
        rows.append(_judge(task, answer, iso, timeout))
        if library is not None:
            base_rows.append(_judge(task, checked.answer(use_retrieved=False), iso, timeout))
        if progress:
            progress(i + 1, len(tasks))
    parts = {part: _figures([r for r in rows if r["part"] == part]) for part in PARTS}
    report = parts["report"] if parts["report"]["tasks"] else parts["tune"]
    out: dict[str, Any] = {
        "tasks": len(tasks),
        "pass_at_1": report["pass_at_1"],
        "shown_wrong_share": report["shown_wrong_share"],
        "parts": parts,
        "passed": [r["id"] for r in rows if r["outcome"] == "passed"],
        "shown_wrong": [r["id"] for r in rows if r["shown"] and r["outcome"] != "passed"],
        "shown_retrieved": [r["id"] for r in rows if r.get("retrieved")],
        "outcomes": dict(sorted(Counter(r["outcome"] for r in rows).items())),
        "drafts": drafts,
        "retrieved": retrieved if library is not None else 0,
        "library_size": len(library.items) if library is not None else 0,
        "isolation": iso.name,
        "sandbox_python": iso.python,
    }
    if base_rows:
        out["model_only"] = {
            part: _figures([r for r in base_rows if r["part"] == part]) for part in PARTS
        }
    return out


def _judge(
    task: CodeTask, answer: VerifiedAnswer, iso: Isolation, timeout: float
) -> dict[str, Any]:
    """One task's row: shown or not, and the shown code's outcome against the task's tests."""
    row: dict[str, Any] = {
        "id": task.id,
        "part": task.part,
        "shown": answer.verified,
        "seconds": answer.seconds,
        "agreement": answer.agreement,
    }
    if answer.verified:
        result = run_candidate(answer.output, task.tests, task.entry, timeout, isolation=iso)
        row["outcome"] = result.status
        row["unparseable"] = syntax_error(answer.output) is not None
        if answer.borrowed is not None:
            row["retrieved"] = f"{answer.borrowed.module}.{answer.borrowed.name}"
    else:
        row["outcome"] = "no_answer"
        row["failed_draft_printed"] = "def " in answer.output
    return row


def _figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one part."""
    n = len(rows)
    shown = [r for r in rows if r["shown"]]
    passed = sum(r["outcome"] == "passed" for r in shown)
    wrong = len(shown) - passed
    verified_times = [r["seconds"] for r in shown]
    return {
        "tasks": n,
        "pass_at_1": round(passed / n, 4) if n else 0.0,
        "shown": len(shown),
        "shown_wrong": wrong,
        "shown_wrong_share": round(wrong / len(shown), 4) if shown else 0.0,
        "shown_wrong_of_tasks": round(wrong / n, 4) if n else 0.0,
        "no_answer": n - len(shown),
        "unparseable_shown": sum(bool(r.get("unparseable")) for r in shown),
        "failed_drafts_printed": sum(bool(r.get("failed_draft_printed")) for r in rows),
        "median_seconds_verified": round(statistics.median(verified_times), 3)
        if verified_times
        else None,
        "median_seconds_all": round(statistics.median(r["seconds"] for r in rows), 3)
        if rows
        else None,
    }
