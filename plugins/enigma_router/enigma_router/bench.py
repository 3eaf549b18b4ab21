"""``enigma bench router``: our router vs TF-IDF+SVM/LogReg, tuned fastText and
all-MiniLM-L6-v2+LR, same data, same run.

For each benchmark (``<root>/<name>/{train,test}.jsonl``) it trains every system on train only
and reports test accuracy, macro-F1, training seconds, p50 single-query latency, batched
queries/s and model size (ours: at rejection budget 0, as the baselines never reject; p50 at the
model's own budget). The baselines are bench-only extras: scikit-learn in this venv, fastText
and MiniLM each in their own venv driven through a subprocess
(``bench/router/setup_baselines.sh``). A missing baseline is skipped with a one-line reason.
The out-of-scope sets are in ``bench_oos.py`` (same run from ``main``).
"""

from __future__ import annotations

import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from enigma_core.errors import EnigmaError

DATASETS = ("banking77", "hwu64", "snips")
TARGETS = {"banking77": 0.925, "hwu64": 0.895, "snips": 0.98}
LATENCY_QUERIES = 500
RUNNER = Path(__file__).with_name("fasttext_runner.py")


def repo_root() -> Path:
    """The source checkout this plugin runs from (``plugins/enigma_router/enigma_router``)."""
    return Path(__file__).resolve().parents[3]


def default_root() -> Path | None:
    """``<repo>/../shared/benchmarks`` (or ``./../shared/benchmarks``) when it exists."""
    for base in (repo_root(), Path.cwd()):
        candidate = base.parent / "shared" / "benchmarks"
        if candidate.is_dir():
            return candidate
    return None


def default_fasttext_python() -> Path:
    """Python of the fastText venv made by ``bench/router/setup_baselines.sh``."""
    return repo_root() / "bench" / ".venv-fasttext" / "bin" / "python"


def read_jsonl(path: Path) -> tuple[list[str], list[str]]:
    """Texts and intents of a benchmark file."""
    texts, intents = [], []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                texts.append(str(row["text"]))
                intents.append(str(row["intent"]))
            except (ValueError, KeyError, TypeError):
                raise EnigmaError(f'{path}:{n}: expected {{"text", "intent"}}') from None
    return texts, intents


def macro_f1(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Unweighted mean F1 over the gold labels."""
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, pred, strict=False))
        n_pred = sum(p == label for p in pred)
        n_gold = sum(g == label for g in gold)
        prec = tp / n_pred if n_pred else 0.0
        rec = tp / n_gold if n_gold else 0.0
        scores.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def p50_ms(fn: Callable[[str], Any], texts: Sequence[str]) -> float:
    """Median wall time of ``fn(text)`` over the first :data:`LATENCY_QUERIES` texts."""
    times = []
    for text in texts[:LATENCY_QUERIES]:
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def qps(fn: Callable[[list[str]], Any], texts: Sequence[str]) -> float:
    """Queries per second (wall clock) of one batched call over all texts."""
    start = time.perf_counter()
    fn(list(texts))
    return len(texts) / (time.perf_counter() - start)


def qps_cpu(fn: Callable[[list[str]], Any], texts: Sequence[str]) -> float:
    """Queries per CPU-second of this process for one batched call (robust to a busy machine)."""
    start = time.process_time()
    fn(list(texts))
    return len(texts) / max(time.process_time() - start, 1e-9)


def _row(
    system: str,
    gold: Sequence[str],
    pred: Sequence[str],
    confidence: Sequence[float] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One result row; ``confidence`` (probability of each prediction) adds the ECE."""
    from enigma_router.calibrate import expected_calibration_error

    correct = np.array([g == p for g, p in zip(gold, pred, strict=False)], dtype=np.float64)
    ece = None
    if confidence is not None:
        ece = expected_calibration_error(np.asarray(confidence, dtype=np.float64), correct)
    return {
        "system": system,
        "accuracy": float(correct.mean()),
        "macro_f1": macro_f1(gold, pred),
        "ece": ece,
        **extra,
    }


def bench_ours(
    train: Path, test: Path, work: Path, seed: int = 0, vectors: bool = True
) -> dict[str, Any]:
    """Train our router with the core loop on ``train`` (1 thread) and measure it on ``test``;
    ``vectors=False``: the from-scratch recipe (no static word vectors)."""
    from enigma_core.training.run import TrainArgs, run_training
    from enigma_router.inference import RouterModel
    from enigma_router.recipe import make_router_recipe
    from enigma_router.trainer import RouterSettings

    out = work / "ours"
    start, cpu_start = time.perf_counter(), time.process_time()
    run_training(
        make_router_recipe(None, settings=RouterSettings(vectors=vectors)),
        TrainArgs(
            out=out,
            data=(train,),
            progress=False,
            threads=1,
            seed=seed,
            checkpoint_every=0,
            checkpoint_seconds=0,
        ),
    )
    train_seconds = time.perf_counter() - start
    train_cpu = time.process_time() - cpu_start
    texts, gold = read_jsonl(test)
    model = RouterModel.load(out)  # fresh: cold per-word caches for the first figure

    def closed(batch: list[str]) -> list[Any]:  # no rejection: these test sets have no oos
        return model.classify_batch(batch, budget=0.0)

    start = time.perf_counter()
    results = closed(texts)
    cold = len(texts) / (time.perf_counter() - start)
    pred = [r[0] for r in results]
    confidence = [r[1] for r in results]
    batched = qps(closed, texts)
    cpu = qps_cpu(closed, texts)
    latency = p50_ms(RouterModel.load(out).classify, texts)
    size = sum((out / n).stat().st_size for n in ("model.safetensors", "config.json"))
    return _row(
        "enigma router (ours)" if vectors else "enigma router, from scratch",
        gold,
        pred,
        confidence,
        train_seconds=train_seconds,
        train_cpu_seconds=train_cpu,
        p50_ms=latency,
        batched_qps=batched,
        cold_qps=cold,
        cpu_qps=cpu,
        size_bytes=size,
        parameters=model.meta["router"]["parameters"],
    )


def bench_sklearn(train: Path, test: Path) -> list[dict[str, Any]]:
    """TF-IDF (word 1-2 + char_wb 2-5, sublinear) + LinearSVC and + LogisticRegression."""
    try:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.svm import LinearSVC
    except ImportError:
        return [
            {
                "system": "tfidf+svm / tfidf+logreg",
                "skipped": "scikit-learn not installed (bash bench/router/setup_baselines.sh)",
            }
        ]
    tr_texts, tr_gold = read_jsonl(train)
    texts, gold = read_jsonl(test)
    rows = []
    for name, clf in (
        ("tfidf+linear-svm", LinearSVC(C=1.0)),
        ("tfidf+logreg", LogisticRegression(C=20.0, max_iter=1000)),
    ):
        features = make_union(
            TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
        )
        pipe = make_pipeline(features, clf)
        start, cpu_start = time.perf_counter(), time.process_time()
        pipe.fit(tr_texts, tr_gold)
        train_seconds = time.perf_counter() - start
        train_cpu = time.process_time() - cpu_start
        qps(pipe.predict, texts)
        batched = qps(pipe.predict, texts)
        cpu = qps_cpu(pipe.predict, texts)
        pred = list(pipe.predict(texts))
        confidence = None
        if hasattr(clf, "predict_proba"):  # LinearSVC has no probabilities: no ECE
            confidence = pipe.predict_proba(texts).max(axis=1)
        latency = p50_ms(lambda t, p=pipe: p.predict([t]), texts)
        size = len(pickle.dumps(pipe))  # size measure only; nothing is ever unpickled
        rows.append(
            _row(
                name,
                gold,
                pred,
                confidence,
                train_seconds=train_seconds,
                train_cpu_seconds=train_cpu,
                p50_ms=latency,
                batched_qps=batched,
                cpu_qps=cpu,
                size_bytes=size,
            )
        )
    return rows


def bench_fasttext(train: Path, test: Path, python: Path) -> dict[str, Any]:
    """Tuned fastText through its own venv's python (skipped when that venv is missing)."""
    if not Path(python).is_file():
        return {
            "system": "fasttext (tuned)",
            "skipped": f"{python} not found (bash bench/router/setup_baselines.sh)",
        }
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [str(python), str(RUNNER), str(train), str(test)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"system": "fasttext (tuned)", "skipped": f"fastText run failed: {tail}"}
    data = json.loads(proc.stdout)
    _, gold = read_jsonl(test)
    return _row(
        "fasttext (tuned)",
        gold,
        data["predictions"],
        data.get("confidences"),
        train_seconds=data["train_seconds"],
        train_cpu_seconds=data.get("train_cpu_seconds"),
        tune_seconds=data["tune_seconds"],
        p50_ms=data["p50_ms"],
        batched_qps=data["batched_qps"],
        cpu_qps=data.get("cpu_qps"),
        size_bytes=data["size_bytes"],
        params=data["params"],
    )


def bench_minilm(train: Path, test: Path, python: Path | None = None) -> dict[str, Any]:
    """all-MiniLM-L6-v2 embeddings + LR through its own venv (skipped when that is missing)."""
    from enigma_router.bench_oos import default_minilm_python, run_minilm

    system = "minilm+logreg"
    data = run_minilm(python or default_minilm_python(), train, test)
    if isinstance(data, str):
        return {"system": system, "skipped": data}
    _, gold = read_jsonl(test)
    return _row(
        system,
        gold,
        data["predictions"],
        data.get("confidences"),
        train_seconds=data["train_seconds"],
        train_cpu_seconds=data.get("train_cpu_seconds"),
        p50_ms=data["p50_ms"],
        batched_qps=data["batched_qps"],
        size_bytes=data["size_bytes"],
    )


def run_bench(
    root: Path | None = None,
    datasets: Sequence[str] = DATASETS,
    fasttext_python: Path | None = None,
    baselines: bool = True,
    log: Callable[[str], None] | None = None,
    minilm_python: Path | None = None,
    from_scratch: bool = False,
    seeds: Sequence[int] = (0,),
) -> dict[str, list[dict[str, Any]]]:
    """Every system on every dataset; ``{dataset: [row, ...]}`` (a row may be ``skipped``).
    ``from_scratch`` adds our router without the static word vectors; ``seeds`` trains ours
    once per seed (one row each, the seed in its name when more than one)."""
    root = root or default_root()
    if root is None or not Path(root).is_dir():
        raise EnigmaError("benchmarks not found: give --root DIR (expected ../shared/benchmarks)")
    results: dict[str, list[dict[str, Any]]] = {}
    say = log or (lambda _m: None)
    for name in datasets:
        train, test = Path(root) / name / "train.jsonl", Path(root) / name / "test.jsonl"
        if not train.is_file() or not test.is_file():
            raise EnigmaError(f"{Path(root) / name}: train.jsonl/test.jsonl not found")
        rows = []
        for vectors in (True, False) if from_scratch else (True,):
            for seed in seeds:
                with tempfile.TemporaryDirectory(prefix=f"enigma-bench-{name}-") as tmp:
                    say(f"{name}: training enigma router (seed {seed}, vectors {vectors})")
                    row = bench_ours(train, test, Path(tmp), seed, vectors)
                if len(seeds) > 1:
                    row["system"] += f" seed {seed}"
                rows.append(row)
        if baselines:
            say(f"{name}: scikit-learn baselines")
            rows.extend(bench_sklearn(train, test))
            say(f"{name}: fastText baseline")
            rows.append(bench_fasttext(train, test, fasttext_python or default_fasttext_python()))
            say(f"{name}: all-MiniLM-L6-v2 + logreg baseline")
            rows.append(bench_minilm(train, test, minilm_python))
        results[name] = rows
    return results


def _cpu(row: dict[str, Any]) -> str:
    value = row.get("train_cpu_seconds")
    return "-" if value is None else f"{value:.1f}"


def _ece(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def format_table(results: dict[str, list[dict[str, Any]]]) -> str:
    """A Markdown table of the results (skipped rows say why)."""
    head = (
        "| dataset | system | accuracy | macro-F1 | ECE | train s (CPU s) | p50 ms | batched q/s "
        "| q/CPU-s | cold q/s | size |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    lines = [head]
    for name, rows in results.items():
        for r in rows:
            if "skipped" in r:
                skip = f"| {name} | {r['system']} | skipped: {r['skipped']} |"
                lines.append(skip + " |" * 8)
                continue
            lines.append(
                f"| {name} | {r['system']} | {100 * r['accuracy']:.2f} | "
                f"{100 * r['macro_f1']:.2f} | {_ece(r.get('ece'))} | "
                f"{r['train_seconds']:.1f} ({_cpu(r)}) | "
                f"{r['p50_ms']:.3f} | "
                f"{r['batched_qps']:,.0f} | {_num(r.get('cpu_qps'))} | {_num(r.get('cold_qps'))} | "
                f"{r['size_bytes'] / 1e6:.1f} MB |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Script entry (``bench/router/run.py``): ``[--root DIR] [--json] [--only NAME ...]``;
    the in-scope sets and the out-of-scope sets (``bench_oos.py``) in one run."""
    import argparse

    from enigma_router.bench_oos import OOS_DATASETS, format_oos_table, run_oos_bench

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=None)
    ap.add_argument("--only", nargs="*", default=[*DATASETS, *OOS_DATASETS])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--fasttext-python", type=Path, default=None)
    ap.add_argument("--minilm-python", type=Path, default=None)
    ap.add_argument("--oos-budget", type=float, default=None)
    ap.add_argument(
        "--from-scratch",
        action="store_true",
        help="also our router without the static word vectors (the from-scratch recipe)",
    )
    ap.add_argument(
        "--seeds",
        nargs="+",
        type=int,
        default=[0],
        help="seeds of our router on the in-scope sets (the oos sets train seed 0; "
        "bench/router/oos_scores.py --seeds gives those per seed)",
    )
    args = ap.parse_args(argv)
    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    closed = [n for n in args.only if n not in OOS_DATASETS]
    open_sets = [n for n in args.only if n in OOS_DATASETS]
    if open_sets and args.seeds != [0]:
        say(f"note: --seeds applies to the in-scope sets; {', '.join(open_sets)} train seed 0")
    try:
        results = run_bench(
            args.root,
            closed,
            args.fasttext_python,
            not args.no_baselines,
            log=say,
            minilm_python=args.minilm_python,
            from_scratch=args.from_scratch,
            seeds=args.seeds,
        )
        oos = (
            run_oos_bench(
                args.root or default_root() or Path("."),
                open_sets,
                args.oos_budget,
                not args.no_baselines,
                args.minilm_python,
                log=say,
                from_scratch=args.from_scratch,
            )
            if open_sets
            else {}
        )
    except EnigmaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        for rows in results.values():
            for r in rows:
                r.pop("predictions", None)
        print(json.dumps({**results, **oos}, indent=2))
    else:
        print(format_table(results) if results else "")
        if oos:
            print("\n" + format_oos_table(oos))
    return 0
