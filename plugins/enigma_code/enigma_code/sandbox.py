"""Run untrusted candidate code against unit tests behind an OS boundary; judge it here.

Model output and suite code never run in the caller's process. Each candidate runs in a fresh
``python -I -S`` inside Linux namespaces (:mod:`enigma_code.sandbox_isolation`: bubblewrap when
installed, else ``unshare``): its own user, pid, network, mount and IPC namespaces, a private
root with read-only ``/usr`` and Python, a 16 MB tmpfs as the only writable place, no
capabilities, an empty environment; rlimits on CPU time, address space, processes, file size
and open files; at the wall-clock timeout the whole process tree is killed (the pid namespace
ends with its first process). The sandbox only returns the values the calls produced
(:mod:`enigma_code.sandbox_child`); pass or fail is decided here (:mod:`enigma_code.verdict`).
Without a working backend, running refuses with one line unless the caller allows ``none``.
"""

from __future__ import annotations

import ast
import functools
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enigma_code import sandbox_child
from enigma_code.drafts_parse import DRAFT_FILE, parse_draft
from enigma_code.sandbox_isolation import BACKENDS, UNSAFE, Isolation, candidates, unsafe
from enigma_code.sandbox_process import run_process
from enigma_code.verdict import TestPlan, compile_tests, judge
from enigma_core.errors import EnigmaError

DEFAULT_TIMEOUT_S = 5.0
DEFAULT_MEMORY_MB = 512
DEFAULT_PROCS = 8
TMP_BYTES = 16 << 20
OUTPUT_CAP = 4 << 20
MAX_CODE_BYTES = 1 << 20
NO_ISOLATION = (
    "no OS isolation for running model code ({why}): install bubblewrap "
    "(apt-get install bubblewrap) or allow unprivileged user namespaces for unshare, "
    "or pass --unsafe-no-isolation to run it without a boundary"
)


@dataclass(frozen=True)
class SandboxResult:
    """How one candidate fared: ``status`` is passed, failed, error, syntax_error,
    no_function, timeout or crashed; ``isolation`` names the backend that ran it."""

    status: str
    detail: str = ""
    seconds: float = 0.0
    isolation: str = ""
    pid: int = 0

    @property
    def passed(self) -> bool:
        """True when every test assertion held (decided by the parent)."""
        return self.status == "passed"


def resolve_isolation(requested: str | None = None, allow_unsafe: bool = False) -> Isolation:
    """The backend to use: ``requested`` (bwrap, unshare, none) or the best that works.

    Raises a one-line :class:`EnigmaError` when none works and ``allow_unsafe`` is False.
    """
    if requested == UNSAFE:
        return unsafe()
    if requested is not None and requested not in BACKENDS:
        raise EnigmaError(f"unknown sandbox {requested!r}; use one of {', '.join(BACKENDS)}")
    usable, why = _usable()
    for iso in usable:
        if requested in (None, iso.name):
            return iso
    if requested is None and allow_unsafe:
        print(
            "warning: running model code WITHOUT isolation (--unsafe-no-isolation)", file=sys.stderr
        )
        return unsafe()
    reason = (
        why.get(requested, "")
        if requested
        else "; ".join(f"{name}: {why.get(name, 'not installed')}" for name in BACKENDS)
    )
    return _refuse(reason or "not installed")


def backend_status() -> dict[str, str]:
    """Each backend: ``ok`` or why it cannot run code here (probed once per process)."""
    usable, why = _usable()
    ok = {iso.name for iso in usable}
    return {name: "ok" if name in ok else why.get(name, "not installed") for name in BACKENDS}


def _refuse(why: str) -> Isolation:
    """Raise the one-line refusal."""
    raise EnigmaError(NO_ISOLATION.format(why=" ".join(why.split())))


@functools.lru_cache(maxsize=1)
def _usable() -> tuple[tuple[Isolation, ...], dict[str, str]]:
    """Backends that really ran a probe candidate, and why the others did not (once)."""
    usable: list[Isolation] = []
    why: dict[str, str] = {}
    for iso in candidates():
        if any(u.name == iso.name for u in usable):
            continue
        result = _execute(
            iso,
            "def probe():\n    return 41 + 1\n",
            "assert probe() == 42\n",
            "probe",
            timeout=10.0,
            memory_mb=DEFAULT_MEMORY_MB,
        )
        if result.passed:
            usable.append(iso)
            why.pop(iso.name, None)
        else:
            why.setdefault(iso.name, f"{result.status} {result.detail}".strip()[:200])
    return tuple(usable), why


def run_candidate(
    code: str,
    tests: str,
    entry: str,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
    isolation: Isolation | str | None = None,
    allow_unsafe: bool = False,
) -> SandboxResult:
    """Run ``code``, call ``entry`` as ``tests`` ask, and judge the answers here.

    ``tests`` are ``assert`` statements over calls of ``entry`` with literal arguments
    (:func:`enigma_code.verdict.compile_tests`; anything else raises :class:`EnigmaError`).
    If the candidate does not define ``entry``, its last top-level function stands in.
    """
    iso = (
        isolation
        if isinstance(isolation, Isolation)
        else resolve_isolation(isolation, allow_unsafe)
    )
    return _execute(iso, code, tests, entry, timeout, memory_mb)


def _execute(
    iso: Isolation, code: str, tests: str, entry: str, timeout: float, memory_mb: int
) -> SandboxResult:
    """Compile the tests, pre-check the code, run the child in ``iso``, judge its output."""
    plan = compile_tests(tests, entry)
    run = _run_calls(iso, code, entry, plan.calls, timeout, memory_mb)
    if isinstance(run, SandboxResult):
        return run
    record, base = run
    status, detail = _verdict(record, plan)
    return SandboxResult(status, detail, **base)


def probe_candidate(
    code: str,
    entry: str,
    calls: Sequence[tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]],
    iso: Isolation,
    timeout: float = DEFAULT_TIMEOUT_S,
    memory_mb: int = DEFAULT_MEMORY_MB,
) -> tuple[SandboxResult, list[tuple[bool, Any]]]:
    """Run ``code`` in ``iso`` and call ``entry`` with each of ``calls``; what each returned.

    The result is ``ran`` with one ``(True, value)`` or ``(False, "Type: message")`` per call,
    or a failure (syntax_error, no_function, timeout, crashed, error) with no values."""
    run = _run_calls(iso, code, entry, tuple(calls), timeout, memory_mb)
    if isinstance(run, SandboxResult):
        return run, []
    record, base = run
    status = record.get("status")
    if status in ("syntax_error", "error", "no_function"):
        return SandboxResult(str(status), str(record.get("detail", ""))[:300], **base), []
    values = _values(record, len(calls))
    if values is None:
        return SandboxResult("crashed", "malformed result", **base), []
    return SandboxResult("ran", "", **base), values


def _run_calls(
    iso: Isolation,
    code: str,
    entry: str,
    calls: Sequence[tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]],
    timeout: float,
    memory_mb: int,
) -> SandboxResult | tuple[dict[str, Any], dict[str, Any]]:
    """Run the child: its result record and timing fields, or a final failure result."""
    start = time.perf_counter()
    early = _precheck(code)
    if isinstance(early, SandboxResult):
        return early
    nonce = secrets.token_hex(16)
    payload = {
        "code": code,
        "entry": entry,
        "fallback": early,
        "calls": [
            [[sandbox_child.encode(a) for a in args], [[k, sandbox_child.encode(v)] for k, v in kw]]
            for args, kw in calls
        ],
        "nonce": nonce,
        "limits": _limits(iso, timeout, memory_mb),
    }
    jail = iso.jail(TMP_BYTES)
    if jail is not None:
        payload["jail"] = _source("sandbox_jail.py")
        payload["jail_config"] = jail
    with tempfile.TemporaryDirectory(prefix="enigma-sandbox-") as workdir:
        popen = iso.popen()
        if not iso.isolated:
            popen["cwd"] = workdir  # the unsafe backend at least starts in an empty folder
        outcome = run_process(
            iso.argv(_source("sandbox_child.py"), TMP_BYTES),
            json.dumps(payload).encode(),
            timeout,
            OUTPUT_CAP,
            popen,
            done=lambda out: _complete(out, nonce),
        )
    seconds = time.perf_counter() - start
    base = {"seconds": seconds, "isolation": iso.name, "pid": outcome.pid}
    record = _record(outcome.stdout, nonce)
    if isinstance(record, dict):
        return record, base
    if outcome.timed_out:
        return SandboxResult("timeout", f"killed after {timeout:g} s", **base)
    if outcome.overflow:
        return SandboxResult("error", f"output over {OUTPUT_CAP >> 20} MB", **base)
    tail = outcome.stderr_tail.splitlines()[-1:] if outcome.stderr_tail else []
    detail = "; ".join([record or f"exit status {outcome.returncode}", *tail])
    return SandboxResult("crashed", detail[:300], **base)


def _precheck(code: str) -> str | SandboxResult | None:
    """The fallback function name, or a final result for code that cannot even compile."""
    if len(code.encode("utf-8", "replace")) > MAX_CODE_BYTES:
        return SandboxResult("error", f"candidate over {MAX_CODE_BYTES >> 20} MB")
    try:
        compile(code, DRAFT_FILE, "exec", dont_inherit=True)
        tree = parse_draft(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return SandboxResult("syntax_error", f"{type(exc).__name__}: {exc}"[:300])
    defs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return defs[-1] if defs else None


def _limits(iso: Isolation, timeout: float, memory_mb: int) -> dict[str, int]:
    """rlimits the child sets on itself before running the candidate."""
    limits = {
        "memory": memory_mb << 20,
        "cpu": int(timeout) + 1,
        "fsize": TMP_BYTES,
        "files": 64,
        "core": 0,
    }
    if iso.isolated:  # counted per user namespace; outside one it would count all our processes
        limits["procs"] = DEFAULT_PROCS
    return limits


def _complete(out: bytes | bytearray, nonce: str) -> bool:
    """True once a full result line has arrived (later output cannot change anything)."""
    at = out.find(nonce.encode())
    return at >= 0 and out.find(b"\n", at) >= 0


def _record(stdout: bytes, nonce: str) -> dict[str, Any] | str:
    """The child's one result record, or why there is none."""
    lines = [ln for ln in stdout.split(b"\n") if ln.startswith(nonce.encode())]
    if not lines:
        return "no result"
    try:
        record = json.loads(lines[0][len(nonce) :])
    except (ValueError, RecursionError):
        return "malformed result"
    return record if isinstance(record, dict) else "malformed result"


def _verdict(record: dict[str, Any], plan: TestPlan) -> tuple[str, str]:
    """Status and detail: the child's own failure, or the parent's judgement of the values."""
    status = record.get("status")
    if status in ("syntax_error", "error", "no_function"):
        return str(status), str(record.get("detail", ""))[:300]
    results = _values(record, len(plan.calls))
    if results is None:
        return "crashed", "malformed result"
    return judge(plan, results)


def _values(record: dict[str, Any], expected: int) -> list[tuple[bool, Any]] | None:
    """Each call's ``(True, value)`` or ``(False, "Type: message")``; None if malformed."""
    calls = record.get("calls")
    if record.get("status") != "ran" or not isinstance(calls, list) or len(calls) != expected:
        return None
    results: list[tuple[bool, Any]] = []
    try:
        for call in calls:
            if set(call) == {"value"}:
                results.append((True, sandbox_child.decode(call["value"])))
            elif set(call) == {"raised"} and isinstance(call["raised"], str):
                results.append((False, call["raised"][:300]))
            else:
                return None
    except (TypeError, ValueError, KeyError, IndexError, RecursionError):
        return None
    return results


@functools.lru_cache(maxsize=4)
def _source(name: str) -> str:
    """The text of a module beside this one (the child program, the jail)."""
    return (Path(__file__).with_name(name)).read_text(encoding="utf-8")
