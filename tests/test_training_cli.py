"""`enigma train` end to end through the real CLI: good data trains a usable model, bad data
gives a one-line file:line error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.venvs import REPO, clean_env

ENIGMA = str(Path(sys.executable).with_name("enigma"))


def _enigma(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = clean_env({"ENIGMA_HOME": str(home)})
    return subprocess.run([ENIGMA, *args], capture_output=True, text=True, env=env, timeout=300)


def test_malformed_router_data_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "router_bad.txt"
    bad.write_text("Q: hello there\nA: [E:tool]chat\nQ: draw a cat\nA: image\n", encoding="utf-8")
    done = _enigma(
        "train", "router", "--data", str(bad), "--out", str(tmp_path / "m"), home=tmp_path
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr
    assert "router_bad.txt:4" in lines[0] and "[E:tool]" in lines[0]


def test_train_router_then_route_with_it(tmp_path: Path) -> None:
    out = tmp_path / "router"
    data = REPO / "data" / "specialized" / "router_training.txt"
    done = _enigma(
        "train",
        "router",
        "--data",
        str(data),
        "--epochs",
        "3",
        "--out",
        str(out),
        "--json",
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["task"] == "router" and summary["best_value"] > 0.5
    config = json.loads((out / "config.json").read_text())
    assert config["tokenizer"]["sha256"] and set(config["labels"]) >= {"chat", "code", "vision"}
    assert (out / "model.safetensors").stat().st_size > 0
    assert len(config["metrics"]["history"]) == 3  # per-epoch figures (no loss.png: no matplotlib)
    routed = _enigma(
        "classify", "--model", str(out), "--json", "write a python function", home=tmp_path
    )
    assert routed.returncode == 0, routed.stderr
    assert json.loads(routed.stdout)["via"] == "model"
