"""Reproduce the router benchmark table: ours vs TF-IDF+SVM/LogReg vs tuned fastText.

Usage: ``python bench/router/run.py [--root ../shared/benchmarks] [--only banking77 ...] [--json]``
(run ``bash bench/router/setup_baselines.sh`` once for the baselines). One thread everywhere.
"""

from __future__ import annotations

import os
import sys

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from enigma_router.bench import main  # noqa: E402  (thread env must be set before numpy)

if __name__ == "__main__":
    sys.exit(main())
