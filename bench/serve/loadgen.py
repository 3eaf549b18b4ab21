"""Bounded load generators for the serve benchmark: wrk (Debian package) or a Python client.

Both keep ``concurrency`` keep-alive connections to a loopback address busy for ``duration``
seconds and return requests/s and latency percentiles. Only 127.0.0.1 / ::1 are accepted.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

LUA = Path(__file__).with_name("report.lua")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Load:
    """One run's outcome."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    errors: int

    @property
    def rps(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise SystemExit(f"refusing to send load to {host!r}: loopback addresses only")


def have_wrk() -> bool:
    """True when the wrk binary is on PATH."""
    return shutil.which("wrk") is not None


def run_wrk(
    url: str, method: str, body: str | None, concurrency: int, duration: float, key: str = ""
) -> Load:
    """Drive ``url`` with wrk (one thread) and read the JSON its Lua script writes."""
    _check_loopback(url)
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        env = {
            **os.environ,
            "METHOD": method,
            "BODY": body or "",
            "REPORT": str(report),
            "API_KEY": key,
        }
        cmd = [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "60s",
            "-s",
            str(LUA),
            url,
        ]
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=duration + 90)
        data = json.loads(report.read_text())
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        non2xx=data["non2xx"],
        errors=data["socket_errors"],
    )


async def _worker(
    host: str, port: int, request: bytes, stop: float, latencies: list[float], status: list[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < stop:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            code = int(head.split(b" ", 2)[1])
            length = 0
            chunked = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
                elif name.strip().lower() == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
            if chunked:
                while True:
                    size = int((await reader.readline()).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            status.append(code)
    finally:
        writer.close()


def run_python(
    url: str, method: str, body: str | None, concurrency: int, duration: float, key: str = ""
) -> Load:
    """The same measurement with an asyncio client (slower: it shares the CPUs with the server)."""
    _check_loopback(url)
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    data = (body or "").encode()
    lines = [f"{method} {parts.path} HTTP/1.1", f"Host: {host}:{port}"]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
    latencies: list[float] = []
    status: list[int] = []

    async def main() -> float:
        start = time.perf_counter()
        stop = start + duration
        await asyncio.gather(
            *(_worker(host, port, request, stop, latencies, status) for _ in range(concurrency))
        )
        return time.perf_counter() - start

    seconds = asyncio.run(main())
    ordered = sorted(latencies) or [0.0]

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return Load(
        len(latencies),
        seconds,
        pct(0.50),
        pct(0.99),
        sum(1 for s in status if not 200 <= s < 400),
        0,
    )
