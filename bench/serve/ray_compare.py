"""Ray Serve next to the single-process server on the same load: req/s, p50/p99, overhead ratio.

Usage: ``python bench/serve/ray_compare.py [--rounds 3] [--duration 3] [--json OUT]``.

Starts ``enigma serve`` and ``enigma serve --ray`` (default deployment options) on loopback ports
and drives both, in interleaved rounds so machine noise hits both alike, with POST /v1/classify
(ingress only) and chat completions routed to the chat and code tasks (ingress -> task replica),
at concurrency 16 and 64. Reported: the median round of each (req/s, p50/p99) and the median of
the per-round ratios Ray req/s / single req/s with their range (a round runs both servers back to
back, so its ratio is the fairest figure on a shared box). Each round also times a streamed
answer alone (no other load) from a config-declared task whose loopback upstream sends one word
every 50 ms (the test suite's slow upstream; the code task emits its checked answer at once, so
it cannot show streaming): time to the first piece and to the last, through both servers.
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
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from launch import start_serve, stop_serve
from loadgen import Load, have_wrk, run_python, run_wrk

from tests.ray_support import start_slow_upstream

CODE = "write a function that reverses a string"
CHAT = "hello there!"
STREAMED = " ".join(f"word{i}" for i in range(20))
GAP = 0.05


def _chat(text: str) -> str:
    return json.dumps({"model": "enigma", "messages": [{"role": "user", "content": text}]})


TARGETS = {
    "POST /v1/classify": ("POST", "/v1/classify", json.dumps({"input": CODE})),
    "chat -> chat (routed)": ("POST", "/v1/chat/completions", _chat(CHAT)),
    "chat -> code (routed)": ("POST", "/v1/chat/completions", _chat(CODE)),
}


def stream_timing(url: str, text: str = STREAMED) -> tuple[float, float, int]:
    """One streamed ``enigma/slow`` completion: ms to the first content piece, ms to the end,
    and how many pieces came (one burst at the end would make the two times equal)."""
    body = {"model": "enigma/slow", "messages": [{"role": "user", "content": text}]}
    request = urllib.request.Request(
        url + "/v1/chat/completions",
        data=json.dumps({**body, "stream": True}).encode(),
        headers={"Content-Type": "application/json"},
    )
    start = time.perf_counter()
    first = 0.0
    pieces = 0
    with urllib.request.urlopen(request, timeout=120) as response:
        for line in response:
            if not line.startswith(b"data: {"):
                continue
            for choice in json.loads(line[6:]).get("choices") or []:
                if choice.get("delta", {}).get("content"):
                    pieces += 1
                    first = first or (time.perf_counter() - start) * 1000
    return first, (time.perf_counter() - start) * 1000, pieces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="enigma-bench-ray-"))
    os.environ["ENIGMA_HOME"] = str(home)
    slow = start_slow_upstream(GAP)
    config = {
        "log": {"enabled": False},
        "backends": {"slowhost": {"base_url": slow.url, "model": "slow"}},
        "tasks": {"slow": {"backend": "slowhost", "keywords": ["answer slowly"]}},
    }
    (home / "config.json").write_text(json.dumps(config))
    client = run_wrk if have_wrk() else run_python
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    runs: dict[tuple[str, str, int], list[Load]] = {}
    streams: dict[str, list[tuple[float, float, int]]] = {}
    try:
        servers["single"] = start_serve(["--no-access-log"], home / "single.log")
        servers["ray"] = start_serve(["--no-access-log", "--ray"], home / "ray.log")
        for _, url in servers.values():  # warm every model once
            for method, path, body in TARGETS.values():
                client(url + path, method, body, 1, 0.5)
        for _ in range(args.rounds):
            for kind, (_, url) in servers.items():
                for _ in range(2):
                    streams.setdefault(kind, []).append(stream_timing(url))
            for c in args.concurrency:
                for name, (method, path, body) in TARGETS.items():
                    for kind, (_, url) in servers.items():
                        load = client(url + path, method, body, c, args.duration)
                        runs.setdefault((name, kind, c), []).append(load)
    finally:
        for proc, _ in servers.values():
            stop_serve(proc, timeout=90)
        slow.stop()
    median = {k: sorted(v, key=lambda x: x.rps)[len(v) // 2] for k, v in runs.items()}
    print(
        f"enigma serve vs enigma serve --ray: {os.cpu_count()} CPUs, "
        f"{'wrk' if client is run_wrk else 'python client'}, median of {args.rounds} rounds"
    )
    print(
        f"{'endpoint':24} {'conc':>4} {'server':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'ray/single (range)':>20}"
    )
    rows = []
    for (name, kind, c), r in median.items():
        ratios = [
            ray.rps / single.rps if single.rps else float("nan")
            for ray, single in zip(runs[(name, "ray", c)], runs[(name, "single", c)], strict=True)
        ]
        ratio = statistics.median(ratios)
        shown = f"{ratio:.2f} ({min(ratios):.2f}-{max(ratios):.2f})" if kind == "ray" else ""
        print(
            f"{name:24} {c:>4} {kind:>6} {r.rps:>8.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.non2xx + r.errors:>6} {shown:>20}"
        )
        rows.append(
            {
                "endpoint": name,
                "server": kind,
                "concurrency": c,
                "rps": r.rps,
                "p50_ms": r.p50_ms,
                "p99_ms": r.p99_ms,
                "errors": r.non2xx + r.errors,
                "rps_rounds": [x.rps for x in runs[(name, kind, c)]],
                "ratio_rounds": ratios if kind == "ray" else None,
            }
        )
    sent = len(STREAMED.split()) + 1
    print(f"\nstreamed answer alone, {sent} pieces {GAP * 1000:g} ms apart at the upstream")
    for kind, timings in streams.items():
        first = statistics.median(t[0] for t in timings)
        total = statistics.median(t[1] for t in timings)
        pieces = statistics.median(t[2] for t in timings)
        print(
            f"  {kind:>6} (median of {len(timings)}): first piece {first:7.0f} ms, "
            f"last {total:7.0f} ms, {pieces:g} pieces"
        )
        rows.append({"stream": kind, "first_ms": first, "total_ms": total, "pieces": pieces})
    if args.json:
        args.json.write_text(json.dumps({"runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
