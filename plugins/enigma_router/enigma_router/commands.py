"""CLI commands of the router plugin: ``enigma eval router`` (with ``--compare``: the route-diff
gate) and ``enigma bench router``.

Registered by ``plugin.py`` through ``enigma_register_commands``:
``groups.eval.command("router")(eval_router)`` and ``groups.bench.command("router")(bench_router)``.
Heavy imports (numpy model, matplotlib, scikit-learn, torch) happen inside the commands.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer


def eval_router(
    model: Annotated[Path, typer.Option("--model", help="Trained router directory.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled file (router Q/A or JSONL).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    report: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional on 3.10)
        typer.Option(
            "--report",
            help="Write confusion.png, confidence_hist.png, errors.jsonl (+ tradeoff.png "
            "on data with oos).",
        ),
    ] = None,
    predictions: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--predictions", help="Write one JSON line per example."),
    ] = None,
    threshold: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--threshold", min=0.0, max=1.0, help="Override the calibrated confidence threshold."
        ),
    ] = None,
    margin: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--margin", min=0.0, max=1.0, help="Override the calibrated top-2 margin."),
    ] = None,
    oos_budget: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option(
            "--oos-budget", min=0.0, max=1.0, help="Rejection budget (default: the model's)."
        ),
    ] = None,
    compare: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--compare", help="Route-diff against router B: every changed route."),
    ] = None,
    max_drop: Annotated[
        float,
        typer.Option("--max-drop", min=0.0, help="With --compare: fail when B loses more points."),
    ] = 0.0,
) -> None:
    """Evaluate a router: accuracy, macro-F1, per-intent P/R/F1, ECE; with oos: in-scope
    accuracy, oos recall, AUROC, FPR@95TPR. --compare B: route-diff gate (exit 1 on a drop)."""
    from enigma_router.evaluate import evaluate_file, summary_lines, write_predictions
    from enigma_router.evaluate import write_report as write_report_dir
    from enigma_router.inference import RouterModel

    router = RouterModel.load(model, threshold=threshold, margin=margin)
    result, preds = evaluate_file(router, data, oos_budget)
    if compare is not None:
        _compare(router, preds, compare, data, oos_budget, max_drop, as_json, threshold, margin)
        return
    if predictions is not None:
        write_predictions(predictions, preds)
        result["predictions_file"] = str(predictions)
    if report is not None:
        files = write_report_dir(report, result, preds, router.calibration.curve)
        result["report_files"] = [str(f) for f in files]
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for line in summary_lines(result):
        typer.echo(line)
    for key in ("predictions_file", "report_files"):
        if key in result:
            typer.echo(f"{key.replace('_', ' ')}: {result[key]}")


def _compare(
    router_a: Any,
    preds_a: Any,
    model_b: Path,
    data: Path,
    budget: float | None,
    max_drop: float,
    as_json: bool,
    threshold: float | None,
    margin: float | None,
) -> None:
    """``--compare``: print the route-diff of A -> B; exit 1 when the gate fails."""
    from enigma_router.evaluate import evaluate_file
    from enigma_router.inference import RouterModel
    from enigma_router.routediff import diff_lines, route_diff

    router_b = RouterModel.load(model_b, threshold=threshold, margin=margin)
    _, preds_b = evaluate_file(router_b, data, budget)
    diff = route_diff(preds_a, preds_b, max_drop)
    diff["a"], diff["b"], diff["data"] = router_a.meta.get("model_id"), str(model_b), str(data)
    if as_json:
        typer.echo(json.dumps(diff, indent=2))
    else:
        for line in diff_lines(diff):
            typer.echo(line)
    if not diff["passed"]:
        raise typer.Exit(1)


def bench_router(
    root: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--root", help="Benchmarks directory (default ../shared/benchmarks)."),
    ] = None,
    only: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--only", help="Dataset name(s) to run (repeatable)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON.")] = False,
    no_baselines: Annotated[bool, typer.Option("--no-baselines", help="Only our router.")] = False,
    fasttext_python: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--fasttext-python", help="Python of the fastText venv."),
    ] = None,
    process: Annotated[
        bool,
        typer.Option(
            "--process",
            help="Only whole-process timings: classify vs import numpy, load, train (1 thread).",
        ),
    ] = False,
) -> None:
    """Benchmark the router against TF-IDF+SVM/LogReg, tuned fastText and MiniLM+LR, and on the
    out-of-scope sets (same data, same run)."""
    if process:
        from enigma_router.bench_process import format_process, whole_process

        figures = whole_process()
        typer.echo(json.dumps(figures, indent=2) if as_json else format_process(figures))
        return
    from enigma_router.bench import main

    argv = [*(["--root", str(root)] if root else []), *(["--json"] if as_json else [])]
    argv += [*(["--only", *only] if only else []), *(["--no-baselines"] if no_baselines else [])]
    argv += ["--fasttext-python", str(fasttext_python)] if fasttext_python else []
    try:
        from threadpoolctl import threadpool_limits

        one_thread: Any = threadpool_limits(1)
    except ImportError:  # numpy's BLAS may then use more than one thread
        one_thread = contextlib.nullcontext()
    with one_thread:
        code = main(argv)
    if code:
        raise typer.Exit(code)
