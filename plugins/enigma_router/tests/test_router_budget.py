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
    # confidences that hardly vary: no coefficient in the billions for rounding to decide
    assert doubt_coefficient(distance, 1.0 - rng.random(300) * 1e-5, 2.0) == 0.0
    assert doubt_coefficient(distance, p_max, 0.0) == 0.0


def _loo_centre(rows: np.ndarray, overall: float, prior: float) -> float:
    """One intent's centre the long way: each example's distance to its nearest other one."""
    dists = [
        1.0 - max(float(rows[i] @ rows[j]) for j in range(len(rows)) if j != i)
        for i in range(len(rows))
    ] if len(rows) > 1 else []  # fmt: skip
    return (sum(dists) + prior * overall) / (len(dists) + prior)


def test_intent_centres_are_shrunk_leave_one_out_means(monkeypatch: pytest.MonkeyPatch) -> None:
    from enigma_router import unknown

    rng = np.random.default_rng(3)
    vectors = unknown.normalise(rng.normal(size=(9, 6)))
    offsets = np.array([0, 5, 6, 6, 9])  # 5 examples, 1, none, 3
    loo = [
        [1.0 - max(float(v[i] @ v[j]) for j in range(len(v)) if j != i) for i in range(len(v))]
        for v in (vectors[0:5], vectors[6:9])
    ]
    overall = float(np.mean(loo[0] + loo[1]))
    expect = [
        _loo_centre(vectors[0:5], overall, 5.0),
        overall,  # one example: no neighbour of its own, the mean over all intents
        overall,  # no example
        _loo_centre(vectors[6:9], overall, 5.0),
    ]
    got = unknown.intent_centres(vectors, offsets)
    assert got.dtype == np.float32 and got == pytest.approx(expect, abs=1e-6)
    monkeypatch.setattr(unknown, "CENTRE_CHUNK", 2)  # big intents go in chunks: same centres
    assert unknown.intent_centres(vectors, offsets) == pytest.approx(expect, abs=1e-6)
    monkeypatch.setattr(unknown, "CENTRE_QUERIES", 3)  # a big intent: 3 of its 5 are measured
    sampled = [loo[0][i] for i in (0, 2, 4)]
    pooled = float(np.mean(sampled + loo[1]))
    capped = unknown.intent_centres(vectors, offsets)
    assert capped[0] == pytest.approx((sum(sampled) + 5.0 * pooled) / 8.0, abs=1e-6)
    assert capped[3] == pytest.approx((sum(loo[1]) + 5.0 * pooled) / 8.0, abs=1e-6)
    assert unknown.intent_centres(vectors[:1], np.array([0, 1])).tolist() == [0.0]
    raw = unknown.unknown_scores(vectors[:3], np.array([0, 3, 1]), vectors, offsets)
    centred = unknown.unknown_scores(vectors[:3], np.array([0, 3, 1]), vectors, offsets, got)
    assert centred == pytest.approx(raw - got[[0, 3, 1]], abs=1e-6)


def test_stored_score_is_centred_distance_plus_weighted_doubt(open_router: dict) -> None:
    from enigma_router.evaluate import load_labelled, unknown_scores
    from enigma_router.inference import RouterModel
    from enigma_router.unknown import CENTRE_PRIOR

    model = RouterModel.load(open_router["out"])
    doubt = model.calibration.unknown_doubt
    cal = json.loads((open_router["out"] / "config.json").read_text())["router"]["calibration"]
    assert doubt > 0 and cal["unknown_doubt"] == doubt and "doubt" in cal["unknown"]
    assert "centre" in cal["unknown"]
    vectors, offsets = model.example_vectors(), model.ex_offsets
    blocks = [vectors[int(offsets[c]) : int(offsets[c + 1])] for c in range(len(model.labels))]
    near = [
        1.0 - max(float(b[i] @ b[j]) for j in range(len(b)) if j != i)
        for b in blocks
        for i in range(len(b))
        if len(b) > 1
    ]
    centres = [_loo_centre(b, float(np.mean(near)), CENTRE_PRIOR) for b in blocks]
    assert model.ex_centre == pytest.approx(centres, abs=1e-5)
    assert all(c > 0 for c in centres)  # examples are not all duplicates of each other
    texts, _ = load_labelled(open_router["test"])
    texts = texts[:60]
    probs = model.probabilities(model.logits(texts))
    pred = probs.argmax(axis=1)
    for text, p, label, got in zip(texts, probs, pred, unknown_scores(model, texts), strict=True):
        h = model.hidden(model.bag_sum(text))
        distance = 1.0 - float((blocks[label] @ h).max()) / float(np.linalg.norm(h))
        want = distance - centres[label] + doubt * (1.0 - float(p.max()))
        assert got == pytest.approx(want, abs=1e-4)


def test_router_trained_before_centring_keeps_its_uncentred_score(open_router: dict) -> None:
    """Weights without ``ex_centre`` (routers trained before it): distance as it was, on the
    numpy and the numpy-free path; a centre of the wrong shape is a one-line error."""
    from enigma_router.evaluate import load_labelled, unknown_scores
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import Unsupported, _load_pure
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    from enigma_core.errors import EnigmaError

    texts, _ = load_labelled(open_router["test"])
    texts = texts[:40]
    model = RouterModel.load(open_router["out"])
    centred = unknown_scores(model, texts)
    pred = model.probabilities(model.logits(texts)).argmax(axis=1)
    weights = str(open_router["out"] / "model.safetensors")
    tensors = load_file(weights)
    with safe_open(weights, "np") as fh:
        metadata = fh.metadata()  # the protected config travels with the weights
    config = (open_router["out"] / "config.json").read_text()
    n_labels = len(model.labels)
    shapes = (("older", None), ("bad", np.zeros(7, np.float32)))
    shapes += (("bad_col", np.zeros((n_labels, 1), np.float32)),)
    for name, change in shapes:
        folder = open_router["tmp"] / name
        folder.mkdir()
        changed = {k: v for k, v in tensors.items() if k != "ex_centre"}
        if change is not None:
            changed["ex_centre"] = change
        save_file(changed, str(folder / "model.safetensors"), metadata=metadata)
        (folder / "config.json").write_text(config)
    older = RouterModel.load(open_router["tmp"] / "older")
    assert older.ex_centre is None
    plain = unknown_scores(older, texts)
    assert plain == pytest.approx(centred + model.ex_centre[pred], abs=1e-5)
    pure = _load_pure(open_router["tmp"] / "older")
    for text, label in zip(texts, pred, strict=True):
        got = pure.unknown_one(pure.bag_sum(text), int(label))
        assert got == pytest.approx(older.unknown_one(older.bag_sum(text), int(label)), abs=1e-5)
    for name in ("bad", "bad_col"):  # numpy loader: one line; numpy-free: leaves it to numpy
        with pytest.raises(EnigmaError, match="ex_centre") as err:
            RouterModel.load(open_router["tmp"] / name)
        assert "\n" not in str(err.value)
        with pytest.raises(Unsupported, match="ex_centre"):
            _load_pure(open_router["tmp"] / name)
    done = run("classify", "--model", str(open_router["tmp"] / "bad_col"), "draw a cat",
               home=open_router["home"], check=False)  # fmt: skip
    assert done.returncode == 1 and "'ex_centre' has the wrong shape" in done.stderr


def test_reloaded_router_rejects_the_stored_share_of_validation(open_router: dict) -> None:
    """The threshold stored for each budget, applied to the reloaded router's own scores of the
    validation requests, rejects exactly the share the curve recorded: the
    calibration scored what inference scores (centres included)."""
    from enigma_router.evaluate import load_labelled, unknown_scores
    from enigma_router.inference import RouterModel
    from enigma_router.unknown import point_at, threshold_for

    model = RouterModel.load(open_router["out"])
    texts, labels = load_labelled(open_router["tmp"] / "valid.jsonl")
    inside = [t for t, label in zip(texts, labels, strict=True) if label != "oos"]
    scores = unknown_scores(model, inside)
    curve = model.calibration.curve
    for budget in (0.05, 0.1, 0.2, 0.3, 0.5):
        share = float((scores > threshold_for(curve, budget)).mean())
        stored = point_at(curve, budget)["in_scope_rejected"]
        assert stored > 0 and abs(share - stored) <= 1e-5, budget  # same requests


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
