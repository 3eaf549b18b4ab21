"""Start one sandbox process, feed it, read its output within limits, kill its whole tree.

The parent never blocks on the child: stdin is written and stdout/stderr are read through one
selector loop with a wall-clock deadline and byte caps (a child that floods its output is
killed, not buffered). At the end every process under the child (found through
``/proc/<pid>/task/*/children``) and the child's process group are SIGKILLed and the child
is reaped; with a pid namespace, killing its first process ends every process inside it.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

CHUNK = 65536


@dataclass(frozen=True)
class ProcessOutcome:
    """What came back: stdout (at most the cap), the tail of stderr, and how it ended."""

    stdout: bytes
    stderr_tail: str
    returncode: int | None
    timed_out: bool
    overflow: bool
    pid: int


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children first), from /proc; [] where unsupported."""
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as f:
                    children = [int(c) for c in f.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(children)
            todo.extend(children)
    return found


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child, everything below it and its process group; reap the child."""
    if proc.poll() is None:
        for pid in [*descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def run_process(
    argv: Sequence[str],
    stdin: bytes,
    timeout: float,
    out_cap: int,
    popen: dict[str, Any] | None = None,
    done: Callable[[bytes | bytearray], bool] | None = None,
) -> ProcessOutcome:
    """Run ``argv`` with ``stdin``; stop at EOF on stdout, when ``done(stdout)``, at the
    deadline or past ``out_cap`` bytes."""
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **{"cwd": "/", **(popen or {})},
    )
    out, err = bytearray(), bytearray()
    timed_out = overflow = False
    deadline = time.monotonic() + timeout
    pending = memoryview(stdin)
    assert proc.stdin and proc.stdout and proc.stderr
    os.set_blocking(proc.stdin.fileno(), False)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdin, selectors.EVENT_WRITE)
    sel.register(proc.stdout, selectors.EVENT_READ)
    sel.register(proc.stderr, selectors.EVENT_READ)
    try:
        while proc.stdout in _files(sel):
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(left):
                if key.fileobj is proc.stdin:
                    try:
                        pending = pending[os.write(proc.stdin.fileno(), pending[:CHUNK]) :]
                    except (BrokenPipeError, BlockingIOError):
                        pending = pending[:0]
                    if not pending:
                        sel.unregister(proc.stdin)
                        proc.stdin.close()
                    continue
                data = os.read(key.fileobj.fileno(), CHUNK)  # type: ignore[union-attr]
                if not data:
                    sel.unregister(key.fileobj)
                elif key.fileobj is proc.stdout:
                    out += data
                    overflow = len(out) > out_cap
                else:
                    err = (err + data)[-4096:]
            if overflow or (done is not None and done(out)):
                break
    finally:
        sel.close()
        kill_tree(proc)
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                pipe.close()
    return ProcessOutcome(
        bytes(out[:out_cap]),
        err.decode("utf-8", "replace").strip()[-500:],
        proc.returncode,
        timed_out,
        overflow,
        proc.pid,
    )


def _files(sel: selectors.BaseSelector) -> list[Any]:
    """The file objects still registered."""
    return [key.fileobj for key in sel.get_map().values()]
