"""The CLI around dispatch: requests starting with '-', plugin-declared options, plain help,
ENIGMA_HOME mistakes, and plugins that exit, interrupt or hang (the user's Ctrl-C still works)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.venvs import Venv, clean_env, create_venv


@pytest.fixture(scope="module")
def unruly_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Venv]:
    """Core plus plugins that misbehave (sys.exit at import, exiting/interrupting/hanging hooks)."""
    env = create_venv(tmp_path_factory.mktemp("unruly") / "venv", wheelhouse)
    env.pip_install("enigma-core", "enigma-unruly", "enigma-exit-import", "enigma-echo")
    yield env


@pytest.mark.parametrize("args", [["-40 C to F"], ["--", "-40 C to F"]])
def test_requests_that_start_with_a_dash_route(core_venv: Venv, args: list[str]) -> None:
    done = core_venv.run("route", "--json", *args)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["text"] == "-40 C to F" and out["status"] == "ok"
    done = core_venv.run("classify", *args)
    assert done.returncode == 0, done.stderr


def test_classifier_options_come_from_the_plugin_that_classifies(
    core_venv: Venv, router_venv: Venv
) -> None:
    assert b"--oos-threshold" not in core_venv.run("route", "--help").stdout
    helptext = router_venv.run("classify", "--help").stdout.decode()
    assert "--model" in helptext and "--oos-threshold" in helptext and "[router]" in helptext
    out = router_venv.json("classify", "--oos-threshold", "1.0", "hello there")
    assert out["intent"] == "oos" and out["details"]["calibration"]["threshold"] == 1.0
    bad = router_venv.run("classify", "--oos-threshold", "5", "hi")
    assert bad.returncode == 2 and b"--oos-threshold" in bad.stderr


def test_help_has_no_escaped_markup(core_venv: Venv) -> None:
    for args in (["plugins", "info", "--help"], ["train", "--help"], ["new-plugin", "--help"]):
        out = core_venv.run(*args).stdout.decode()
        assert "[required]" in out and "\\[" not in out, out


def test_enigma_home_that_is_a_file_is_one_line(core_venv: Venv, tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    done = core_venv.run("route", "hello", env={"ENIGMA_HOME": str(home)})
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        f"enigma: error: ENIGMA_HOME={home}: not a directory (point it at a folder)"
    )


def test_sys_exit_at_import_is_a_plugin_error(unruly_venv: Venv) -> None:
    done = unruly_venv.run("plugins", "--json")
    assert done.returncode == 0, done.stderr
    assert b'"exit_import"' in done.stdout and b"SystemExit: 4" in done.stdout
    assert unruly_venv.json("route", "echo hi")["output"] == "echo: echo hi"


@pytest.mark.parametrize(
    ("request_text", "message"),
    [
        ("quitter please", "failed to run task 'quitter': SystemExit: 5"),
        ("interrupter please", "failed to run task 'interrupter': KeyboardInterrupt"),
    ],
)
def test_hooks_that_exit_or_interrupt_are_contained(
    unruly_venv: Venv, request_text: str, message: str
) -> None:
    done = unruly_venv.run("route", request_text)
    assert done.returncode == 1
    assert (
        done.stderr.decode().strip().splitlines()[-1] == f"enigma: error: plugin 'unruly' {message}"
    )


def test_the_users_ctrl_c_still_stops_a_hung_hook(unruly_venv: Venv) -> None:
    proc = subprocess.Popen(
        [unruly_venv.enigma, "route", "sleeper please"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    line = b""
    while b"sleeping" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(timeout=20)
    finally:
        proc.kill()
    assert rc == 130 and b"Traceback" not in proc.stderr.read()
