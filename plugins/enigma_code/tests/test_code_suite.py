"""The pass@1 task suite and the sandbox that runs candidates in a limited subprocess."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from enigma_code.qa import read_pairs
from enigma_code.sandbox import run_candidate
from enigma_code.suite import load_suite, parse_suite

from enigma_core.errors import EnigmaError

REPO = Path(__file__).resolve().parents[3]


def test_suite_has_50_tasks_whose_references_pass() -> None:
    tasks = load_suite()
    assert len(tasks) >= 50
    failures = {}
    for task in tasks:
        result = run_candidate(task.reference, task.tests, task.entry)
        if not result.passed:
            failures[task.id] = result
    assert failures == {}


def test_suite_never_overlaps_the_training_requests() -> None:
    training = {p.prompt.lower() for p in read_pairs(REPO / "data/specialized/code_training.txt")}
    assert {t.prompt.lower() for t in load_suite()}.isdisjoint(training)


def test_a_wrong_or_renamed_candidate() -> None:
    task = next(t for t in load_suite() if t.id == "square")
    assert run_candidate("def square(x):\n    return x + x\n", task.tests, task.entry).status == (
        "failed"
    )
    renamed = run_candidate("def sq(n):\n    return n ** 2\n", task.tests, task.entry)
    assert renamed.passed  # the last defined function stands in for the expected name
    assert run_candidate("x = 1\n", task.tests, task.entry).status == "no_function"
    assert run_candidate("def square(x:\n", task.tests, task.entry).status == "syntax_error"


def test_sandbox_kills_a_candidate_that_loops_forever() -> None:
    code = "def spin(x):\n    while True:\n        x += 1\n"
    start = time.monotonic()
    result = run_candidate(code, "spin(1)", "spin", timeout=1.0)
    assert result.status == "timeout"
    assert time.monotonic() - start < 10
    with pytest.raises(ProcessLookupError):  # the child (and its group) is gone, not orphaned
        os.kill(result.pid, 0)


def test_sandbox_blocks_network_processes_and_writes(tmp_path: os.PathLike[str]) -> None:
    target = os.path.join(tmp_path, "written.txt")
    cases = {
        "socket": "import socket\ndef f():\n    socket.create_connection(('127.0.0.1', 9))\n",
        "fork": "import os\ndef f():\n    os.fork()\n",
        "subprocess": "import subprocess\ndef f():\n    subprocess.run(['true'])\n",
        "write": f"def f():\n    open({target!r}, 'w').write('x')\n",
    }
    for name, code in cases.items():
        result = run_candidate(code, "f()", "f")
        assert result.status == "error", (name, result)
        assert "PermissionError" in result.detail, (name, result)
    assert not os.path.exists(target)


def test_sandbox_limits_memory() -> None:
    result = run_candidate("def f():\n    return bytearray(2 << 30)\n", "f()", "f", memory_mb=256)
    assert result.status == "error" and "MemoryError" in result.detail


def test_malformed_suite_names_the_line() -> None:
    with pytest.raises(EnigmaError, match=r"suite\.txt:2: task 'x' has no entry"):
        parse_suite("\n### x\nprompt: do it\n--- reference\npass\n--- tests\nassert 1\n")
    with pytest.raises(EnigmaError, match=r"suite\.txt:1: text outside"):
        parse_suite("oops\n")
