"""``enigma new-plugin``: the project it writes installs, is discovered, routed to, tests green.

One venv per module: enigma-core and pytest from our wheels, then the scaffolded plugin's
wheel, exactly as a plugin author would install it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from enigma_core import PLUGIN_API_VERSION
from tests.venvs import Venv, build_wheels, clean_env, create_venv

NAME = "weather"


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> tuple[Venv, Path]:
    """A venv with enigma-core, then ``enigma new-plugin weather`` written and installed."""
    root = tmp_path_factory.mktemp("scaffold")
    env = create_venv(root / "venv", wheelhouse)
    env.pip_install("enigma-core", "pytest")
    project = root / f"enigma_{NAME}"
    done = env.run("new-plugin", NAME, "--dir", str(project), "--json")
    assert done.returncode == 0, done.stderr.decode()
    created = json.loads(done.stdout)
    assert created["distribution"] == "enigma-weather" and created["package"] == "enigma_weather"
    wheels = build_wheels(root / "wheels", [project])
    env.pip_install(str(next(wheels.glob("enigma_weather-*.whl"))))
    return env, project


def _one_line_error(done: subprocess.CompletedProcess[bytes]) -> str:
    assert done.returncode == 1
    err = done.stderr.decode().strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_writes_a_complete_lint_clean_package(scaffold: tuple[Venv, Path]) -> None:
    _, project = scaffold
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "enigma_weather/__init__.py",
        "enigma_weather/plugin.py",
        "pyproject.toml",
        "tests/test_plugin.py",
    ]
    pyproject = (project / "pyproject.toml").read_text()
    assert 'name = "enigma-weather"' in pyproject
    assert '[project.entry-points.enigma]\nweather = "enigma_weather.plugin"' in pyproject
    assert '"enigma-core>=0.1,<0.2"' in pyproject
    plugin = (project / "enigma_weather" / "plugin.py").read_text()
    assert f'ENIGMA_PLUGIN_API = ">={PLUGIN_API_VERSION},<2"' in plugin
    assert "@hookimpl" in plugin and "keywords=" in plugin and "examples=" in plugin
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(project)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_plugins_lists_it(scaffold: tuple[Venv, Path]) -> None:
    env, _ = scaffold
    plugins = {p["name"]: p for p in env.json("plugins")["plugins"]}
    assert plugins[NAME]["status"] == "ok", plugins[NAME]
    assert (plugins[NAME]["distribution"], plugins[NAME]["version"]) == ("enigma-weather", "0.1.0")
    assert plugins[NAME]["tasks"] == [NAME]
    assert "enigma_execute_task" in plugins[NAME]["hooks"]


def test_route_reaches_it_by_keyword(scaffold: tuple[Venv, Path]) -> None:
    env, _ = scaffold
    out = env.json("route", "what is the weather like in Paris?")
    assert (out["task"], out["plugin"], out["via"]) == (NAME, NAME, "keywords")
    assert out["output"] == "[weather] you asked: what is the weather like in Paris?"
    assert env.json("route", "hello there")["task"] == "chat"


def test_its_own_test_suite_passes(scaffold: tuple[Venv, Path], tmp_path: Path) -> None:
    env, project = scaffold
    done = subprocess.run(
        [env.python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project / "tests")],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # import the installed package, not the source tree
        env=clean_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_refuses_bad_names_and_existing_projects(
    scaffold: tuple[Venv, Path], tmp_path: Path
) -> None:
    env, project = scaffold
    assert "invalid plugin name 'Weather-Now'" in _one_line_error(
        env.run("new-plugin", "Weather-Now", "--dir", str(tmp_path / "a"))
    )
    assert "e.g. 'weather_now'" in _one_line_error(env.run("new-plugin", "Weather-Now"))
    for reserved in ("chat", "router", "code", "vision"):
        err = _one_line_error(env.run("new-plugin", reserved, "--dir", str(tmp_path / reserved)))
        assert "taken by enigma itself" in err
    before = (project / "enigma_weather" / "plugin.py").read_text()
    err = _one_line_error(env.run("new-plugin", "other", "--dir", str(project)))
    assert "directory is not empty" in err
    assert (project / "enigma_weather" / "plugin.py").read_text() == before
    (tmp_path / "file").write_text("x")
    err = _one_line_error(env.run("new-plugin", "other", "--dir", str(tmp_path / "file")))
    assert "not a directory" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing half-written


def test_an_empty_directory_is_filled(scaffold: tuple[Venv, Path], tmp_path: Path) -> None:
    env, _ = scaffold
    (tmp_path / "empty").mkdir()
    done = env.run("new-plugin", "unit_convert", "--dir", str(tmp_path / "empty"))
    assert done.returncode == 0, done.stderr.decode()
    assert "created enigma-unit-convert" in done.stdout.decode()
    assert (tmp_path / "empty" / "enigma_unit_convert" / "plugin.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]  # no temp dir left behind
