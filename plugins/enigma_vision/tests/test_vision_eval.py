"""``enigma data vision`` → ``enigma eval vision`` → ``enigma bench vision`` on held-out images."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("enigma_vision")

from enigma_vision.captions import mentions
from enigma_vision.evaluate import (
    Tally,
    bleu,
    evaluate_dir,
    score,
)
from enigma_vision.features import ObjectGroup
from enigma_vision.model import Captioner
from enigma_vision.synth import write_dataset


def _enigma(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``enigma`` CLI of this interpreter."""
    exe = Path(sys.executable).with_name("enigma")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "enigma_core.cli.main"]
    env = {**os.environ, "ENIGMA_LOAD_PLUGINS": "vision"}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=180
    )


def test_scoring_counts_errors_and_hallucinations() -> None:
    """A wrong count is an attribute error; an object that is not there is a hallucination."""
    truth = [ObjectGroup(2, "red", "circle", ("top left", "center"))]
    tally = Tally()
    good = mentions("Two red circles at the top left and in the center.")
    assert not score(good, truth, tally)
    wrong = mentions("Three red circles at the top left and in the center.")
    assert score(wrong, truth, tally)
    invented = mentions("Two red circles at the top left and in the center and a blue star.")
    assert score(invented, truth, tally)
    assert bleu(["a red circle"], ["a red circle"]) == pytest.approx(100.0)


def test_template_captions_meet_the_targets(tmp_path: Path) -> None:
    """Held-out procedural images: ≥ 90 % attribute accuracy and no hallucination."""
    write_dataset(tmp_path, 40, seed=4242)
    report = evaluate_dir(tmp_path, Captioner())
    assert report["images"] == 40
    assert report["caption"]["attribute_accuracy"] >= 0.9
    assert report["caption"]["hallucination_rate"] == 0.0
    assert report["features"]["attribute_accuracy"] >= 0.9


def test_cli_data_eval_bench(tmp_path: Path) -> None:
    """The three plugin commands run through the real CLI and print JSON."""
    made = _enigma("data", "vision", "--synthetic", "12", "--out", "held", "--seed", "31",
                   "--qa", "pairs.txt", "--json", cwd=tmp_path)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["images"] == 12
    assert (tmp_path / "held" / "labels.jsonl").read_text().count("\n") == 12
    assert (tmp_path / "pairs.txt").read_text().count("Q: [E:vision]") >= 10
    scored = _enigma("eval", "vision", "--data", "held", "--json", cwd=tmp_path)
    assert scored.returncode == 0, scored.stderr
    report = json.loads(scored.stdout)
    assert report["caption"]["hallucination_rate"] == 0.0
    assert set(report["caption"]) >= {"colours", "shapes", "counts", "positions"}
    timed = _enigma("bench", "vision", "--images", "5", "--json", cwd=tmp_path)
    assert timed.returncode == 0, timed.stderr
    bench = json.loads(timed.stdout)
    assert bench["images"] == 5 and bench["threads"] == 1 and bench["median_ms"] > 0
    bad = _enigma("eval", "vision", "--data", "nowhere", cwd=tmp_path)
    assert bad.returncode == 1 and "labels.jsonl" in bad.stderr
