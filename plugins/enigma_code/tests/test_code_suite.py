"""The pass@1 task suite, the sandbox that runs candidates, and `enigma eval code` around them.

Escape attempts against the sandbox are in test_sandbox_escapes.py; the parent-side verdict
in test_sandbox_verdict.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
    training = {
        p.prompt.lower()
        for path in (REPO / "data/specialized").glob("code_training*.txt")
        for p in read_pairs(path)
    }
    assert len(training) >= 150  # both hand-written files
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


def test_sandbox_limits_memory() -> None:
    result = run_candidate("def f():\n    return bytearray(2 << 30)\n", "f()", "f", memory_mb=256)
    assert result.status == "error" and "MemoryError" in result.detail


def test_malformed_suite_names_the_line() -> None:
    with pytest.raises(EnigmaError, match=r"suite\.txt:2: task 'x' has no entry"):
        parse_suite("\n### x\nprompt: do it\n--- reference\npass\n--- tests\nassert 1\n")
    with pytest.raises(EnigmaError, match=r"suite\.txt:1: text outside"):
        parse_suite("oops\n")


def test_suite_tests_that_are_code_name_their_line() -> None:
    text = (
        "### x\nprompt: do it\nentry: f\n--- reference\ndef f():\n    return 1\n"
        "--- tests\nassert f() == 1\nimport os\n"
    )
    with pytest.raises(EnigmaError, match=r"suite\.txt:9: tests may hold only `assert`"):
        parse_suite(text)
    with pytest.raises(EnigmaError, match=r"suite\.txt:8: tests cannot use arguments of f\(\)"):
        parse_suite(text.replace("assert f() == 1\nimport os", "assert f(open('x')) == 1"))


ENIGMA = str(Path(sys.executable).with_name("enigma"))
SUITE = (
    "### square\nprompt: write a function that returns the square of a number\nentry: square\n"
    "--- reference\ndef square(x):\n    return x * x\n--- tests\nassert square(3) == 9\n"
)


def _eval_code(
    tmp_path: Path, *extra: str, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`enigma eval code` on a one-task suite and one held-out pair (a real run)."""
    (tmp_path / "suite.txt").write_text(SUITE)
    pair = {
        "prompt": "write a function that adds two numbers",
        "completion": "def add(a, b):\n    return a + b\n",
    }
    (tmp_path / "held.jsonl").write_text(json.dumps(pair) + "\n")
    env = dict(os.environ, PATH=path or os.environ.get("PATH", ""))
    cmd = [ENIGMA, "eval", "code", "--suite", "suite.txt", "--data", "held.jsonl", "--limit", "1"]
    return subprocess.run(
        [*cmd, *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_eval_code_names_the_sandbox_backend(tmp_path: Path) -> None:
    done = _eval_code(tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    suite = json.loads(done.stdout)["suite"]
    assert suite["isolation"] in ("bwrap", "unshare")
    assert suite["tasks"] == 1


def test_eval_code_refuses_without_isolation(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"  # PATH with neither bwrap nor unshare
    empty.mkdir()
    refused = _eval_code(tmp_path, path=str(empty))
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "--unsafe-no-isolation" in lines[0], refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = _eval_code(tmp_path, "--unsafe-no-isolation", "--json", path=str(empty))
    assert allowed.returncode == 0, allowed.stderr
    assert json.loads(allowed.stdout)["suite"]["isolation"] == "none"
    assert "WITHOUT isolation" in allowed.stderr


def test_suite_has_150_tasks_split_into_tune_and_report_parts() -> None:
    tasks = load_suite()
    parts = {t.part for t in tasks}
    assert len(tasks) >= 150 and parts == {"tune", "report"}
    assert sum(t.part == "report" for t in tasks) >= 75
    block = "### t\nprompt: p\nentry: f\npart: {part}\n--- reference\ndef f():\n    return 1\n"
    block += "--- tests\nassert f() == 1\n"
    assert parse_suite(block.format(part="report"))[0].part == "report"
    with pytest.raises(EnigmaError, match=r"suite.txt:4: part must be one of tune, report"):
        parse_suite(block.format(part="train"))


def test_training_drops_mined_pairs_whose_request_is_a_suite_task(tmp_path: Path) -> None:
    from enigma_code.recipe import parse_file

    task = load_suite()[0]
    mined = tmp_path / "mined.jsonl"
    rows = [
        {"prompt": task.prompt, "completion": "def f(a, b):\n    return a + b\n"},
        {"prompt": "write a function that returns one", "completion": "def one():\n    return 1\n"},
    ]
    mined.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert [p.prompt for p in parse_file(mined)] == ["write a function that returns one"]
