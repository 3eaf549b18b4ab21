"""Helpers for the Ray Serve tests: real ``enigma serve`` (with and without ``--ray``) processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.venvs import clean_env

ENIGMA = str(Path(sys.executable).parent / "enigma")
NO_RAY = "Ray Serve not installed: `make test` installs enigma-core[ray] for these tests"


@dataclass
class Running:
    """A server process started in its own session (a signal reaches it alone)."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        """What the server wrote on stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM, then wait (SIGKILL after ``timeout``); the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode


def start(home: Path, log_path: Path, *args: str, wait_s: float = 240) -> Running:
    """``enigma serve --port 0 ARGS`` with ENIGMA_HOME=home; returns once /readyz says 200."""
    env = clean_env({"ENIGMA_HOME": str(home), "RAY_USAGE_STATS_ENABLED": "0"})
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [ENIGMA, "serve", "--port", "0", "--no-access-log", *args],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env,
            start_new_session=True,
        )
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            raise AssertionError(f"server exited {proc.returncode}:\n{text}")
        if "listening on " in text:
            url = text.split("listening on ", 1)[1].split()[0]
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    return Running(proc, url, log_path)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"server not ready in {wait_s:g} s:\n{log_path.read_text()}")


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` and its command line (Linux /proc)."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            )
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found[child] = commands.get(child, "")
                todo.append(child)
    return found
