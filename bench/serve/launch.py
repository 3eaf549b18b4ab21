"""Starts ``enigma serve --port 0`` from this venv for a benchmark and waits until it is ready.

Stdlib only (the benches run in the project venv without test helpers); the server gets its
own session, so stopping it (``os.killpg``) reaches its workers and Ray processes too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def start_serve(args: list[str], log: Path, wait_s: float = 240) -> tuple[subprocess.Popen, str]:
    """``enigma serve --port 0 ARGS``, stderr to ``log``; its URL once /readyz says 200."""
    enigma = Path(sys.executable).with_name("enigma")
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [str(enigma), "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=handle,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_s
    url = None
    while time.monotonic() < deadline and proc.poll() is None:
        text = log.read_text()
        if url is None and "listening on " in text:
            url = text.split("listening on ", 1)[1].split()[0]
        if url is not None:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=5) as response:
                    if response.status == 200:
                        return proc, url
            except OSError:
                pass
        time.sleep(0.2)
    stop_serve(proc)
    raise SystemExit(f"server did not become ready; its log:\n{log.read_text()}")


def stop_serve(proc: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM to the server's session, SIGKILL after ``timeout`` seconds."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
