"""Whole-process start-up of ``enigma classify`` against ``python -c "import numpy"`` (issue 21).

Usage: ``python bench/cli/startup.py [--runs 15] [--json OUT] [--main DIR]``.

Runs, interleaved so that noise from other processes hits each alike: ``python -c pass``,
``python -c "import numpy"`` (the baseline), ``enigma classify TEXT`` as the console script runs
it (fast path), the same command line through the typer app (the fast path off: what
``enigma classify`` cost before it), ``enigma --help``, and with ``--main DIR`` the same
``enigma classify`` from another checkout's virtual environment (``DIR/.venv/bin/enigma``, e.g.
main's: the baseline of a change, in the same run). Reports the median wall time and the
median CPU time (user + system, from ``wait4``) of each, and each as a multiple of the
baseline's. On a shared machine the CPU ratio is the steadier of the two: waiting for a core
inflates wall time, not CPU time. One thread (``OMP_NUM_THREADS=1`` and friends), a private
``ENIGMA_HOME``, bytecode compiled by a first run of each command into a private cache
(``PYTHONPYCACHEPREFIX``: as installing a wheel compiles it, and fair to a checkout without
``.pyc`` files).
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

TEXT = "hello there, how are you?"
TYPER_PATH = "import sys; from enigma_core.cli.main import run; run(sys.argv[1:], fast=False)"


def commands(main: Path | None = None) -> dict[str, list[str]]:
    """The command lines measured, by label (the first two are the baselines)."""
    python = sys.executable
    enigma = str(Path(python).with_name("enigma"))
    other = {}
    if main is not None:
        other[f'{main}: enigma classify "{TEXT}"'] = [
            str(main / ".venv/bin/enigma"),
            "classify",
            TEXT,
        ]
    return {
        "python -c pass": [python, "-c", "pass"],
        'python -c "import numpy"': [python, "-c", "import numpy"],
        f'enigma classify "{TEXT}"': [enigma, "classify", TEXT],
        "same, through the typer app": [python, "-c", TYPER_PATH, "classify", TEXT],
        "enigma --help": [enigma, "--help"],
        **other,
    }


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run; a failed run stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd[:3])}: exit status {status}: {err.strip()[-300:]}")
    if proc.stderr:
        proc.stderr.close()
    return wall, usage.ru_utime + usage.ru_stime


def measure(runs: int, main: Path | None = None) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds of each command line over ``runs`` interleaved rounds."""
    env = {**os.environ, "ENIGMA_HOME": tempfile.mkdtemp(prefix="enigma-bench-cli-")}
    # Bytecode for every command (as installing a wheel compiles it), written by the warm-up
    # runs into a private cache: nothing is written into either checkout, and a tree without
    # .pyc files (e.g. under PYTHONDONTWRITEBYTECODE=1) does not compile on every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="enigma-bench-pyc-")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    cmds = commands(main)
    for cmd in cmds.values():  # warm the file cache, write the bytecode, create the decision log
        timed(cmd, env)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in cmds}
    for _ in range(runs):
        for label, cmd in cmds.items():
            samples[label].append(timed(cmd, env))
    return {
        label: {
            "wall_s": statistics.median(w for w, _ in rows),
            "cpu_s": statistics.median(c for _, c in rows),
        }
        for label, rows in samples.items()
    }


def report(results: dict[str, dict[str, float]], runs: int) -> str:
    """A Markdown table with each figure as a multiple of ``import numpy``'s."""
    base = results['python -c "import numpy"']
    lines = [
        f"median of {runs} interleaved runs, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end",
        "",
        "| command | wall | x numpy | CPU | x numpy |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, r in results.items():
        lines.append(
            f"| `{label}` | {r['wall_s']:.3f} s | {r['wall_s'] / base['wall_s']:.2f} | "
            f"{r['cpu_s']:.3f} s | {r['cpu_s'] / base['cpu_s']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--main", type=Path, help="also run DIR/.venv/bin/enigma classify")
    args = parser.parse_args()
    results = measure(args.runs, args.main)
    print(report(results, args.runs))
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
