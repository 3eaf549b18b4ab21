"""Whole-process router timings, each against its baseline in the same run (1 thread).

Usage: ``python bench/router/process.py [--json]`` (same as ``enigma bench router --process``):
``enigma classify`` vs ``python -c "import numpy"``, the default router's load time in a fresh
process, the first answer after it, and ``enigma train router`` on the default data.

Bytecode of the enigma packages is compiled first, as installing a wheel does: with
``PYTHONDONTWRITEBYTECODE`` set (or a read-only checkout) every run would otherwise compile
enigma's modules from source while numpy's come compiled, and the ratio would measure that.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import sys
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from enigma_router.bench_process import format_process, whole_process  # noqa: E402


def compile_enigma() -> None:
    """Write the .pyc files of enigma-core and the installed enigma plugins."""
    for name in ("enigma_core", "enigma_router", "enigma_vision", "enigma_code", "enigma_openai"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            for where in spec.submodule_search_locations:
                compileall.compile_dir(Path(where), quiet=1)


if __name__ == "__main__":
    compile_enigma()
    figures = whole_process()
    print(json.dumps(figures, indent=2) if "--json" in sys.argv[1:] else format_process(figures))
