"""Whole-process router timings, each against its baseline in the same run (1 thread).

Usage: ``python bench/router/process.py [--json]`` (same as ``enigma bench router --process``):
``enigma classify`` vs ``python -c "import numpy"``, the default router's load time in a fresh
process, the first answer after it, and ``enigma train router`` on the default data.
"""

from __future__ import annotations

import json
import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from enigma_router.bench_process import format_process, whole_process  # noqa: E402

if __name__ == "__main__":
    figures = whole_process()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else format_process(figures))
