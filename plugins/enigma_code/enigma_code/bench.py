"""``enigma bench code``: decoding speed of the numpy runtime at batch 1 on one thread.

The measurement runs in a child process started with every BLAS/OpenMP thread count set to 1
(they are read when numpy loads, so the parent cannot change them afterwards). Figures:
first-token latency (tokenize + prefill + first sample), raw decode tokens/s (KV-cache steps,
greedy, no early stop) and end-to-end tokens/s of real requests (stop rule and text included).
:func:`sandbox_overhead` times one suite task run in the sandbox against the same run in a
plain limited process (the baseline, measured in the same call).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
REQUESTS = (
    "write a function that reverses a string",
    "write a function that returns the sum of a list of numbers",
    "how do I read a csv in python",
    "write a function that returns true if the object is a coroutine function",
    "implement binary search in python",
)


def measure(model_dir: Path | None, tokens: int = 256, runs: int = 5) -> dict[str, Any]:
    """Run the benchmark in this process (call through :func:`run_bench` for 1 thread)."""
    import numpy as np

    from enigma_code.generate import CodeModel, CodeOptions, write_code

    model = CodeModel.load(model_dir)
    net = model.model
    cache = net.new_cache()
    first_ms, decode_tps = [], []
    steps = min(tokens, net.config.block_size - 32)
    for run in range(runs + 1):  # run 0 warms caches up and is not counted
        start = time.perf_counter()
        cache.reset()
        logits = net.step(model.prompt_ids(REQUESTS[run % len(REQUESTS)]), cache)
        token = int(np.argmax(logits))
        first = time.perf_counter() - start
        t0 = time.perf_counter()
        while cache.length < min(cache.max_len, steps + 16):
            token = int(np.argmax(net.step([token], cache)))
        n = cache.length - 16
        if run:
            first_ms.append(first * 1000)
            decode_tps.append(n / (time.perf_counter() - t0))
    produced, seconds = 0, 0.0
    for request in REQUESTS:
        answer = write_code(model, request, CodeOptions(max_attempts=1))
        produced += answer.tokens
        seconds += answer.seconds
    cfg = net.config
    return {
        "model": str(model.directory),
        "size": model.meta.get("preset") or model.meta.get("size"),
        "parameters": int(sum(a.size for a in _arrays(net))),
        "layers": cfg.n_layer,
        "width": cfg.n_embd,
        "context": cfg.block_size,
        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        "batch": 1,
        "first_token_ms": round(statistics.median(first_ms), 2),
        "decode_tokens_per_s": round(statistics.median(decode_tps), 1),
        "end_to_end_tokens_per_s": round(produced / seconds, 1) if seconds else 0.0,
        "end_to_end_tokens": produced,
        "runs": runs,
    }


def sandbox_overhead(isolation: Any, runs: int = 20) -> dict[str, Any]:
    """Median ms to judge one suite task's reference in ``isolation`` and without isolation.

    Runs alternate between the two so that machine noise hits both alike."""
    from enigma_code.sandbox import run_candidate
    from enigma_code.sandbox_isolation import unsafe
    from enigma_code.suite import load_suite

    task = next(t for t in load_suite() if t.id == "square")
    backends = (
        {"isolated": isolation, "baseline": unsafe()}
        if isolation.isolated
        else {"baseline": isolation}
    )
    times: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(runs):
        for name, iso in backends.items():
            result = run_candidate(task.reference, task.tests, task.entry, isolation=iso)
            if not result.passed:
                raise EnigmaError(f"sandbox benchmark: {iso.name} run {result.status}")
            times[name].append(result.seconds * 1000)
    out: dict[str, Any] = {"isolation": isolation.name, "runs": runs}
    for name, values in times.items():
        out[f"{name}_ms"] = round(statistics.median(values), 2)
    if "isolated_ms" in out:
        out["ratio"] = round(out["isolated_ms"] / out["baseline_ms"], 2)
    return out


def _arrays(net: Any) -> list[Any]:
    """Every weight array of a numpy transformer (for the parameter count)."""
    out = [net.wte, net.wpe, net.lnf_w, net.lnf_b]
    for layer in net.layers:
        out.extend(vars(layer).values())
    return out


def run_bench(
    model_dir: Path | None = None, tokens: int = 256, runs: int = 5, threads: int = 1
) -> dict[str, Any]:
    """Measure in a child process limited to ``threads`` BLAS threads; returns the figures."""
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARS})
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    args = json.dumps(
        {"model": str(model_dir) if model_dir else None, "tokens": tokens, "runs": runs}
    )
    code = "import sys; from enigma_code.bench import _child; _child(sys.argv[1])"
    proc = subprocess.run(
        [sys.executable, "-c", code, args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnigmaError(f"code benchmark failed: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child(raw: str) -> None:
    """Entry point of the benchmark child process: print the figures as one JSON line."""
    args = json.loads(raw)
    model = Path(args["model"]) if args["model"] else None
    try:
        result = measure(model, int(args["tokens"]), int(args["runs"]))
    except EnigmaError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(1) from None
    print(json.dumps(result))
