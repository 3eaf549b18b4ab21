"""CLI commands of the router plugin: ``enigma eval router`` and ``enigma bench router``.

Registered by ``plugin.py`` through ``enigma_register_commands``:
``groups.eval.command("router")(eval_router)`` and ``groups.bench.command("router")(bench_router)``.
Heavy imports (numpy model, matplotlib, scikit-learn, torch) happen inside the commands.
"""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer


def eval_router(
    model: Annotated[Path, typer.Option("--model", help="Trained router directory.")],
    data: Annotated[Path, typer.Option("--data", help="Labelled file (router Q/A or JSONL).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    report: Annotated[
        Optional[Path],  # noqa: UP045 (typer needs Optional on 3.10)
        typer.Option("--report", help="Write confusion.png, confidence_hist.png, errors.jsonl."),
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
) -> None:
    """Evaluate a router model: accuracy, macro-F1, per-intent P/R/F1, OOS recall, ECE."""
    from enigma_router.evaluate import evaluate_file, summary_lines, write_predictions
    from enigma_router.evaluate import write_report as write_report_dir
    from enigma_router.inference import RouterModel

    router = RouterModel.load(model, threshold=threshold, margin=margin)
    result, preds = evaluate_file(router, data)
    if predictions is not None:
        write_predictions(predictions, preds)
        result["predictions_file"] = str(predictions)
    if report is not None:
        files = write_report_dir(report, result, preds)
        result["report_files"] = [str(f) for f in files]
    if as_json:
        typer.echo(json.dumps(result, indent=2))
        return
    for line in summary_lines(result):
        typer.echo(line)
    for key in ("predictions_file", "report_files"):
        if key in result:
            typer.echo(f"{key.replace('_', ' ')}: {result[key]}")


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
    """Benchmark the router against TF-IDF+SVM/LogReg and tuned fastText (same data, same run)."""
    if process:
        from enigma_router.bench_process import format_process, whole_process

        figures = whole_process()
        typer.echo(json.dumps(figures, indent=2) if as_json else format_process(figures))
        return
    from enigma_router.bench import DATASETS, format_table, run_bench

    try:
        from threadpoolctl import threadpool_limits

        one_thread: Any = threadpool_limits(1)
    except ImportError:  # numpy's BLAS may then use more than one thread
        one_thread = contextlib.nullcontext()
    with one_thread:
        results = run_bench(
            root,
            only or list(DATASETS),
            fasttext_python,
            not no_baselines,
            log=lambda m: print(m, file=sys.stderr, flush=True),
        )
    if as_json:
        for rows in results.values():
            for r in rows:
                r.pop("predictions", None)
        typer.echo(json.dumps(results, indent=2))
    else:
        typer.echo(format_table(results))
