"""Retrain the router from the dashboard: ``enigma train router`` in a background subprocess.

Progress is the subprocess's output, line by line. When it succeeds the new model is promoted
(``enigma promote``'s check and atomic config write) and this worker's engine reloads its
config at once; other workers notice the changed config within a second.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from enigma_core.serve.state import ServerState, log

KEEP_LINES = 200
ROUTER_TASK = "router"


class Retrain:
    """One worker's retrain job: at most one at a time."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.lock = threading.Lock()
        self.status = "idle"  # idle | running | done | failed
        self.lines: deque[str] = deque(maxlen=KEEP_LINES)
        self.started: float | None = None
        self.finished: float | None = None
        self.error: str | None = None
        self.model: str | None = None

    def snapshot(self) -> dict[str, Any]:
        """What the page shows."""
        with self.lock:
            return {
                "status": self.status,
                "lines": list(self.lines),
                "started": self.started,
                "finished": self.finished,
                "error": self.error,
                "model": self.model,
            }

    def start(self) -> None:
        """Start a run unless one is running."""
        with self.lock:
            if self.status == "running":
                return
            self.status, self.error, self.model = "running", None, None
            self.lines.clear()
            self.started, self.finished = time.time(), None
        threading.Thread(target=self._run, name="enigma-retrain", daemon=True).start()

    def _task(self) -> str:
        classifiers = self.state.engine.classifier_tasks()
        return classifiers[0].name if classifiers else ROUTER_TASK

    def _run(self) -> None:
        from enigma_core.home import enigma_home
        from enigma_core.promote import promote_model

        task = self._task()
        out = enigma_home() / "models" / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
        cmd = [sys.executable, "-c", "from enigma_core.cli.main import run; run()"]
        cmd += ["train", task, "--out", str(out)]
        log(f"dashboard: retraining {task} into {out}")
        try:
            code = self._follow(cmd)
            if code != 0:
                raise RuntimeError(f"enigma train {task} exited {code}")
            info = promote_model(task, out)
            self.state.engine.reload_config()
            self._add(f"promoted {info['path']}")
            with self.lock:
                self.status, self.model = "done", str(out)
        except Exception as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._add(f"error: {message}")
            with self.lock:
                self.status, self.error = "failed", message
        finally:
            with self.lock:
                self.finished = time.time()

    def _follow(self, cmd: list[str]) -> int:
        """Run ``cmd``, keeping its output lines (carriage returns split a progress bar)."""
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=Path.cwd(),
        )
        assert proc.stdout is not None
        for raw in proc.stdout:
            for part in raw.decode("utf-8", "replace").replace("\r", "\n").splitlines():
                if part.strip():
                    self._add(part.rstrip()[:300])
        return proc.wait()

    def _add(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)


_jobs: dict[int, Retrain] = {}
_jobs_lock = threading.Lock()


def retrainer(state: ServerState) -> Retrain:
    """The retrain job of this worker's state."""
    with _jobs_lock:
        return _jobs.setdefault(id(state), Retrain(state))
