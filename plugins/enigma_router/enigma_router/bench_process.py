"""Whole-process timings of the router, each next to its baseline in the same run.

``enigma classify TEXT`` against ``python -c "import numpy"`` (runs interleaved, medians), the
default router's load time in a fresh process (after numpy is imported), and ``enigma train
router`` on the default data. One thread everywhere (``OMP_NUM_THREADS=1`` and friends).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TEXT = "hello there, how are you?"
LOAD_SCRIPT = """
import time, numpy
t = time.perf_counter()
from enigma_router.routing import load_router
m = load_router(None)
t1 = time.perf_counter()
m.classify("hello there")
t2 = time.perf_counter()
print(f"{(t1 - t) * 1000:.3f} {(t2 - t1) * 1000:.3f}")
"""


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "ENIGMA_HOME": str(home)}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    return env


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{' '.join(cmd[:3])}...: exit {done.returncode}: {tail}")
    return seconds, done.stdout


def whole_process(runs: int = 9, train_runs: int = 3) -> dict[str, Any]:
    """Medians of interleaved whole-process runs (see module doc)."""
    enigma = str(Path(sys.executable).with_name("enigma"))
    with tempfile.TemporaryDirectory(prefix="enigma-bench-process-") as tmp:
        env = _env(Path(tmp) / "home")
        numpy_s, classify_s, load_ms, first_ms = [], [], [], []
        _timed([enigma, "classify", TEXT], env)  # warm the file cache once
        for _ in range(runs):
            numpy_s.append(_timed([sys.executable, "-c", "import numpy"], env)[0])
            classify_s.append(_timed([enigma, "classify", TEXT], env)[0])
            out = _timed([sys.executable, "-c", LOAD_SCRIPT], env)[1].split()
            load_ms.append(float(out[0]))
            first_ms.append(float(out[1]))
        train_s = [
            _timed([enigma, "train", "router", "--out", str(Path(tmp) / "r"), "--json"], env)[0]
            for _ in range(train_runs)
        ]
    numpy_med, classify_med = statistics.median(numpy_s), statistics.median(classify_s)
    return {
        "python_import_numpy_s": round(numpy_med, 4),
        "enigma_classify_s": round(classify_med, 4),
        "classify_over_numpy": round(classify_med / numpy_med, 2),
        "default_router_load_ms": round(statistics.median(load_ms), 2),
        "first_classify_ms": round(statistics.median(first_ms), 2),
        "enigma_train_router_s": round(statistics.median(train_s), 2),
        "runs": runs,
        "train_runs": train_runs,
    }


def format_process(r: dict[str, Any]) -> str:
    """The figures as a Markdown table."""
    return "\n".join(
        [
            "| whole process (median) | value |",
            "|---|---:|",
            f'| `python -c "import numpy"` | {r["python_import_numpy_s"]:.3f} s |',
            f'| `enigma classify "{TEXT}"` | {r["enigma_classify_s"]:.3f} s |',
            f"| classify / import numpy | {r['classify_over_numpy']:.2f}x |",
            f"| default router load (fresh process, numpy imported) | "
            f"{r['default_router_load_ms']:.1f} ms |",
            f"| first classify after load | {r['first_classify_ms']:.2f} ms |",
            f"| `enigma train router` (default data) | {r['enigma_train_router_s']:.2f} s |",
        ]
    )
