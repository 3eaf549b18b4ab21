"""Run untrusted candidate code against unit tests in a separate, limited Python process.

Model output is never executed in the caller's process. Each candidate runs in a fresh
``python -I -S`` child in an empty temporary directory with: a wall-clock timeout (the whole
process group is SIGKILLed), CPU-time, address-space, file-size and open-file limits, a
private network namespace when the kernel allows one, and an audit hook that refuses network,
subprocess/fork/exec, signals, ctypes and writing or deleting files. This is defence in depth
for evaluating a small model's functions, not a security boundary for hostile code.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_MB = 512

# The child program. It reads {"code", "tests", "entry", "nonce", "cpu", "mem"} on stdin and
# prints one line: the nonce followed by {"status", "detail"} as JSON.
_RUNNER = r"""
import ast, io, json, os, resource, sys
payload = json.loads(sys.stdin.read())
nonce, out = payload["nonce"], sys.stdout
def report(status, detail="", isolation=""):
    out.write(nonce + json.dumps({"status": status, "detail": str(detail)[:300],
                                  "isolation": isolation}) + "\n")
    out.flush()
    os._exit(0)
mem = payload["mem"] * 1024 * 1024
for name, value in (("RLIMIT_AS", mem), ("RLIMIT_CPU", payload["cpu"]),
                    ("RLIMIT_FSIZE", 1 << 20), ("RLIMIT_NOFILE", 64), ("RLIMIT_CORE", 0)):
    try:
        resource.setrlimit(getattr(resource, name), (value, value))
    except (ValueError, OSError, AttributeError):
        pass
isolation = "audit"
try:
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    for flags in (0x40000000, 0x40000000 | 0x10000000):  # CLONE_NEWNET, + CLONE_NEWUSER
        if libc.unshare(flags) == 0:
            isolation = "netns+audit"
            break
except Exception:
    pass
BLOCKED = ("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
           "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.remove", "os.unlink",
           "os.rmdir", "os.rename", "os.truncate", "os.chmod", "os.chown", "os.link",
           "os.symlink", "os.putenv", "shutil.", "ctypes.", "urllib.", "webbrowser.",
           "sys.setrecursionlimit", "os.setuid", "pty.", "signal.")
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
def hook(event, args):
    if event.startswith(BLOCKED):
        raise PermissionError(f"sandbox: {event} is not allowed")
    if event == "open" and len(args) >= 3:
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & WRITE):
            raise PermissionError("sandbox: writing files is not allowed")
sys.addaudithook(hook)
namespace = {"__name__": "candidate", "__builtins__": __builtins__}
sys.stdout = sys.stderr = io.StringIO()
try:
    code = compile(payload["code"], "<candidate>", "exec")
except (SyntaxError, ValueError) as exc:
    report("syntax_error", exc, isolation)
try:
    exec(code, namespace)
    entry = payload["entry"]
    if not callable(namespace.get(entry)):
        defs = [n.name for n in ast.parse(payload["code"]).body
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        if not defs:
            report("no_function", "the candidate defines no top-level function", isolation)
        namespace[entry] = namespace[defs[-1]]
    exec(compile(payload["tests"], "<tests>", "exec"), namespace)
except AssertionError as exc:
    report("failed", exc, isolation)
except BaseException as exc:
    report("error", f"{type(exc).__name__}: {exc}", isolation)
report("passed", "", isolation)
"""


@dataclass(frozen=True)
class SandboxResult:
    """How one candidate fared: ``status`` is passed, failed, error, syntax_error,
    no_function, timeout or crashed; ``isolation`` says which network guard applied."""

    status: str
    detail: str = ""
    seconds: float = 0.0
    isolation: str = ""
    pid: int = 0

    @property
    def passed(self) -> bool:
        """True when every test assertion held."""
        return self.status == "passed"


def run_candidate(
    code: str,
    tests: str,
    entry: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> SandboxResult:
    """Run ``code`` then ``tests`` (asserts calling ``entry``) in a limited child process.

    If the candidate does not define ``entry``, its last top-level function is bound to that
    name, so a correct function with another name still counts.
    """
    nonce = secrets.token_hex(8)
    payload = json.dumps(
        {
            "code": code,
            "tests": tests,
            "entry": entry,
            "nonce": nonce,
            "cpu": int(timeout) + 1,
            "mem": memory_mb,
        }
    )
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="enigma-sandbox-") as workdir:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=workdir,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            start_new_session=True,
        )
        try:
            stdout, _ = proc.communicate(payload.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            elapsed = time.perf_counter() - start
            return SandboxResult("timeout", f"killed after {timeout:g} s", elapsed, "", proc.pid)
        finally:
            _kill_group(proc)
    seconds = time.perf_counter() - start
    for line in reversed(stdout.decode("utf-8", "replace").splitlines()):
        if line.startswith(nonce):
            row = json.loads(line[len(nonce) :])
            return SandboxResult(row["status"], row["detail"], seconds, row["isolation"], proc.pid)
    return SandboxResult("crashed", f"exit status {proc.returncode}", seconds, "", proc.pid)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's whole process group and reap it (no-op once it is gone)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, ValueError):
        proc.communicate(timeout=5)
