"""Real virtualenvs for tests: wheels of our packages are built once, then pip-installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = {
    "enigma-router": REPO / "plugins" / "enigma_router",
    "enigma-vision": REPO / "plugins" / "enigma_vision",
    "enigma-code": REPO / "plugins" / "enigma_code",
    "enigma-openai": REPO / "plugins" / "enigma_openai",
}


def build_wheels(out: Path, projects: list[Path]) -> Path:
    """Build wheels of ``projects`` (no deps) into ``out`` with the running interpreter's pip."""
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        str(out),
        *map(str, projects),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


@dataclass
class Venv:
    """A created virtualenv with helpers to install packages and run its ``enigma``."""

    path: Path
    wheelhouse: Path

    @property
    def python(self) -> str:
        """Its interpreter."""
        return str(self.path / "bin" / "python")

    @property
    def enigma(self) -> str:
        """Its console script."""
        return str(self.path / "bin" / "enigma")

    def pip_install(self, *requirements: str) -> None:
        """pip-install into this venv, preferring our freshly built wheels."""
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "--python",
            self.python,
            "install",
            "-q",
            "--disable-pip-version-check",
            "--find-links",
            str(self.wheelhouse),
            *requirements,
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pip install {requirements} failed:\n{done.stdout}\n{done.stderr}")

    def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``enigma ARGS`` in this venv (bytes in, bytes out)."""
        full_env = clean_env(env)
        return subprocess.run(
            [self.enigma, *args], input=stdin, capture_output=True, env=full_env, timeout=timeout
        )

    def run_python(
        self, code: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run Python code in this venv's interpreter."""
        return subprocess.run(
            [self.python, "-c", code],
            capture_output=True,
            text=True,
            env=clean_env(env),
            timeout=timeout,
        )

    def json(self, *args: str, env: dict[str, str] | None = None) -> object:
        """Run ``enigma ARGS --json`` and parse stdout; fail loudly on a non-zero exit."""
        done = self.run(*args, "--json", env=env)
        assert done.returncode == 0, done.stderr.decode()
        return json.loads(done.stdout)


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for child processes, without our own ENIGMA_* switches leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENIGMA_")}
    env.pop("PYTHONPATH", None)
    env.update(extra or {})
    return env


def create_venv(path: Path, wheelhouse: Path) -> Venv:
    """A fresh venv without pip (the test runner's pip installs into it via --python)."""
    venv.EnvBuilder(with_pip=False, clear=True).create(path)
    return Venv(path=path, wheelhouse=wheelhouse)


_IMPORT_SPY = """
import importlib.abc, sys
HEAVY = {heavy!r}
tried = []
class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if name in HEAVY or top in HEAVY:
            tried.append(name if name in HEAVY else top)
        return None
sys.meta_path.insert(0, Spy())
from enigma_core.cli.main import run
sys.argv = ["enigma", *{args!r}]
code = 0
try:
    run()
except SystemExit as exc:
    code = exc.code
heavy = sorted(set(tried) | {{m for m in HEAVY if m in sys.modules}})
print("EXIT=" + str(code))
print("HEAVY=" + ",".join(heavy))
"""


def import_spy(args: list[str], heavy: tuple[str, ...]) -> str:
    """Python code that runs ``enigma ARGS`` in-process and prints ``EXIT=`` and ``HEAVY=``:
    every module of ``heavy`` it even tried to import (a failed import of an absent one counts)."""
    return _IMPORT_SPY.format(heavy=heavy, args=args)
