"""The router's linear member: liblinear's exact SVM, fused with the MLP; optional at training.

Trains real routers on the shipped default data (no ../shared needed): with scikit-learn the
model carries a fitted linear member that changes the logits; when scikit-learn cannot be
imported (a fresh process whose path shadows it) training says so on stderr and still works.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "data" / "specialized" / "router_training.txt"
TRAIN = """
import sys
from pathlib import Path
from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe
from enigma_core.training.run import TrainArgs, run_training
run_training(make_router_recipe(None, hyper=DEFAULT_HYPER.replace(epochs=3)),
             TrainArgs(out=Path(sys.argv[1]), data=(Path(sys.argv[2]),), progress=False,
                       threads=1, checkpoint_every=0, checkpoint_seconds=0))
"""


def _train(out: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(extra_path), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-c", TRAIN, str(out), str(DATA)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_fit_is_exact_liblinear_and_handles_two_labels_and_missing_ones() -> None:
    pytest.importorskip("sklearn")
    from enigma_router import linear
    from scipy.sparse import csr_matrix

    rng = np.random.default_rng(0)
    rows = np.array([[i % 5, 5 + (i % 3)] for i in range(60)]).ravel()
    x = csr_matrix((rng.random(120).astype(np.float32), rows, np.arange(0, 121, 2)), shape=(60, 8))
    targets = np.array([i % 5 % 2 for i in range(60)])  # two classes out of three labels
    weight, bias = linear.fit(x, targets, n_labels=3)
    assert weight.shape == (8, 3) and bias.shape == (3,)
    scores = linear.scores(x, weight, bias)
    assert np.allclose(scores[:, 0], -scores[:, 1]) and np.all(scores[:, 2] == -1.0)
    assert (scores[:, :2].argmax(1) == targets).mean() > 0.9  # rows 0-4 separate the classes
    assert linear.spread_ratio(np.ones((3, 2)) * [[1, -1]], np.ones((3, 2)) * [[2, -2]]) == 0.5


def test_trained_router_carries_a_fitted_linear_member(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    from enigma_router.inference import RouterModel

    from enigma_core.training.weights import open_weights

    done = _train(tmp_path / "m")
    assert done.returncode == 0, done.stderr
    assert "scikit-learn is not installed" not in done.stderr
    router = json.loads((tmp_path / "m" / "config.json").read_text())["router"]
    assert router["linear"]["c"] == 1.0 and router["linear"]["weight"] > 0
    table = open_weights(tmp_path / "m" / "model.safetensors").arrays["table"]
    net = router["net"]
    lin = table[:, net["members"] * net["hidden"] :]  # [MLP | linear member] in one table
    assert lin.shape[1] == 4 and lin.dtype == np.float16 and np.abs(lin).max() > 0
    model = RouterModel.load(tmp_path / "m")
    texts = ["write a python function that sorts a list", "hello how are you", "what is in a.png"]
    with_linear = model.logits(texts)
    model.linear_weight = np.float32(0.0)
    assert not np.allclose(with_linear, model.logits(texts))  # the member really contributes


def test_without_scikit_learn_training_says_so_and_still_works(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "sklearn"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('scikit-learn hidden by the test')\n")
    done = _train(tmp_path / "m", extra_path=shadow.parent)
    assert done.returncode == 0, done.stderr
    assert "scikit-learn is not installed" in done.stderr and "enigma-router[train]" in done.stderr
    router = json.loads((tmp_path / "m" / "config.json").read_text())["router"]
    assert router["linear"] is None and router["net"]["linear"] is False
    from enigma_router.inference import RouterModel

    intent, conf, _ = RouterModel.load(tmp_path / "m").classify("write a python function")
    assert intent == "code" and 0 < conf <= 1
