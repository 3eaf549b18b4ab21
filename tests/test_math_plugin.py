"""The worked third-party plugin ``examples/enigma_math``, pip-installed beside enigma-core.

Installing it makes arithmetic and percentage requests route to it; answers are exact.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.venvs import REPO, Venv, build_wheels, clean_env, create_venv

MATH = REPO / "examples" / "enigma_math"

EXACT = {
    "what is 17% of 240": "17% of 240 = 40.8",
    "12*(3+4)": "12 * (3 + 4) = 84",
    "what's 2^10": "2^10 = 1024",
    "15 percent of 80": "15% of 80 = 12",
    "what is 3 plus 4 times 2?": "3 + 4 * 2 = 11",
    "what is 1,000,000 divided by 8": "1000000 / 8 = 125000",
    "sqrt(2)": "sqrt(2) ≈ 1.41421356237",
    "what is 0.1 + 0.2": "0.1 + 0.2 = 0.3",
}


@pytest.fixture(scope="module")
def math_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Venv:
    """enigma-core, enigma-math (from its freshly built wheel) and pytest."""
    root = tmp_path_factory.mktemp("math")
    wheels = build_wheels(root / "wheels", [MATH])
    env = create_venv(root / "venv", wheelhouse)
    env.pip_install("enigma-core", "pytest", str(next(wheels.glob("enigma_math-*.whl"))))
    return env


def test_plugins_lists_it_with_its_hooks(math_venv: Venv) -> None:
    plugins = {p["name"]: p for p in math_venv.json("plugins")["plugins"]}
    math = plugins["math"]
    assert (math["status"], math["distribution"], math["tasks"]) == ("ok", "enigma-math", ["math"])
    assert {"enigma_register_tasks", "enigma_execute_task", "enigma_register_commands"} <= set(
        math["hooks"]
    )


def test_math_requests_route_to_it_and_answers_are_exact(math_venv: Venv, tmp_path: Path) -> None:
    batch = tmp_path / "requests.txt"
    batch.write_text("\n".join(EXACT) + "\n", encoding="utf-8")
    done = math_venv.run("route", "--batch", str(batch))
    assert done.returncode == 0, done.stderr.decode()
    results = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [r["text"] for r in results] == list(EXACT)
    for result in results:
        assert (result["intent"], result["task"], result["plugin"]) == ("math", "math", "math")
        assert result["output"] == EXACT[result["text"]]
    assert results[0]["data"]["fraction"] == "204/5" and results[0]["data"]["exact"] is True


def test_other_requests_still_go_elsewhere(math_venv: Venv) -> None:
    assert math_venv.json("route", "hello there")["task"] == "chat"
    code = math_venv.json("route", "write a python function that returns 2*3")
    assert code["intent"] == "code" and code["status"] == "missing_plugin"


def test_hostile_input_gets_a_clear_answer(math_venv: Venv) -> None:
    out = math_venv.json("route", "what is 9^9^9")
    assert out["task"] == "math" and "too large" in out["output"]
    out = math_venv.json("route", "what is 5 * (1/0)")
    assert out["output"] == "I can't compute 5 * (1 / 0): division by zero."


def test_its_calc_command(math_venv: Venv) -> None:
    done = math_venv.run("calc", "1/3")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == "1 / 3 = 1/3 ≈ 0.333333333333\n"
    done = math_venv.run("calc", "17%", "of", "240", "--json")
    assert json.loads(done.stdout)["output"] == "17% of 240 = 40.8"
    failed = math_venv.run("calc", "1/0")
    assert failed.returncode == 1
    assert failed.stderr.decode().strip() == (
        "enigma: error: I can't compute 1 / 0: division by zero."
    )


def test_its_own_test_suite_passes(math_venv: Venv, tmp_path: Path) -> None:
    done = subprocess.run(
        [math_venv.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(MATH / "tests")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # import the installed package, not the source tree
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
