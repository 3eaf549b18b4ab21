"""fastText baseline for the router bench, run by the *fastText venv's* python in a subprocess.

Standalone on purpose (imports only fasttext, numpy<2 and the stdlib): ``fasttext-wheel``
breaks under numpy 2, so it lives in its own venv (``bench/router/setup_baselines.sh``).
Usage: ``python fasttext_runner.py TRAIN.jsonl TEST.jsonl`` -> one JSON object on stdout.
"Tuned": a small grid is scored on 10% of train, then the best is retrained on all of train.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import tempfile
import time

import fasttext

GRID = [
    {"epoch": 25, "lr": 0.5, "wordNgrams": 2, "dim": 100, "minn": 0, "maxn": 0},
    {"epoch": 50, "lr": 0.5, "wordNgrams": 2, "dim": 100, "minn": 2, "maxn": 5},
    {"epoch": 50, "lr": 1.0, "wordNgrams": 2, "dim": 100, "minn": 3, "maxn": 6},
    {"epoch": 100, "lr": 0.5, "wordNgrams": 3, "dim": 50, "minn": 2, "maxn": 5},
]


def norm(text: str) -> str:
    """Lower-case and split punctuation off, as fastText users usually do."""
    return " ".join(re.findall(r"\w+|[^\w\s]", text.lower()))


def read(path: str) -> list[tuple[str, str]]:
    """``(text, intent)`` pairs of a JSON-lines file."""
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [(norm(r["text"]), str(r["intent"])) for r in rows]


def write(rows: list[tuple[str, str]], path: str) -> None:
    """fastText's ``__label__X text`` training format."""
    with open(path, "w", encoding="utf-8") as fh:
        for text, label in rows:
            fh.write(f"__label__{label} {text}\n")


def train(rows: list[tuple[str, str]], params: dict, tmp: str) -> tuple[object, float]:
    """Train one model single-threaded; returns it and the seconds taken."""
    path = os.path.join(tmp, "train.txt")
    write(rows, path)
    start = time.perf_counter()
    model = fasttext.train_supervised(input=path, thread=1, verbose=0, seed=0, **params)
    return model, time.perf_counter() - start


def cpu_seconds() -> float:
    """CPU time of this process (training runs in-process on one thread)."""
    return time.process_time()


def accuracy(model: object, rows: list[tuple[str, str]]) -> tuple[float, list[str], list[float]]:
    """Accuracy, predictions and their probabilities on ``rows``."""
    labels, probs = model.predict([t for t, _ in rows], k=1)
    pred = [ls[0].replace("__label__", "", 1) for ls in labels]
    conf = [min(float(p[0]), 1.0) for p in probs]
    return sum(p == g for p, (_, g) in zip(pred, rows, strict=False)) / len(rows), pred, conf


def main(train_path: str, test_path: str) -> dict:
    """Tune on a 10% carve of train, retrain on all of train, measure on test."""
    train_rows, test_rows = read(train_path), read(test_path)
    valid = train_rows[::10]
    fit = [r for i, r in enumerate(train_rows) if i % 10]
    with tempfile.TemporaryDirectory() as tmp:
        tune_start = time.perf_counter()
        scored = []
        for params in GRID:
            model, _ = train(fit, params, tmp)
            scored.append((accuracy(model, valid)[0], params))
        tune_seconds = time.perf_counter() - tune_start
        best_params = max(scored, key=lambda s: s[0])[1]
        cpu_start = cpu_seconds()
        model, train_seconds = train(train_rows, best_params, tmp)
        train_cpu = cpu_seconds() - cpu_start
        acc, pred, conf = accuracy(model, test_rows)
        single = []
        for text, _ in test_rows[:500]:
            start = time.perf_counter()
            model.predict(text, k=1)
            single.append(time.perf_counter() - start)
        texts = [t for t, _ in test_rows]
        start = time.perf_counter()
        model.predict(texts, k=1)
        batched = len(texts) / (time.perf_counter() - start)
        cpu_start = time.process_time()
        model.predict(texts, k=1)
        cpu = len(texts) / max(time.process_time() - cpu_start, 1e-9)
        path = os.path.join(tmp, "model.bin")
        model.save_model(path)
        size = os.path.getsize(path)
    return {
        "accuracy": acc,
        "predictions": pred,
        "confidences": conf,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu,
        "tune_seconds": tune_seconds,
        "params": best_params,
        "p50_ms": statistics.median(single) * 1000,
        "batched_qps": batched,
        "cpu_qps": cpu,
        "size_bytes": size,
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: fasttext_runner.py TRAIN.jsonl TEST.jsonl")
    json.dump(main(sys.argv[1], sys.argv[2]), sys.stdout)
