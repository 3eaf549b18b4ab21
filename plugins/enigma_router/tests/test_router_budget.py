"""Out-of-scope without out-of-scope training data: the unknown score, the rejection budget
curve stored at training, ``--oos-budget`` at training and per call, and the eval figures.

The data is the repository's own: a router trained on ``code``/``image``/``vision`` requests of
``router_training.txt``, validated on a split of them plus its ``chat`` requests labelled
``oos`` (so validation holds ``oos`` while training has none), tested on the held-out file the
same way. Real ``enigma`` processes throughout.
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
SEED = REPO / "data" / "specialized" / "router_training.txt"
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"
ENIGMA = str(Path(sys.executable).with_name("enigma"))


def _records(path: Path) -> list[tuple[str, str]]:
    from enigma_router.evaluate import load_labelled

    texts, labels = load_labelled(path)
    return list(zip(texts, labels, strict=True))


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows), encoding="utf-8"
    )
    return path


def run(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One real ``enigma`` process with its own ENIGMA_HOME and one thread."""
    env = {**os.environ, "ENIGMA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([ENIGMA, *args], capture_output=True, text=True, env=env, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def open_router(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``enigma train router --data TRAIN --valid VALID --oos-budget 0.05`` (VALID has oos)."""
    tmp = tmp_path_factory.mktemp("open-router")
    rows = _records(SEED)
    inside = [r for r in rows if r[1] != "chat"]
    train = _write(tmp / "train.jsonl", [r for i, r in enumerate(inside) if i % 10])
    valid_rows = [r for i, r in enumerate(inside) if not i % 10]
    valid_rows += [(t, "oos") for t, i in rows if i == "chat"][:40]
    valid = _write(tmp / "valid.jsonl", valid_rows)
    test = _write(
        tmp / "test.jsonl", [(t, "oos" if i == "chat" else i) for t, i in _records(HELDOUT)]
    )
    out = tmp / "router"
    home = tmp / "home"
    done = run(
        "train", "router", "--data", str(train), "--valid", str(valid), "--oos-budget", "0.05",
        "--out", str(out), "--json", home=home,
    )  # fmt: skip
    return {"out": out, "test": test, "home": home, "tmp": tmp, "outcome": json.loads(done.stdout)}


def test_budget_threshold_never_rejects_more_than_the_budget() -> None:
    from enigma_router.unknown import fit_curve, threshold_at, threshold_for

    rng = np.random.default_rng(0)
    scores = rng.random(200)
    for budget in (0.0, 0.01, 0.05, 0.1, 0.333):
        assert (scores > threshold_at(scores, budget)).mean() <= budget + 1e-12
    assert threshold_at(scores, 0.0) == float("inf")
    curve = fit_curve(scores, np.ones(200, bool), rng.random(50) + 0.5)
    for budget in (0.0, 0.012, 0.05, 0.2, 0.9):
        limit = threshold_for(curve, budget)
        assert (scores > limit).mean() <= budget + 1e-12
    recall = [p["oos_recall"] for p in curve]
    assert recall == sorted(recall) and recall[-1] > recall[0]


def test_unknown_score_adds_doubt_in_unit_free_weight() -> None:
    from enigma_router.unknown import doubt_coefficient, mixed

    rng = np.random.default_rng(1)
    distance, p_max = rng.random(300) * 0.4, 1.0 - rng.random(300) * 0.1
    assert np.array_equal(mixed(distance, p_max, 0.0), distance)
    coef = doubt_coefficient(distance, p_max, 2.0)
    assert coef == pytest.approx(2.0 * distance.std() / (1.0 - p_max).std(), rel=1e-5)
    score = mixed(distance, p_max, coef)
    # doubt carries 2 z-units per z-unit of distance: its share of the score's variance is larger
    doubt_part = coef * (1.0 - p_max)
    assert np.corrcoef(score, doubt_part)[0, 1] > np.corrcoef(score, distance)[0, 1]
    assert doubt_coefficient(distance, np.ones(300), 2.0) == 0.0  # no doubt to weigh
    assert doubt_coefficient(distance, p_max, 0.0) == 0.0


def test_stored_score_is_distance_plus_weighted_doubt(open_router: dict) -> None:
    from enigma_router.evaluate import load_labelled, unknown_scores
    from enigma_router.inference import RouterModel

    model = RouterModel.load(open_router["out"])
    doubt = model.calibration.unknown_doubt
    cal = json.loads((open_router["out"] / "config.json").read_text())["router"]["calibration"]
    assert doubt > 0 and cal["unknown_doubt"] == doubt and "doubt" in cal["unknown"]
    texts, _ = load_labelled(open_router["test"])
    texts = texts[:60]
    probs = model.probabilities(model.logits(texts))
    pred = probs.argmax(axis=1)
    vectors, offsets = model.example_vectors(), model.ex_offsets
    for text, p, label, got in zip(texts, probs, pred, unknown_scores(model, texts), strict=True):
        h = model.hidden(model.bag_sum(text))
        rows = vectors[int(offsets[label]) : int(offsets[label + 1])]
        distance = 1.0 - float((rows @ h).max()) / float(np.linalg.norm(h))
        assert got == pytest.approx(distance + doubt * (1.0 - float(p.max())), abs=1e-4)


def test_validation_may_hold_oos_when_training_has_none(open_router: dict) -> None:
    meta = json.loads((open_router["out"] / "config.json").read_text())
    assert "oos" not in meta["labels"] and set(meta["labels"]) == {"code", "image", "vision"}
    cal = meta["router"]["calibration"]
    assert cal["oos_budget"] == 0.05 and cal["valid_oos"] == 40
    point = next(p for p in cal["curve"] if p["budget"] == 0.05)
    assert point["in_scope_rejected"] <= 0.05 and 0.0 < point["oos_recall"] <= 1.0
    assert point["threshold"] == cal["unknown_threshold"]
    # the curve is also protected inside the weights: a hand-edited config.json is refused
    meta["router"]["calibration"]["unknown_threshold"] = 0.0
    edited = open_router["tmp"] / "edited"
    edited.mkdir()
    (edited / "config.json").write_text(json.dumps(meta))
    (edited / "model.safetensors").write_bytes(
        (open_router["out"] / "model.safetensors").read_bytes()
    )
    done = run("classify", "--model", str(edited), "hello", home=open_router["home"], check=False)
    assert done.returncode == 1 and "config.json" in done.stderr


def test_per_call_budget_moves_along_the_stored_curve(open_router: dict) -> None:
    chat = [t for t, i in _records(HELDOUT) if i == "chat"][:30]
    batch = open_router["tmp"] / "chat.txt"
    batch.write_text("\n".join(chat) + "\n", encoding="utf-8")

    def rejected(*extra: str) -> int:
        done = run(
            "classify", "--model", str(open_router["out"]), "--batch", str(batch), *extra,
            home=open_router["home"],
        )  # fmt: skip
        return sum(json.loads(line)["intent"] == "oos" for line in done.stdout.splitlines())

    never, default, wide = (
        rejected("--oos-budget", "0"),
        rejected(),
        rejected("--oos-budget", "0.5"),
    )
    assert never == 0 and never < default < wide <= 30
    bad = run("classify", "--oos-budget", "1.5", "hi", home=open_router["home"], check=False)
    assert bad.returncode != 0


def test_eval_on_data_with_oos_prints_auroc_and_writes_the_tradeoff(open_router: dict) -> None:
    report = open_router["tmp"] / "report"
    done = run(
        "eval", "router", "--model", str(open_router["out"]), "--data", str(open_router["test"]),
        "--report", str(report), home=open_router["home"],
    )  # fmt: skip
    assert "AUROC" in done.stdout and "FPR@95TPR" in done.stdout and "oos recall" in done.stdout
    data = json.loads((report / "report.json").read_text())
    assert 0.5 < data["auroc"] <= 1.0 and 0.0 <= data["fpr_at_95_tpr"] <= 1.0
    assert data["in_scope_accuracy"] > 0.8 and data["oos_recall"] > 0.2
    assert (report / "tradeoff.png").stat().st_size > 10_000


def test_oos_metrics_match_their_definitions() -> None:
    from enigma_router.evaluate import auroc, fpr_at_tpr

    assert auroc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auroc(np.array([1.0]), np.array([1.0])) == 0.5
    assert auroc(np.array([1.0, 3.0]), np.array([2.0, 4.0])) == 0.25
    neg = np.arange(100, dtype=float)
    assert fpr_at_tpr(np.array([200.0, 10.0]), neg) == 0.5


def test_oos_bench_rows_and_table() -> None:
    from enigma_router.bench_oos import format_oos_table, oos_row

    row = oos_row("x", ["a", "oos", "b", "oos"], ["a", "oos", "oos", "a"], [0.1, 0.9, 0.8, 0.2],
                  budget=0.1, valid_rejected=0.0625, train_seconds=1.0, train_cpu_seconds=1.0,
                  p50_ms=0.05)  # fmt: skip
    assert row["in_scope_accuracy"] == 0.5 and row["oos_recall"] == 0.5
    assert row["in_scope_rejected"] == 0.5 and row["auroc"] == 0.75
    unknown_valid = {**row, "system": "y", "valid_rejected": None}
    table = format_oos_table(
        {"toy": [row, unknown_valid, {"system": "minilm+logreg", "skipped": "no venv"}]}
    )
    assert "| toy | x | 0.1 | 50.00 | 50.00 |" in table and "skipped: no venv" in table
    assert "| 6.25 / 50.00 |" in table and "| - / 50.00 |" in table  # valid / test rejected


def test_single_and_batch_answers_agree(open_router: dict) -> None:
    from enigma_router.evaluate import load_labelled
    from enigma_router.inference import RouterModel

    model = RouterModel.load(open_router["out"])
    texts, _ = load_labelled(open_router["test"])
    batch = model.classify_batch(texts)
    assert sum(r[0] == "oos" for r in batch) > 0
    for text, (intent, conf, _alt) in zip(texts, batch, strict=True):
        single = model.classify(text)
        assert single[0] == intent and abs(single[1] - conf) < 1e-5


def test_budget_is_a_router_option_of_train_route_and_classify(tmp_path: Path) -> None:
    from enigma_core.types import TaskOption

    for command in ("train", "route", "classify"):
        assert "--oos-budget" in run(command, "--help", home=tmp_path).stdout
    assert "--explain" in run("classify", "--help", home=tmp_path).stdout
    other = run("train", "vision", "--oos-budget", "0.1", home=tmp_path, check=False)
    assert other.returncode == 1
    assert "--oos-budget is an option of 'enigma train router', not of 'vision'" in other.stderr
    assert TaskOption("--x", "x", "a switch", kind="flag").kind == "flag"
    with pytest.raises(ValueError, match="flag"):
        TaskOption("--x", "x", "?", kind="bool")
