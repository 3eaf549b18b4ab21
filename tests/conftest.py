"""Shared fixtures: isolated ENIGMA_HOME, wheels of our packages, real venvs built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enigma_core.testing import isolated_enigma_home  # noqa: F401
from tests.venvs import PLUGIN_DIRS, REPO, Venv, build_wheels, create_venv

SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wheels of enigma-core, the three plugins and the test fixture plugins."""
    projects = [
        REPO,
        *PLUGIN_DIRS.values(),
        *sorted(p for p in FIXTURES.iterdir() if (p / "pyproject.toml").exists()),
    ]
    return build_wheels(tmp_path_factory.mktemp("wheels"), projects)


def _venv(
    tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path, name: str, *reqs: str
) -> Venv:
    env = create_venv(tmp_path_factory.mktemp(name) / "venv", wheelhouse)
    env.pip_install(*reqs)
    return env


@pytest.fixture(scope="session")
def core_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Venv]:
    """enigma-core alone: no plugins, no torch."""
    yield _venv(tmp_path_factory, wheelhouse, "core", "enigma-core")


@pytest.fixture(scope="session")
def router_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Venv]:
    """enigma-core plus enigma-router only."""
    yield _venv(tmp_path_factory, wheelhouse, "router", "enigma-core", "enigma-router")


@pytest.fixture(scope="session")
def code_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Venv]:
    """enigma-core plus enigma-code, no torch: its LM recipe needs torch to train."""
    yield _venv(tmp_path_factory, wheelhouse, "code", "enigma-core", "enigma-code")


@pytest.fixture(scope="session")
def broken_venv(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Venv]:
    """Core plus the deliberately broken fixture plugins and a well-behaved one."""
    yield _venv(
        tmp_path_factory,
        wheelhouse,
        "broken",
        "enigma-core",
        "enigma-broken-import",
        "enigma-broken-hook",
        "enigma-echo",
    )


@pytest.fixture
def shared_benchmarks() -> Path:
    """../shared/benchmarks, or skip when this checkout has no shared folder beside it."""
    path = SHARED / "benchmarks"
    if not path.is_dir():
        pytest.skip(f"shared benchmarks not found at {path} (they live beside the repo)")
    return path
