"""schemathesis against the server's own OpenAPI document: generated requests never get a 5xx.

Bounded for CI: a fixed seed and 10 examples per operation (about 500 requests in all).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.serve_support import KEY, start_server
from tests.venvs import Venv

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,negative_data_rejection"
)


def test_schemathesis_finds_no_server_error(serve_venv: Venv, tmp_path: Path) -> None:
    server = start_server(serve_venv, tmp_path, "--no-access-log")
    cli = Path(sys.executable).with_name("schemathesis")
    args = f"--checks {CHECKS} --max-examples 10 --seed 7 --workers 1 --no-color"
    args += " --phases examples,coverage,fuzzing --generation-database none --request-timeout 60"
    command = [str(cli), "run", f"{server.url}/openapi.json", "-H", f"Authorization: Bearer {KEY}"]
    try:
        done = subprocess.run(
            command + args.split(), capture_output=True, text=True, timeout=600, cwd=tmp_path
        )
    finally:
        assert server.stop() == 0, server.log()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    counts = re.search(r"(\d+) generated, \1 passed", done.stdout)
    assert counts and int(counts.group(1)) > 200, done.stdout[-3000:]
    assert "Traceback" not in server.log()
