"""Benchmark ``enigma serve`` on this machine: throughput and latency per endpoint, with baselines.

Usage: ``python bench/serve/run.py [--rounds 3] [--duration 3] [--workers 1] [--json OUT]``.

Starts the server on a free loopback port, then drives, in interleaved rounds so that noise from
other processes hits every endpoint alike: a trivial endpoint of the same server (GET /healthz),
POST /v1/classify, and chat completions routed to the chat and code tasks, at concurrency 1, 16
and 64 (wrk when installed, else a Python client). The median round is reported. Baselines
measured in the same run: the trivial endpoint (HTTP alone), and each task called in-process.
After each run the benchmark waits until the server is idle again (its CPU time stops growing),
so that slow code completions still running in their threads do not slow the next endpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from launch import start_serve, stop_serve
from loadgen import Load, have_wrk, run_python, run_wrk

CODE = "write a function that reverses a string"
CHAT = "hello there!"


def chat_body(text: str, model: str = "enigma") -> str:
    """A chat completion request body."""
    return json.dumps({"model": model, "messages": [{"role": "user", "content": text}]})


TARGETS = {
    "trivial GET /healthz": ("GET", "/healthz", None),
    "POST /v1/classify": ("POST", "/v1/classify", json.dumps({"input": CODE})),
    "chat -> chat (routed)": ("POST", "/v1/chat/completions", chat_body(CHAT)),
    "chat -> chat (enigma/chat)": ("POST", "/v1/chat/completions", chat_body(CHAT, "enigma/chat")),
    "chat -> code (routed)": ("POST", "/v1/chat/completions", chat_body(CODE)),
}
SLOW = {"chat -> code (routed)"}


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, limit: float = 60.0) -> None:
    """Wait (at most ``limit`` s) until the server is idle: a slow task (a code completion)
    keeps running in its thread after the load generator has gone, and would take the CPU
    and the GIL from whichever endpoint is measured next."""
    deadline = time.monotonic() + limit
    before = _cpu_seconds(pid)
    while before is not None and time.monotonic() < deadline:
        time.sleep(0.25)
        now = _cpu_seconds(pid)
        if now is None or now - before < 0.025:  # under 10 % of a core: idle
            return
        before = now


def in_process(n: int = 300) -> dict[str, float]:
    """p50 (ms) of each task called directly on an engine in this process, and of route()."""
    from enigma_core.engine import EnigmaEngine

    engine = EnigmaEngine(use_routing=True)
    out: dict[str, float] = {}
    cases = {
        "execute chat": lambda: engine.execute("chat", CHAT),
        "route chat": lambda: engine.route(CHAT),
        "classify": lambda: engine.classify(CODE),
        "execute code": lambda: engine.execute("code", CODE),
    }
    for name, call in cases.items():
        call()
        times = []
        for _ in range(n if "code" not in name else 15):
            start = time.perf_counter()
            call()
            times.append((time.perf_counter() - start) * 1000)
        out[name] = statistics.median(times)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--decision-log", choices=["on", "off"], default="on")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    # A private ENIGMA_HOME: the shipped models, and no benchmark rows in the user's decision log.
    home = Path(tempfile.mkdtemp(prefix="enigma-bench-serve-"))
    os.environ["ENIGMA_HOME"] = str(home)
    if args.decision_log == "off":
        (home / "config.json").write_text(json.dumps({"log": {"enabled": False}}))
    use_wrk = args.client == "wrk" or (args.client == "auto" and have_wrk())
    client = run_wrk if use_wrk else run_python
    baseline = in_process()
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_serve(["--workers", str(args.workers)], Path(tmp) / "server.log", 120)
        try:
            for method, path, body in TARGETS.values():  # warm every model once
                client(url + path, method, body, 1, 0.5 if path != "/healthz" else 0.2)
                settle(proc.pid)
            runs: dict[tuple[str, int], list[Load]] = {}
            for _ in range(args.rounds):
                for c in args.concurrency:
                    for name, (method, path, body) in TARGETS.items():
                        if name.endswith("(enigma/chat)") and c != 1:
                            continue
                        duration = args.duration * (2 if name in SLOW else 1)
                        runs.setdefault((name, c), []).append(
                            client(url + path, method, body, c, duration)
                        )
                        settle(proc.pid)
        finally:
            stop_serve(proc)
            shutil.rmtree(home, ignore_errors=True)
    results = {
        key: sorted(loads, key=lambda x: x.rps)[len(loads) // 2] for key, loads in runs.items()
    }
    report(results, baseline, "wrk" if use_wrk else "python asyncio client", args)
    if args.json:
        rows = [
            {
                "endpoint": n,
                "concurrency": c,
                "rps": r.rps,
                "p50_ms": r.p50_ms,
                "p99_ms": r.p99_ms,
                "non2xx": r.non2xx,
                "errors": r.errors,
            }
            for (n, c), r in results.items()
        ]
        args.json.write_text(json.dumps({"runs": rows, "in_process_ms": baseline}, indent=2))
    return 0


def report(
    results: dict[tuple[str, int], Load],
    baseline: dict[str, float],
    client: str,
    args: argparse.Namespace,
) -> None:
    """Print the table and the ratios the targets are stated in."""
    print(
        f"enigma serve benchmark: {os.cpu_count()} CPUs, {args.workers} worker(s), "
        f"load generator: {client}, decision log {args.decision_log}, "
        f"median of {args.rounds} interleaved rounds"
    )
    print(f"{'endpoint':30} {'conc':>4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for (name, c), r in results.items():
        print(
            f"{name:30} {c:>4} {r.rps:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{r.non2xx + r.errors:>8}"
        )
    print("in-process p50 (ms): " + ", ".join(f"{k} {v:.3f}" for k, v in baseline.items()))
    for c in args.concurrency:
        trivial = results.get(("trivial GET /healthz", c))
        classify = results.get(("POST /v1/classify", c))
        if trivial and classify:
            print(
                f"classify / trivial throughput at concurrency {c}: "
                f"{classify.rps / trivial.rps:.2f}"
            )
    routed = results.get(("chat -> chat (routed)", 1))
    forced = results.get(("chat -> chat (enigma/chat)", 1))
    if routed and forced:
        print(
            f"routing cost at concurrency 1 (p50): routed {routed.p50_ms:.3f} ms - forced "
            f"{forced.p50_ms:.3f} ms = {routed.p50_ms - forced.p50_ms:+.3f} ms; "
            f"routed over HTTP - in-process execute chat = "
            f"{routed.p50_ms - baseline['execute chat']:+.3f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
