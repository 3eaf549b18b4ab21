"""Router model: trains (numpy) on a benchmark slice; inference equals the training forward pass.

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

    from enigma_core.training.run import TrainArgs, run_training

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
    knobs = {"temperature", "threshold", "margin", "oos_budget", "unknown_threshold", "curve"}
    assert knobs <= set(router["calibration"])
    assert router["calibration"]["temperature"] > 0
    report = router["calibration_report"]
    assert report["nll_after"] <= report["nll_before"] + 1e-6  # the temperature minimises NLL
    assert 0 <= report["ece_after"] <= 1
    assert router["features"]["char_max"] == 5
    assert router["refit"]["examples"] == trained["outcome"].n_train + trained["outcome"].n_valid
    assert router["refit"]["mode"] == "warm" and meta["training"]["steps"] > 0
    assert meta["tokenizer"]["sha256"]


def _training_net(out: Path) -> tuple[object, dict]:
    """The training-side network rebuilt from an exported model (float16 table widened)."""
    from enigma_router.network import RouterNet, RouterNetConfig

    from enigma_core.training.weights import open_weights

    meta = json.loads((out / "config.json").read_text())
    cfg = RouterNetConfig.from_dict(meta["router"]["net"])
    arrays = open_weights(out / "model.safetensors").arrays
    net = RouterNet(
        RouterNetConfig(**{**cfg.to_dict(), "label_groups": ()}), np.random.default_rng()
    )
    width = cfg.members * cfg.hidden
    net.table = np.asarray(arrays["table"][:, :width], dtype=np.float32)
    for name in ("bag_bias", "out_weight", "out_bias"):
        net.dense[name] = np.asarray(arrays[name], dtype=np.float32)
    return net, arrays


def test_numpy_inference_matches_the_training_forward_pass(trained: dict) -> None:
    from enigma_router import linear
    from enigma_router.inference import RouterModel
    from scipy.sparse import csr_matrix

    net, arrays = _training_net(trained["out"])
    assert arrays["table"].dtype == np.float16  # the one big table is exported in fp16
    model = RouterModel.load(trained["out"])
    texts = [*[r["text"] for r in trained["test"]][:200], "", "zzzz qqqq"]
    rows, offsets, weights = model.featurizer.batch(texts)
    indptr = np.append(offsets, len(rows))
    x = csr_matrix((weights, rows, indptr), shape=(len(texts), len(model.keys)))
    width = net.cfg.members * net.cfg.hidden
    lin_w = np.asarray(arrays["table"][:, width:], dtype=np.float32)
    if "vec_table" in arrays:  # the word-vector columns, as training appended them
        from scipy.sparse import hstack

        x = hstack([x, csr_matrix(model.vectors.units(texts))], format="csr")
        vec = np.asarray(arrays["vec_table"], dtype=np.float32)  # scales folded in
        net.table = np.vstack([net.table, vec[:, :width]])
        lin_w = np.vstack([lin_w, vec[:, width:]])
    expected = net.logits(x) + float(arrays["linear_weight"]) * linear.scores(
        x, lin_w, np.asarray(arrays["linear_bias"])
    )
    got = model.logits(texts)
    assert np.allclose(got, expected, atol=1e-4)
    assert (got.argmax(1) == expected.argmax(1)).all()
    one = np.stack([model.logits_one(t) for t in texts])
    assert np.allclose(one, got, atol=1e-5)


def test_loading_maps_the_weights_without_copying(trained: dict) -> None:
    from enigma_router.inference import RouterModel

    model = RouterModel.load(trained["out"])
    assert model.table.dtype == np.float16 and not model.table.flags.writeable
    assert not model.table.flags.owndata and not model.keys.flags.owndata  # views of the map


def test_label_groups_share_outputs_and_fold_into_the_export(trained: dict) -> None:
    from enigma_core.training.weights import open_weights

    meta = json.loads((trained["out"] / "config.json").read_text())
    groups = meta["router"]["net"]["label_groups"]
    prefixes = [label.split("_", 1)[0] for label in meta["labels"]]
    assert len(groups) == len(prefixes) and len(set(groups)) == len(set(prefixes)) < len(groups)
    for i, j in ((i, j) for i in range(len(groups)) for j in range(len(groups))):
        assert (groups[i] == groups[j]) == (prefixes[i] == prefixes[j])
    arrays = open_weights(trained["out"] / "model.safetensors").arrays
    assert "group_weight" not in arrays and "group_bias" not in arrays  # folded


def test_folding_label_groups_keeps_the_logits() -> None:
    from enigma_router.network import RouterNet, RouterNetConfig
    from scipy.sparse import random as sparse_random

    rng = np.random.default_rng(0)
    cfg = RouterNetConfig(
        n_features=50, n_labels=5, hidden=8, members=2, label_groups=(0, 0, 1, 1, 2)
    )
    net = RouterNet(cfg, rng)
    net.dense["group_weight"][:] = rng.standard_normal(net.dense["group_weight"].shape)
    net.dense["group_bias"][:] = rng.standard_normal(net.dense["group_bias"].shape)
    x = sparse_random(3, 50, density=0.2, format="csr", random_state=0, dtype=np.float32)
    before = net.logits(x)
    folded = net.folded()
    plain = RouterNet(RouterNetConfig(**{**cfg.to_dict(), "label_groups": ()}), rng)
    plain.table = folded["table"]
    plain.dense.update({k: folded[k] for k in ("bag_bias", "out_weight", "out_bias")})
    assert np.allclose(plain.logits(x), before, atol=1e-5)


def test_gradients_match_finite_differences() -> None:
    from enigma_router.network import RouterNet, RouterNetConfig

    cfg = RouterNetConfig(
        n_features=4, n_labels=3, hidden=4, members=2, dropout=0.0, label_groups=(0, 0, 1)
    )
    net = RouterNet(cfg, np.random.default_rng(1))
    for arr in net.dense.values():
        arr[:] = np.random.default_rng(2).standard_normal(arr.shape)
    bag = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0])
    rng = np.random.default_rng(0)
    _, d_bag, grads = net.loss_and_grads(bag, y, 0.1, rng)
    eps = 1e-3
    for name in ("out_weight", "group_bias", "bag_bias"):
        arr = net.dense[name]
        i = np.unravel_index(1, arr.shape)
        arr[i] += eps
        up = net.loss_and_grads(bag, y, 0.1, rng)[0]
        arr[i] -= 2 * eps
        down = net.loss_and_grads(bag, y, 0.1, rng)[0]
        arr[i] += eps
        assert grads[name][i] == pytest.approx((up - down) / (2 * eps), abs=2e-3), name
    bag2 = bag.copy()
    bag2[2, 3] += eps
    up = net.loss_and_grads(bag2, y, 0.1, rng)[0]
    bag2[2, 3] -= 2 * eps
    down = net.loss_and_grads(bag2, y, 0.1, rng)[0]
    assert d_bag[2, 3] == pytest.approx((up - down) / (2 * eps), abs=2e-3)


def test_a_model_from_the_torch_trainer_is_refused(trained: dict, tmp_path: Path) -> None:
    import shutil

    from enigma_router.inference import RouterModel
    from safetensors.numpy import load_file, save_file

    copy = tmp_path / "old"
    shutil.copytree(trained["out"], copy)
    tensors = load_file(str(copy / "model.safetensors"))
    tensors["bag.weight"] = tensors.pop("table")
    save_file(tensors, str(copy / "model.safetensors"))  # no enigma metadata, old names
    with pytest.raises(EnigmaError, match=r"older enigma-router.*retrain"):
        RouterModel.load(copy)


def test_reordered_labels_in_config_json_are_refused(trained: dict, tmp_path: Path) -> None:
    import shutil

    from enigma_router.inference import RouterModel

    copy = tmp_path / "m"
    shutil.copytree(trained["out"], copy)
    meta = json.loads((copy / "config.json").read_text())
    meta["labels"] = [meta["labels"][1], meta["labels"][0], *meta["labels"][2:]]
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(EnigmaError, match=r"'labels' differs from what model\.safetensors"):
        RouterModel.load(copy)
    meta["labels"] = sorted(meta["labels"])
    meta["router"]["calibration"]["threshold"] = 0.99
    (copy / "config.json").write_text(json.dumps(meta))
    with pytest.raises(EnigmaError, match="'router' differs"):
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
    from enigma_router.inference import RouterModel

    from enigma_core.tokenizer import SharedTokenizer

    class Other(SharedTokenizer):
        """The shipped tokenizer under another identity."""

        @property
        def sha256(self) -> str:
            return "0" * 64

    from enigma_core.tokenizer import default_tokenizer_path

    other = Other(default_tokenizer_path().read_bytes())
    with pytest.raises(TokenizerMismatchError):
        RouterModel.load(trained["out"], other)


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
    from enigma_router.features import tokens

    texts = [r["text"] for r in trained["test"]][:150]
    expected = inference.RouterModel.load(trained["out"]).logits(texts)
    shared = inference.RouterModel.load(trained["out"])
    with ThreadPoolExecutor(4) as pool:
        rows = list(pool.map(shared.logits_one, texts))
    assert np.allclose(np.stack(rows), expected, atol=1e-5)
    monkeypatch.setattr(inference, "CACHE_LIMIT", 5)
    small = inference.RouterModel.load(trained["out"])
    assert np.allclose(small.logits(texts), expected, atol=1e-5)
    # one request at a time with the word-vector cache full and the n-gram row dict replaced
    single = inference.RouterModel.load(trained["out"])
    rows = [single.logits_one(t) for t in texts]
    assert np.allclose(np.stack(rows), expected, atol=1e-5)
    most = max(2 * len(tokens(t)) + 1 for t in texts)  # word n-grams of the longest request
    assert len(single._krow) <= max(4 * 5, most)  # the dict was replaced, not grown


@pytest.mark.parametrize(
    ("min_docs", "max_docs"),
    [(1, 1 << 20), (10**9, 1 << 20), (1, 50)],  # scipy.sparse / per-request gathers / sub-batches
)
def test_batch_paths_agree_with_one_request_at_a_time(
    trained: dict, monkeypatch: pytest.MonkeyPatch, min_docs: int, max_docs: int
) -> None:
    import enigma_router.inference as inference

    monkeypatch.setattr(inference, "SPARSE_MIN_DOCS", min_docs)
    monkeypatch.setattr(inference, "_MAX_DOCS", max_docs)
    model = inference.RouterModel.load(trained["out"])
    texts = [*[r["text"] for r in trained["test"]][:120], "", "zzzz qqqq", "? ? ?"]
    for budget in (0.0, 0.2):
        batch = model.classify_batch(texts, top_k=4, budget=budget)
        assert budget == 0.0 or any(r[0] == "oos" for r in batch)
        for text, (intent, conf, alt) in zip(texts, batch, strict=True):
            one, one_conf, one_alt = model.classify(text, top_k=4, budget=budget)
            assert (one, [a for a, _ in one_alt]) == (intent, [a for a, _ in alt])
            assert abs(one_conf - conf) < 1e-5 and len(alt) == 3
            assert all(abs(p - q) < 1e-5 for (_, p), (_, q) in zip(one_alt, alt, strict=True))
