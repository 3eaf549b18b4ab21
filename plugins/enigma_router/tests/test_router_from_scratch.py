"""``enigma train router --from-scratch``: a training-only option (``TaskOption(route=False)``)
that trains on the n-grams alone, without the MiniLM-derived word vectors. Real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"
ENIGMA = str(Path(sys.executable).with_name("enigma"))


def run(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """One real ``enigma`` process with its own ENIGMA_HOME and one thread."""
    env = {**os.environ, "ENIGMA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.run([ENIGMA, *args], capture_output=True, text=True, env=env, check=False)


def test_from_scratch_trains_without_the_word_vectors(tmp_path: Path) -> None:
    home = tmp_path / "home"
    plain, scratch = tmp_path / "plain", tmp_path / "scratch"
    for out, extra in ((plain, ()), (scratch, ("--from-scratch",))):
        done = run("train", "router", *extra, "--out", str(out), home=home)
        assert done.returncode == 0, done.stderr
    with_vectors = json.loads((plain / "config.json").read_text())["router"]
    without = json.loads((scratch / "config.json").read_text())["router"]
    assert with_vectors["settings"]["vectors"] is True and with_vectors.get("vectors")
    assert without["settings"]["vectors"] is False and not without.get("vectors")
    for model in (plain, scratch):  # both load and answer through the real CLI
        done = run("classify", "--model", str(model), "write a function that adds", home=home)
        assert done.returncode == 0 and done.stdout.startswith("code"), done
    done = run("eval", "router", "--model", str(scratch), "--data", str(HELDOUT), home=home)
    assert done.returncode == 0 and "examples 206" in done.stdout, done


def test_a_training_only_option_is_not_offered_on_route_or_classify(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert "--from-scratch" in run("train", "--help", home=home).stdout
    for command in ("route", "classify"):
        assert "--from-scratch" not in run(command, "--help", home=home).stdout
        refused = run(command, "--from-scratch", "hello", home=home)
        assert refused.returncode != 0
