"""The runnable examples keep working: each runs to exit 0 with the repo's installed plugins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.venvs import REPO, clean_env

EXAMPLE = REPO / "examples" / "specialized_routing_example.py"


def test_specialized_routing_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True,
        text=True,
        env=clean_env({"ENIGMA_HOME": str(tmp_path)}),
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for part in ("1. basic routing", "2. direct router access", "3. training", "4. modules"):
        assert part in done.stdout
    assert "generate('hello there!') -> Hello!" in done.stdout
    assert "module chat_fallback" in done.stdout and "plugin builtin" in done.stdout
