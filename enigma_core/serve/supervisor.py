"""Multi-worker mode: N worker processes share one socket; metrics are summed across them.

Prometheus multiprocess mode needs a folder shared by the workers: a private temporary one,
removed at exit. A worker that dies is replaced (at most 5 times a minute).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import FrameType

from enigma_core.serve.settings import ServeSettings
from enigma_core.serve.state import log

RESTARTS_PER_MINUTE = 5


def _spawn(settings: ServeSettings, sock: socket.socket, env: dict[str, str]) -> subprocess.Popen:
    fd = sock.fileno()
    child = subprocess.Popen(
        [sys.executable, "-m", "enigma_core.serve.worker", str(fd)],
        stdin=subprocess.PIPE,
        pass_fds=(fd,),
        env=env,
    )
    assert child.stdin is not None
    child.stdin.write(settings.to_json().encode("utf-8"))
    child.stdin.close()
    return child


def supervise(settings: ServeSettings, sock: socket.socket) -> int:
    """Run the workers until SIGTERM/SIGINT, then drain them; the exit code."""
    from prometheus_client import multiprocess

    metrics_dir = tempfile.mkdtemp(prefix="enigma-serve-metrics-")
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    stopping: list[int] = []

    def on_signal(sig: int, frame: FrameType | None) -> None:
        stopping.append(sig)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    workers = [_spawn(settings, sock, env) for _ in range(settings.workers)]
    restarts: list[float] = []
    code = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, child in enumerate(workers):
                if child.poll() is None or stopping:
                    continue
                multiprocess.mark_process_dead(child.pid)
                now = time.monotonic()
                restarts[:] = [t for t in restarts if now - t < 60] + [now]
                if len(restarts) > RESTARTS_PER_MINUTE:
                    log(f"worker {child.pid} exited ({child.returncode}); too many restarts")
                    stopping.append(0)
                    code = 1
                    break
                log(f"worker {child.pid} exited ({child.returncode}); starting another")
                workers[i] = _spawn(settings, sock, env)
        for child in workers:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + settings.grace + 5
        for child in workers:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return code
