"""Whole-process `enigma train router` time, this checkout against a baseline checkout, interleaved.

Usage::

    python bench/router/train_speed.py [--data ../shared/benchmarks/banking77/train.jsonl]
        [--baseline DIR] [--runs 3] [--seed 0] [--json]

Each run is a fresh ``enigma train router --data FILE --out TMP`` process with one thread
(``OMP_NUM_THREADS=1`` and friends); CPU seconds are the child's user + system time
(``os.wait4``), wall seconds its elapsed time. ``--baseline DIR`` is another checkout of the
repository (``git worktree add DIR main`` or ``git archive main | tar -x -C DIR``): its runs use
this interpreter with ``PYTHONPATH`` pointing at DIR's ``enigma_core`` and ``enigma_router``,
so both sides share every installed dependency and differ only in our code. Runs alternate
(baseline, this, baseline, ...) so that both see the same machine load; medians are reported
with the load average. Without ``--data``: the default data (the seed file + plugin examples).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def one_run(data: Path | None, seed: int, baseline: Path | None) -> dict[str, float]:
    """Train once in a fresh process; CPU and wall seconds, the 1-minute load average."""
    enigma = str(Path(sys.executable).with_name("enigma"))
    with tempfile.TemporaryDirectory(prefix="enigma-train-speed-") as tmp:
        env = {**os.environ, "ENIGMA_HOME": str(Path(tmp) / "home")}
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"
        if baseline is not None:
            paths = [str(baseline), str(baseline / "plugins" / "enigma_router")]
            env["PYTHONPATH"] = os.pathsep.join(paths)
        cmd = [enigma, "train", "router", "--seed", str(seed), "--out", str(Path(tmp) / "m")]
        if data is not None:
            cmd += ["--data", str(data)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if status != 0:
            tail = (err.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"enigma train router failed: {tail}")
    return {
        "cpu": round(usage.ru_utime + usage.ru_stime, 2),
        "wall": round(wall, 2),
        "load": round(os.getloadavg()[0], 1),
    }


def compare(data: Path | None, runs: int, seed: int, baseline: Path | None) -> dict[str, Any]:
    """Interleaved runs of the baseline (when given) and this checkout; medians."""
    sides: dict[str, list[dict[str, float]]] = {"this": []}
    if baseline is not None:
        sides = {"baseline": [], "this": []}
    for _ in range(runs):
        for side, rows in sides.items():
            rows.append(one_run(data, seed, baseline if side == "baseline" else None))
    out: dict[str, Any] = {"data": str(data) if data else "default", "seed": seed}
    for side, rows in sides.items():
        out[side] = {
            "runs": rows,
            "median_cpu": statistics.median(r["cpu"] for r in rows),
            "median_wall": statistics.median(r["wall"] for r in rows),
        }
    if baseline is not None:
        out["cpu_ratio"] = round(out["this"]["median_cpu"] / out["baseline"]["median_cpu"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--baseline", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.baseline is not None and not (args.baseline / "enigma_core").is_dir():
        parser.error(f"{args.baseline}: not a checkout of this repository (no enigma_core/)")
    result = compare(args.data, max(args.runs, 1), args.seed, args.baseline)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for side in ("baseline", "this"):
        if side in result:
            rows = result[side]["runs"]
            cpu = " / ".join(f"{r['cpu']:.1f}" for r in rows)
            wall = " / ".join(f"{r['wall']:.1f}" for r in rows)
            loads = " / ".join(f"{r['load']:.1f}" for r in rows)
            print(
                f"{side:8s} CPU s {cpu} (median {result[side]['median_cpu']:.1f}); "
                f"wall s {wall} (median {result[side]['median_wall']:.1f}); load {loads}"
            )
    if "cpu_ratio" in result:
        print(f"CPU ratio this / baseline: {result['cpu_ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
