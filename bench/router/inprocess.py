"""In-process figures of a router (default: the shipped one), each next to its baseline.

p50 of one ``classify`` (the oos rule at the model's budget) next to the same call at budget 0
(no unknown score: the baseline), at a per-call budget 0.1 and with ``explain`` (k nearest
training examples); batched requests per CPU-second over a request file; the load time of the
router in fresh processes (median of 5): as ``enigma classify`` loads it (numpy not imported:
the pure-Python router, ``purepy.py``) and with numpy already imported (the numpy model). One
thread.

Usage: ``python bench/router/inprocess.py [--model DIR] [--data FILE] [--json]``
(default data: ``../shared/benchmarks/hwu64/test.jsonl`` when present, else the held-out file).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[2]


def p50_ms(fn, texts: list[str]) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds of ``fn(text)`` (after one warm pass)."""
    for t in texts:
        fn(t)
    times = []
    for t in texts:
        start = time.perf_counter()
        fn(t)
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 4)


LOAD = """
import sys, time
if sys.argv[2] == "numpy":
    import numpy
from enigma_router.routing import load_router
wall, cpu = time.perf_counter(), time.process_time()
model = load_router(sys.argv[1] or None)
print((time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000, type(model).__name__)
"""


def load_ms(model: Path | None, numpy: bool, runs: int = 5) -> dict[str, float | str]:
    """Median wall and CPU milliseconds of ``load_router`` in fresh processes."""
    rows = []
    for _ in range(runs):
        cmd = [sys.executable, "-c", LOAD, str(model or ""), "numpy" if numpy else "-"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
        rows.append(out)
    return {
        "wall_ms": round(statistics.median(float(r[0]) for r in rows), 2),
        "cpu_ms": round(statistics.median(float(r[1]) for r in rows), 2),
        "model": rows[0][2],
    }


def main(argv: list[str] | None = None) -> int:
    """Print the figures (see module doc)."""
    from enigma_router.evaluate import load_labelled
    from enigma_router.routing import classify, load_router

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    shared = REPO.parent / "shared" / "benchmarks" / "hwu64" / "test.jsonl"
    data = args.data or (
        shared if shared.is_file() else REPO / "data/specialized/router_heldout.txt"
    )
    texts = load_labelled(data)[0][:500]
    model = load_router(args.model)
    out = {
        "data": str(data),
        "requests": len(texts),
        "oos_budget": model.calibration.oos_budget,
        "classify_p50_ms": p50_ms(lambda t: classify(model, t), texts),
        "classify_budget_0_p50_ms": p50_ms(lambda t: classify(model, t, budget=0.0), texts),
        "classify_budget_0.1_p50_ms": p50_ms(lambda t: classify(model, t, budget=0.1), texts),
        "classify_explain_p50_ms": p50_ms(lambda t: classify(model, t, explain=True), texts),
    }
    best = 0.0
    for _ in range(10):
        start = time.process_time()
        model.classify_batch(texts)
        best = max(best, len(texts) / max(time.process_time() - start, 1e-9))
    out["batched_q_per_cpu_s"] = round(best)
    out["load_fresh_process"] = load_ms(args.model, numpy=False)
    out["load_fresh_process_numpy_imported"] = load_ms(args.model, numpy=True)
    out["load_average"] = round(os.getloadavg()[0], 1)
    print(
        json.dumps(out, indent=2) if args.json else "\n".join(f"{k}: {v}" for k, v in out.items())
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
