"""enigma-openai installs alone next to enigma-core (real wheels, a fresh venv): its config
tasks list, route by keyword and answer from a server on 127.0.0.1, and nothing that does not
run a backend task imports the HTTP stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from enigma_openai.fake_server import FakeServer, start_fake_server

from tests.venvs import Venv, create_venv, import_spy

HEAVY = ("httpx", "httpx_sse", "httpcore", "torch")


@pytest.fixture(scope="module")
def openai_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Venv]:
    """enigma-core plus enigma-openai only (no router, no torch)."""
    env = create_venv(tmp_path_factory.mktemp("openai") / "venv", wheelhouse)
    env.pip_install("enigma-core", "enigma-openai")
    yield env


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    fake = start_fake_server()
    yield fake
    fake.stop()


@pytest.fixture
def home(tmp_path: Path, server: FakeServer) -> dict[str, str]:
    config = {
        "backends": {"local": {"base_url": server.url, "model": "echo"}},
        "tasks": {"weather": {"backend": "local", "keywords": ["forecast", "umbrella"]}},
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    return {"ENIGMA_HOME": str(tmp_path)}


def test_installed_alone_it_lists_routes_and_streams(
    openai_venv: Venv, home: dict[str, str]
) -> None:
    plugins = openai_venv.json("plugins", env=home)["plugins"]
    assert [p["name"] for p in plugins] == ["builtin", "openai"]
    assert plugins[1]["origins"] == {"local": "config", "weather": "config"}
    done = openai_venv.run("route", "do I need an umbrella in Oslo?", env=home)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"echo: do I need an umbrella in Oslo?\n"
    assert b"via keywords -> weather]" in done.stderr
    api = openai_venv.run_python(
        "from enigma_core import EnigmaEngine\n"
        "r = EnigmaEngine(use_routing=True).route('forecast for Rome')\n"
        "print(r.task, r.output, sep='|')\n",
        env=home,
    )
    assert api.returncode == 0 and api.stdout == "weather|echo: forecast for Rome\n", api.stderr


def test_only_a_backend_task_imports_the_http_client(
    openai_venv: Venv, home: dict[str, str]
) -> None:
    for args in (["--help"], ["plugins"], ["route", "hello there"], ["classify", "forecast"]):
        done = openai_venv.run_python(import_spy(args, HEAVY), env=home)
        assert "EXIT=0\n" in done.stdout, done.stdout + done.stderr
        assert done.stdout.rstrip().endswith("HEAVY="), (args, done.stdout)
    used = openai_venv.run_python(import_spy(["route", "forecast for Rome"], HEAVY), env=home)
    assert "EXIT=0\n" in used.stdout and "HEAVY=httpcore,httpx,httpx_sse" in used.stdout
