"""Ray Serve next to the single-process server on the same load: req/s, p50/p99, overhead ratio.

Usage: ``python bench/serve/ray_compare.py [--rounds 3] [--duration 3] [--json OUT]``.

Starts ``enigma serve`` and ``enigma serve --ray`` (default deployment options) on loopback ports
and drives both, in interleaved rounds so machine noise hits both alike, with POST /v1/classify
(ingress only) and chat completions routed to the chat and code tasks (ingress -> task replica),
at concurrency 16 and 64. The median round is reported; ratio = Ray req/s / single req/s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from loadgen import Load, have_wrk, run_python, run_wrk

CODE = "write a function that reverses a string"
CHAT = "hello there!"


def _chat(text: str) -> str:
    return json.dumps({"model": "enigma", "messages": [{"role": "user", "content": text}]})


TARGETS = {
    "POST /v1/classify": ("POST", "/v1/classify", json.dumps({"input": CODE})),
    "chat -> chat (routed)": ("POST", "/v1/chat/completions", _chat(CHAT)),
    "chat -> code (routed)": ("POST", "/v1/chat/completions", _chat(CODE)),
}


def start(args: list[str], log: Path) -> tuple[subprocess.Popen, str]:
    """``enigma serve --port 0 ARGS`` in its own session; its URL once /readyz says ready."""
    enigma = Path(sys.executable).with_name("enigma")
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [str(enigma), "serve", "--port", "0", "--no-access-log", *args],
            stdout=subprocess.DEVNULL,
            stderr=handle,
            start_new_session=True,
        )
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        text = log.read_text()
        if "listening on " in text:
            url = text.split("listening on ", 1)[1].split()[0]
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
                    if response.status == 200:
                        return proc, url
            except OSError:
                pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"server did not become ready; its log:\n{log.read_text()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="enigma-bench-ray-"))
    os.environ["ENIGMA_HOME"] = str(home)
    (home / "config.json").write_text(json.dumps({"log": {"enabled": False}}))
    client = run_wrk if have_wrk() else run_python
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    runs: dict[tuple[str, str, int], list[Load]] = {}
    try:
        servers["single"] = start([], home / "single.log")
        servers["ray"] = start(["--ray"], home / "ray.log")
        for _, url in servers.values():  # warm every model once
            for method, path, body in TARGETS.values():
                client(url + path, method, body, 1, 0.5)
        for _ in range(args.rounds):
            for c in args.concurrency:
                for name, (method, path, body) in TARGETS.items():
                    for kind, (_, url) in servers.items():
                        load = client(url + path, method, body, c, args.duration)
                        runs.setdefault((name, kind, c), []).append(load)
    finally:
        for proc, _ in servers.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in servers.values():
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    median = {k: sorted(v, key=lambda x: x.rps)[len(v) // 2] for k, v in runs.items()}
    print(
        f"enigma serve vs enigma serve --ray: {os.cpu_count()} CPUs, "
        f"{'wrk' if client is run_wrk else 'python client'}, median of {args.rounds} rounds"
    )
    print(
        f"{'endpoint':24} {'conc':>4} {'server':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>6} {'ray/single':>10}"
    )
    rows = []
    for (name, kind, c), r in median.items():
        single = median[(name, "single", c)]
        ratio = r.rps / single.rps if single.rps else float("nan")
        print(
            f"{name:24} {c:>4} {kind:>6} {r.rps:>8.1f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.non2xx + r.errors:>6} {ratio if kind == 'ray' else 1.0:>10.2f}"
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
            }
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
