"""Router model: trains on a benchmark slice through the core loop; numpy inference matches torch.

Needs ``<repo>/../shared/benchmarks`` (skipped with a reason when absent).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from enigma_core.errors import EnigmaError, TokenizerMismatchError

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO.parent / "shared" / "benchmarks"
N_INTENTS = 12
PER_INTENT = 60


def _slice(name: str, split: str, intents: list[str] | None, per_intent: int | None) -> list[dict]:
    rows = [json.loads(line) for line in (BENCH / name / f"{split}.jsonl").open(encoding="utf-8")]
    if intents is None:
        intents = sorted({r["intent"] for r in rows})[:N_INTENTS]
    keep, count = [], dict.fromkeys(intents, 0)
    for r in rows:
        if r["intent"] in count and (per_intent is None or count[r["intent"]] < per_intent):
            count[r["intent"]] += 1
            keep.append(r)
    return keep


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A router trained on 12 hwu64 intents x 60 examples (a few seconds on one thread)."""
    if not (BENCH / "hwu64" / "train.jsonl").is_file():
        pytest.skip(f"benchmarks not found at {BENCH}")
    from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe

    from enigma_core.training.loop import TrainArgs, run_training

    tmp = tmp_path_factory.mktemp("router")
    train = _slice("hwu64", "train", None, PER_INTENT)
    intents = sorted({r["intent"] for r in train})
    test = _slice("hwu64", "test", intents, None)
    out = tmp / "model"
    outcome = run_training(
        make_router_recipe(None, hyper=DEFAULT_HYPER.replace(epochs=8)),
        TrainArgs(
            out=out,
            data=(_write(tmp / "train.jsonl", train),),
            progress=False,
            threads=1,
            checkpoint_every=0,
            checkpoint_seconds=0,
        ),
    )
    return {"out": out, "test": test, "intents": intents, "outcome": outcome, "tmp": tmp}


def test_accuracy_well_above_chance(trained: dict) -> None:
    from enigma_router.inference import RouterModel

    model = RouterModel.load(trained["out"])
    texts = [r["text"] for r in trained["test"]]
    pred, conf = model.predict(texts)
    acc = np.mean([p == r["intent"] for p, r in zip(pred, trained["test"], strict=True)])
    assert acc > 0.75, acc  # chance is 1/12
    assert set(model.labels) == set(trained["intents"])
    assert np.all((conf > 0) & (conf <= 1))


def test_config_records_labels_features_calibration(trained: dict) -> None:
    meta = json.loads((trained["out"] / "config.json").read_text())
    router = meta["router"]
    assert meta["labels"] == sorted(trained["intents"])
    assert set(router["calibration"]) == {"temperature", "threshold", "margin"}
    assert router["calibration"]["temperature"] > 0
    assert router["calibration_report"]["ece_after"] <= router["calibration_report"]["ece_before"]
    assert router["features"]["char_max"] == 5
    assert router["refit"]["examples"] == trained["outcome"].n_train + trained["outcome"].n_valid
    assert meta["tokenizer"]["sha256"]


def test_numpy_inference_matches_torch(trained: dict) -> None:
    import torch
    from enigma_router.inference import RouterModel
    from enigma_router.model import RouterNet, RouterNetConfig
    from safetensors.torch import load_file

    meta = json.loads((trained["out"] / "config.json").read_text())
    net = RouterNet(RouterNetConfig.from_dict(meta["router"]["net"]))
    tensors = load_file(str(trained["out"] / "model.safetensors"))
    assert tensors["bag.weight"].dtype == torch.float16  # the big table is exported in fp16
    missing, unexpected = net.load_state_dict(tensors, strict=False)
    assert set(missing) == {"bag.exp_avg", "bag.exp_avg_sq", "bag.steps", "probe_state"}
    assert not unexpected
    net.eval()
    model = RouterModel.load(trained["out"])
    texts = [*[r["text"] for r in trained["test"]][:200], "", "zzzz qqqq"]
    rows, offsets, weights = model.featurizer.batch(texts)
    with torch.no_grad():
        expected = net(
            torch.from_numpy(rows), torch.from_numpy(offsets), torch.from_numpy(weights)
        ).numpy()
    got = model.logits(texts)
    assert np.allclose(got, expected, atol=1e-4)
    assert (got.argmax(1) == expected.argmax(1)).all()
    one = np.stack([model.logits_one(t) for t in texts])
    assert np.allclose(one, got, atol=1e-5)


def test_label_groups_share_outputs_and_fold_into_the_export(trained: dict) -> None:
    from safetensors.numpy import load_file

    meta = json.loads((trained["out"] / "config.json").read_text())
    groups = meta["router"]["net"]["label_groups"]
    prefixes = [label.split("_", 1)[0] for label in meta["labels"]]
    assert len(groups) == len(prefixes) and len(set(groups)) == len(set(prefixes)) < len(groups)
    for i, j in ((i, j) for i in range(len(groups)) for j in range(len(groups))):
        assert (groups[i] == groups[j]) == (prefixes[i] == prefixes[j])
    tensors = load_file(str(trained["out"] / "model.safetensors"))
    assert not tensors["group_weight"].any() and not tensors["group_bias"].any()  # folded


def test_folding_label_groups_keeps_the_logits() -> None:
    import torch
    from enigma_router.model import RouterNet, RouterNetConfig

    torch.manual_seed(0)
    cfg = RouterNetConfig(
        n_features=50, n_labels=5, hidden=8, members=2, label_groups=(0, 0, 1, 1, 2)
    )
    net = RouterNet(cfg).eval()
    with torch.no_grad():
        net.group_weight.normal_()
        net.group_bias.normal_()
        net.bag.weight.normal_()
    rows = torch.randint(0, 50, (30,))
    offsets, weights = torch.tensor([0, 10, 20]), torch.rand(30)
    before = net(rows, offsets, weights)
    net.fold_groups()
    assert not net.group_weight.any() and not net.group_bias.any()
    assert torch.allclose(net(rows, offsets, weights), before, atol=1e-5)


def test_a_model_with_the_retired_wide_member_is_refused(trained: dict, tmp_path: Path) -> None:
    import shutil

    from enigma_router.inference import RouterModel
    from safetensors.numpy import load_file, save_file

    copy = tmp_path / "old"
    shutil.copytree(trained["out"], copy)
    tensors = load_file(str(copy / "model.safetensors"))
    tensors["wide.weight"] = np.zeros((3, 2), np.float32)
    save_file(tensors, str(copy / "model.safetensors"))
    meta = json.loads((copy / "config.json").read_text())
    meta.pop("weights_sha256")
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(EnigmaError, match=r"older enigma-router.*retrain"):
        RouterModel.load(copy)


def test_calibration_is_used_at_inference(trained: dict) -> None:
    from enigma_router.calibrate import softmax
    from enigma_router.inference import RouterModel

    model = RouterModel.load(trained["out"])
    text = trained["test"][0]["text"]
    logits = model.logits_one(text)[None, :]
    temperature = model.calibration.temperature
    intent, conf, alts = model.classify(text)
    assert conf == pytest.approx(float(softmax(logits, temperature).max()), rel=1e-5)
    hot = RouterModel.load(trained["out"], temperature=temperature * 4)
    assert hot.classify(text)[1] < conf
    strict = RouterModel.load(trained["out"], threshold=1.01)
    unsure = strict.classify(text)
    assert unsure[0] == "oos"
    assert unsure[1] == pytest.approx(1 - conf, rel=1e-5)
    assert unsure[2][0][0] == intent
    assert len(alts) == 2 and len(unsure[2]) == 2


def test_refuses_other_tokenizer(trained: dict, tmp_path: Path) -> None:
    import shutil

    from enigma_router.inference import RouterModel

    copy = tmp_path / "m"
    shutil.copytree(trained["out"], copy, ignore=shutil.ignore_patterns("checkpoint"))
    meta = json.loads((copy / "config.json").read_text())
    meta["tokenizer"]["sha256"] = "0" * 64
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(TokenizerMismatchError):
        RouterModel.load(copy)


def test_not_a_router_is_one_line_error(tmp_path: Path) -> None:
    from enigma_router.inference import RouterModel

    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EnigmaError, match="not a router model"):
        RouterModel.load(tmp_path)


def test_word_cache_overflow_and_threads_give_same_logits(
    trained: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import enigma_router.inference as inference

    texts = [r["text"] for r in trained["test"]][:150]
    expected = inference.RouterModel.load(trained["out"]).logits(texts)
    shared = inference.RouterModel.load(trained["out"])
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(shared.logits_one, texts))
    assert np.allclose(np.stack(rows), expected, atol=1e-5)
    monkeypatch.setattr(inference, "CACHE_LIMIT", 5)
    small = inference.RouterModel.load(trained["out"])
    assert np.allclose(small.logits(texts), expected, atol=1e-5)
