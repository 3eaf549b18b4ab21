"""Out-of-scope handling and evaluation: ``oos`` is learned, knobs are calibrated and used.

Trains on 8 hwu64 intents plus ``out_of_scope`` examples drawn from other intents; needs
``<repo>/../shared/benchmarks`` (skipped with a reason when absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO.parent / "shared" / "benchmarks"


def _rows(split: str) -> list[dict]:
    with (BENCH / "hwu64" / f"{split}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def _build(rows: list[dict], inside: list[str], outside: list[str], cap: int | None) -> list[dict]:
    out, seen = [], {}
    for r in rows:
        label = r["intent"] if r["intent"] in inside else "out_of_scope"
        if r["intent"] not in inside and r["intent"] not in outside:
            continue
        limit = cap if r["intent"] in inside or cap is None else max(cap // 8, 1)
        if cap is not None and seen.get(r["intent"], 0) >= limit:
            continue
        seen[r["intent"]] = seen.get(r["intent"], 0) + 1
        out.append({"text": r["text"], "intent": label})
    return out


@pytest.fixture(scope="module")
def oos_model(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """8 in-scope intents x 60 + ~7 examples from each of 24 other intents as out_of_scope."""
    if not (BENCH / "hwu64" / "train.jsonl").is_file():
        pytest.skip(f"benchmarks not found at {BENCH}")
    from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe

    from enigma_core.training.run import TrainArgs, run_training

    train_rows = _rows("train")
    intents = sorted({r["intent"] for r in train_rows})
    inside, outside = intents[::8], [i for i in intents if i not in intents[::8]][:24]
    tmp = tmp_path_factory.mktemp("router-oos")
    train = tmp / "train.jsonl"
    train.write_text(
        "".join(json.dumps(r) + "\n" for r in _build(train_rows, inside, outside, 60)),
        encoding="utf-8",
    )
    test = tmp / "test.jsonl"
    test.write_text(
        "".join(json.dumps(r) + "\n" for r in _build(_rows("test"), inside, outside, None)),
        encoding="utf-8",
    )
    out = tmp / "model"
    run_training(
        make_router_recipe(None, hyper=DEFAULT_HYPER.replace(epochs=8)),
        TrainArgs(
            out=out,
            data=(train,),
            progress=False,
            threads=1,
            checkpoint_every=0,
            checkpoint_seconds=0,
        ),
    )
    return {"out": out, "test": test, "inside": inside, "tmp": tmp}


def test_oos_is_a_learned_class_with_calibrated_knobs(oos_model: dict) -> None:
    meta = json.loads((oos_model["out"] / "config.json").read_text())
    assert "oos" in meta["labels"] and "out_of_scope" not in meta["labels"]
    assert meta["router"]["oos_label"] == "oos"
    cal = meta["router"]["calibration"]
    assert 0.0 <= cal["threshold"] < 1.0 and 0.0 <= cal["margin"] < 1.0


def test_oos_recall_and_in_scope_accuracy(oos_model: dict) -> None:
    from enigma_router.evaluate import evaluate_file
    from enigma_router.inference import RouterModel

    report, _preds = evaluate_file(RouterModel.load(oos_model["out"]), oos_model["test"])
    assert report["oos_recall"] > 0.5, report["oos_recall"]
    assert report["in_scope_accuracy"] > 0.7, report["in_scope_accuracy"]
    assert 0.0 <= report["ece"] <= 1.0
    assert set(report["per_intent"]) >= set(oos_model["inside"]) | {"oos"}
    row = report["per_intent"][oos_model["inside"][0]]
    assert {"precision", "recall", "f1", "support", "confused_with"} <= set(row)


def test_unsure_requests_become_oos(oos_model: dict) -> None:
    from enigma_router.inference import RouterModel

    base = RouterModel.load(oos_model["out"])
    sure = RouterModel.load(oos_model["out"], threshold=0.0, margin=0.0)
    never = RouterModel.load(oos_model["out"], threshold=1.01)
    texts = [json.loads(x)["text"] for x in oos_model["test"].read_text().splitlines()][:50]
    assert all(r[0] == "oos" for r in never.classify_batch(texts))
    n_sure = sum(r[0] == "oos" for r in sure.classify_batch(texts))
    n_base = sum(r[0] == "oos" for r in base.classify_batch(texts))
    assert n_base >= n_sure


def test_eval_command_writes_report_and_predictions(oos_model: dict) -> None:
    import typer
    from enigma_router.commands import eval_router
    from typer.testing import CliRunner

    app = typer.Typer()
    app.command()(eval_router)
    report_dir, preds = oos_model["tmp"] / "report", oos_model["tmp"] / "preds.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "--model",
            str(oos_model["out"]),
            "--data",
            str(oos_model["test"]),
            "--json",
            "--report",
            str(report_dir),
            "--predictions",
            str(preds),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "ece", "oos_recall", "per_intent"} <= set(data)
    for name in ("confusion.png", "confidence_hist.png", "errors.jsonl"):
        assert (report_dir / name).stat().st_size > 0
    lines = [json.loads(x) for x in preds.read_text().splitlines()]
    assert len(lines) == data["examples"]
    assert set(lines[0]) == {"text", "gold", "predicted", "confidence"}
    plain = CliRunner().invoke(
        app, ["--model", str(oos_model["out"]), "--data", str(oos_model["test"])]
    )
    assert plain.exit_code == 0 and "accuracy" in plain.stdout
