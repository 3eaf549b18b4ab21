"""Out-of-scope bench: our router vs TF-IDF+LR vs all-MiniLM-L6-v2+LR on banking77-oos/hwu64-oos.

Same splits for every system: train on ``train.jsonl`` (no ``oos`` in it), choose the rejection
threshold on ``valid.jsonl`` only (at most ``budget`` of its in-scope requests rejected; ours
reads it off the curve it stored at training), score ``test.jsonl``, whose ``oos`` requests come
from intents validation never saw. Each row: in-scope accuracy (a rejected in-scope request is
wrong), oos recall, AUROC and FPR@95TPR of the system's unknown score, the share of in-scope
requests rejected on ``valid`` (where the budget was set) and on ``test`` (how that threshold
carries over: same rule for every system), train seconds and p50 latency. The baselines score
"unknown" as 1 - max probability (their natural threshold).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

OOS_DATASETS = ("banking77-oos", "hwu64-oos")
MINILM_RUNNER = Path(__file__).with_name("minilm_runner.py")


def oos_row(
    system: str,
    gold: Sequence[str],
    pred: Sequence[str],
    unknown: Sequence[float],
    **extra: Any,
) -> dict[str, Any]:
    """In-scope accuracy, oos recall, AUROC and FPR@95TPR of one system's test predictions."""
    from enigma_router.evaluate import auroc, fpr_at_tpr

    g, p, u = np.asarray(gold), np.asarray(pred), np.asarray(unknown, dtype=np.float64)
    ins = g != "oos"
    return {
        "system": system,
        "in_scope_accuracy": float((p[ins] == g[ins]).mean()),
        "oos_recall": float((p[~ins] == "oos").mean()),
        "in_scope_rejected": float((p[ins] == "oos").mean()),
        "auroc": auroc(u[~ins], u[ins]),
        "fpr_at_95_tpr": fpr_at_tpr(u[~ins], u[ins]),
        **extra,
    }


def bench_ours_oos(
    root: Path, budget: float | None, work: Path, seed: int = 0, vectors: bool = True
) -> dict[str, Any]:
    """Train with ``--valid valid.jsonl`` (its oos requests only measure the curve) and score;
    ``vectors=False``: the from-scratch recipe (no static word vectors)."""
    from enigma_core.training.run import TrainArgs, run_training
    from enigma_router.bench import p50_ms, read_jsonl
    from enigma_router.evaluate import unknown_scores
    from enigma_router.inference import RouterModel
    from enigma_router.recipe import make_router_recipe
    from enigma_router.trainer import RouterSettings
    from enigma_router.unknown import point_at

    recipe = make_router_recipe(None, settings=RouterSettings(vectors=vectors))
    if budget is not None:
        recipe.options["oos_budget"] = budget
    out = work / "ours"
    start, cpu = time.perf_counter(), time.process_time()
    run_training(
        recipe,
        TrainArgs(
            out=out,
            data=(root / "train.jsonl",),
            valid=root / "valid.jsonl",
            progress=False,
            threads=1,
            seed=seed,
            checkpoint_every=0,
            checkpoint_seconds=0,
        ),
    )
    train_seconds, train_cpu = time.perf_counter() - start, time.process_time() - cpu
    texts, gold = read_jsonl(root / "test.jsonl")
    model = RouterModel.load(out)
    pred = [r[0] for r in model.classify_batch(texts, top_k=1)]
    at = point_at(model.calibration.curve, model.calibration.oos_budget or 0.0)
    return oos_row(
        "enigma router (ours)" if vectors else "enigma router, from scratch",
        gold,
        pred,
        unknown_scores(model, texts),
        budget=model.calibration.oos_budget,
        valid_rejected=None if at is None else float(at["in_scope_rejected"]),
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu,
        p50_ms=p50_ms(RouterModel.load(out).classify, texts),
    )


def bench_tfidf_oos(root: Path, budget: float) -> dict[str, Any]:
    """TF-IDF (word 1-2 + char_wb 2-5) + LogisticRegression, max-probability threshold."""
    from enigma_router.bench import p50_ms, read_jsonl
    from enigma_router.unknown import threshold_at

    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union
    except ImportError:
        return {"system": "tfidf+logreg", "skipped": "scikit-learn not installed"}
    tr_texts, tr_gold = read_jsonl(root / "train.jsonl")
    va_texts, va_gold = read_jsonl(root / "valid.jsonl")
    texts, gold = read_jsonl(root / "test.jsonl")
    pipe = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        ),
        LogisticRegression(C=20.0, max_iter=1000),
    )
    start, cpu = time.perf_counter(), time.process_time()
    pipe.fit(tr_texts, tr_gold)
    train_seconds, train_cpu = time.perf_counter() - start, time.process_time() - cpu
    va_in = [t for t, g in zip(va_texts, va_gold, strict=True) if g != "oos"]
    va_unknown = 1.0 - pipe.predict_proba(va_in).max(axis=1)
    limit = threshold_at(va_unknown, budget)
    probs = pipe.predict_proba(texts)
    unknown = 1.0 - probs.max(axis=1)
    best = pipe.classes_[probs.argmax(axis=1)]
    pred = ["oos" if u > limit else str(b) for b, u in zip(best, unknown, strict=True)]
    return oos_row(
        "tfidf+logreg",
        gold,
        pred,
        unknown,
        budget=budget,
        valid_rejected=float((va_unknown > limit).mean()) if len(va_in) else 0.0,
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu,
        p50_ms=p50_ms(lambda t: pipe.predict_proba([t]), texts),
    )


def run_minilm(
    python: Path, train: Path, test: Path, valid: Path | None = None, budget: float = 0.0
) -> dict[str, Any] | str:
    """The MiniLM runner's JSON, or a one-line reason it could not run."""
    if not Path(python).is_file():
        return f"{python} not found (bash bench/router/setup_baselines.sh)"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    args = [str(python), str(MINILM_RUNNER), str(train), str(test)]
    if valid is not None:
        args += [str(valid), str(budget)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"MiniLM run failed: {tail}"
    return json.loads(proc.stdout)


def bench_minilm_oos(root: Path, budget: float, python: Path) -> dict[str, Any]:
    """all-MiniLM-L6-v2 + LR in its own venv, max-probability threshold."""
    from enigma_router.bench import read_jsonl

    system = "minilm+logreg"
    data = run_minilm(
        python, root / "train.jsonl", root / "test.jsonl", root / "valid.jsonl", budget
    )
    if isinstance(data, str):
        return {"system": system, "skipped": data}
    _, gold = read_jsonl(root / "test.jsonl")
    return oos_row(
        system,
        gold,
        data["predictions"],
        data["unknown"],
        budget=budget,
        valid_rejected=data.get("valid_rejected"),
        train_seconds=data["train_seconds"],
        train_cpu_seconds=data["train_cpu_seconds"],
        p50_ms=data["p50_ms"],
    )


def default_minilm_python() -> Path:
    """Python of the MiniLM venv made by ``bench/router/setup_baselines.sh``."""
    from enigma_router.bench import repo_root

    return repo_root() / "bench" / ".venv-minilm" / "bin" / "python"


def run_oos_bench(
    root: Path,
    datasets: Sequence[str] = OOS_DATASETS,
    budget: float | None = None,
    baselines: bool = True,
    minilm_python: Path | None = None,
    log: Callable[[str], None] | None = None,
    from_scratch: bool = False,
) -> dict[str, list[dict[str, Any]]]:
    """Every system on every oos set at one budget (None: our default, used for all);
    ``from_scratch`` adds our router without the static word vectors."""
    from enigma_router.unknown import DEFAULT_BUDGET

    say = log or (lambda _m: None)
    used = DEFAULT_BUDGET if budget is None else budget
    results: dict[str, list[dict[str, Any]]] = {}
    for name in datasets:
        folder = Path(root) / name
        rows = []
        with tempfile.TemporaryDirectory(prefix=f"enigma-bench-{name}-") as tmp:
            say(f"{name}: training enigma router (oos budget {used:g})")
            rows.append(bench_ours_oos(folder, used, Path(tmp)))
        if from_scratch:
            with tempfile.TemporaryDirectory(prefix=f"enigma-bench-{name}-") as tmp:
                say(f"{name}: training enigma router from scratch (no word vectors)")
                rows.append(bench_ours_oos(folder, used, Path(tmp), vectors=False))
        if baselines:
            say(f"{name}: tfidf+logreg")
            rows.append(bench_tfidf_oos(folder, used))
            say(f"{name}: all-MiniLM-L6-v2 + logreg")
            rows.append(bench_minilm_oos(folder, used, minilm_python or default_minilm_python()))
        results[name] = rows
    return results


def format_oos_table(results: dict[str, list[dict[str, Any]]]) -> str:
    """Markdown table of the oos bench (skipped rows say why)."""
    lines = [
        "| dataset | system | budget | in-scope acc | oos recall | AUROC | FPR@95TPR "
        "| in-scope rejected valid / test | train s (CPU s) | p50 ms |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rows in results.items():
        for r in rows:
            if "skipped" in r:
                lines.append(f"| {name} | {r['system']} | skipped: {r['skipped']} |" + " |" * 7)
                continue
            lines.append(
                f"| {name} | {r['system']} | {r['budget']:g} | {100 * r['in_scope_accuracy']:.2f} "
                f"| {100 * r['oos_recall']:.2f} | {r['auroc']:.4f} | {r['fpr_at_95_tpr']:.4f} "
                f"| {_share(r.get('valid_rejected'))} / {100 * r['in_scope_rejected']:.2f} "
                f"| {r['train_seconds']:.1f} "
                f"({r['train_cpu_seconds']:.1f}) | {r['p50_ms']:.3f} |"
            )
    return "\n".join(lines)


def _share(value: float | None) -> str:
    """A share as a percentage with two decimals, ``-`` when unknown."""
    return "-" if value is None else f"{100 * value:.2f}"
