"""The core training loop on real (small) data: outputs, metadata, resume after Ctrl-C / kill -9.

Recipes come from ``tests/helpers/tiny_data.py``: a router-style classifier and the generic
Q/A LM recipe (``make_lm_recipe``). Everything runs with one torch thread.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import load_file

from enigma_core.errors import EnigmaError, TokenizerMismatchError
from enigma_core.inference import SamplingParams, generate, load_model
from enigma_core.tokenizer import SharedTokenizer, train_tokenizer
from enigma_core.training.checkpoint import load_checkpoint
from enigma_core.training.data import resolve_labels
from enigma_core.training.recipe import RecipeContext, carve_validation, encode_lm_prompt
from enigma_core.training.run import TrainArgs, run_training
from tests.helpers import tiny_data

REPO = Path(__file__).resolve().parents[1]
HELPER = Path(__file__).parent / "helpers" / "train_subprocess.py"


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Any:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tokenizer + data files shared by the tests (and by the subprocess helper)."""
    d = tmp_path_factory.mktemp("train")
    tiny_data.make_tokenizer(d)
    tiny_data.write(d / "router.txt", tiny_data.router_lines(120, seed=1))
    tiny_data.write(d / "qa_train.txt", tiny_data.qa_lines(150, seed=2))
    return d


@pytest.fixture(scope="module")
def tok(work: Path) -> SharedTokenizer:
    return SharedTokenizer.load(work / "tok.model")


def _args(out: Path, data: Path, **kw: Any) -> TrainArgs:
    return TrainArgs(out=out, data=(data,), progress=False, threads=1, **kw)


def _ctx(recipe: Any, tok: SharedTokenizer, model: Any, labels: tuple[str, ...]) -> RecipeContext:
    return RecipeContext(tok, model.config, labels, "cpu", recipe.hyper.batch_size, recipe)


def _check_all_files_load(out: Path, allow_tmp: bool = False) -> None:
    """Every file in a model directory parses; no temp files are left (unless ``allow_tmp``)."""
    files = [p for p in out.rglob("*") if p.is_file()]
    assert files
    for p in files:
        if p.name.endswith(".tmp"):
            assert allow_tmp, p
            continue
        if p.suffix == ".json":
            json.loads(p.read_text())
        elif p.suffix == ".safetensors":
            assert load_file(str(p))
        elif p.suffix == ".png":
            Image.open(p).verify()


def test_classifier_run_writes_a_complete_reloadable_model(
    tmp_path: Path, work: Path, tok: SharedTokenizer
) -> None:
    recipe = tiny_data.router_recipe(epochs=8)
    out = tmp_path / "router"
    outcome = run_training(recipe, _args(out, work / "router.txt", seed=1), tokenizer=tok)
    assert outcome.epochs_run == 8 and outcome.n_valid > 0 and not outcome.resumed
    assert outcome.best_value is not None and outcome.best_value >= 0.75
    assert {p.name for p in out.iterdir()} == {
        "model.safetensors",
        "config.json",
        "loss.png",
        "checkpoint",
    }
    _check_all_files_load(out)
    meta = json.loads((out / "config.json").read_text())
    assert meta["task"] == "router" and meta["preset"] == "nano" and meta["head"] == "classify"
    assert meta["labels"] == sorted(tiny_data.INTENTS)
    assert meta["tokenizer"]["sha256"] == tok.sha256
    assert meta["data"]["train"][0]["sha256"] and meta["enigma_version"]
    assert meta["training"]["seed"] == 1 and meta["training"]["epochs"] == 8
    assert meta["metrics"]["name"] == "accuracy" and len(meta["metrics"]["history"]) == 8

    # The loaded checkpoint reproduces the saved validation metric on the same split.
    model, meta2 = load_checkpoint(out, tok)
    examples = tiny_data.load_router([work / "router.txt"], tok)
    train, valid = carve_validation(examples, recipe.hyper.valid_fraction, seed=1)
    labels = resolve_labels(train, valid, None)
    metrics = recipe.eval_fn()(model, valid, _ctx(recipe, tok, model, labels))
    assert metrics["accuracy"] == meta2["metrics"]["best"]
    best = meta2["metrics"]["history"][meta2["metrics"]["best_epoch"] - 1]
    assert metrics["val_loss"] == pytest.approx(best["val_loss"], abs=1e-6)

    # The numpy runtime agrees with torch on the trained classifier.
    npm, _ = load_model(out, tok)
    for ex in valid[:5]:
        ids = torch.tensor([ex.ids])
        with torch.no_grad():
            want = model.classify(ids, torch.tensor([len(ex.ids)]))[0].numpy()
        np.testing.assert_allclose(npm.classify_logits(ex.ids), want, atol=1e-4)


def test_lm_recipe_trains_and_generates_with_numpy(
    tmp_path: Path, work: Path, tok: SharedTokenizer
) -> None:
    recipe = tiny_data.lm_recipe(epochs=6)
    out = tmp_path / "qa"
    outcome = run_training(recipe, _args(out, work / "qa_train.txt"), tokenizer=tok)
    meta = json.loads((out / "config.json").read_text())
    assert outcome.metric == "val_loss" and not outcome.higher_is_better
    history = meta["metrics"]["history"]
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert meta["prompt_template"] == "Q: {prompt}\nA: "
    assert meta["metrics"]["best"] == min(h["val_loss"] for h in history)

    model, _ = load_checkpoint(out, tok)
    examples = recipe.load_examples([work / "qa_train.txt"], tok)
    _, valid = carve_validation(examples, recipe.hyper.valid_fraction, seed=0)
    metrics = recipe.eval_fn()(model, valid, _ctx(recipe, tok, model, ()))
    assert metrics["val_loss"] == pytest.approx(meta["metrics"]["best"], abs=1e-6)

    npm, meta = load_model(out, tok)
    prompt = encode_lm_prompt(tok, "add 3 and 4", meta["prompt_template"])
    result = generate(npm, tok, prompt, SamplingParams(max_new_tokens=12, stop=("\n",)))
    assert isinstance(result.text, str) and len(result.token_ids) <= 12


def _wait_for_step(out: Path, above: int, proc: subprocess.Popen[str], limit: float = 30) -> int:
    """Poll the committed checkpoint until its step exceeds ``above``; return the step."""
    state = out / "checkpoint" / "state.json"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if state.exists():
            step = json.loads(state.read_text())["step"]
            if step > above:
                return step
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("no checkpoint appeared in time")


def _helper(work: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(HELPER), "--workdir", str(work), "--out", str(out), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_ctrl_c_and_kill_9_then_resume_equal_an_uninterrupted_run(
    tmp_path: Path, work: Path, tok: SharedTokenizer
) -> None:
    recipe = tiny_data.lm_recipe(**tiny_data.KILL_TEST_HYPER)
    ref = tmp_path / "ref"
    run_training(recipe, _args(ref, work / "qa_train.txt", seed=3), tokenizer=tok)
    out = tmp_path / "interrupted"

    proc = _helper(work, out, "--slow", "0.03")  # Ctrl-C: checkpoint, then exit != 0
    step = _wait_for_step(out, 1, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and "--resume" in err
    _check_all_files_load(out)

    proc = _helper(work, out, "--slow", "0.03", "--resume")  # kill -9 mid-run
    _wait_for_step(out, step + 3, proc)
    proc.kill()
    proc.wait(timeout=30)
    _check_all_files_load(out, allow_tmp=True)  # a killed write leaves a temp, never a torn file

    resumed = run_training(recipe, _args(out, work / "qa_train.txt", resume=True), tokenizer=tok)
    assert resumed.resumed and resumed.steps == 3 * 17
    _check_all_files_load(out)
    assert (out / "model.safetensors").read_bytes() == (ref / "model.safetensors").read_bytes()
    got, want = (json.loads((d / "config.json").read_text()) for d in (out, ref))
    assert got["metrics"]["history"] == want["metrics"]["history"]
    assert got["training"]["steps"] == want["training"]["steps"]


def test_one_model_exported_again_gives_the_same_bytes(tmp_path: Path) -> None:
    """Export is deterministic: safetensors' own save() wrote its metadata keys in a random
    order, so the same weights differed byte-wise about half the time (the kill test's flake)."""
    from enigma_core.model import build_model
    from enigma_core.presets import config_for
    from enigma_core.training.checkpoint import export_model

    torch.manual_seed(0)
    config = config_for("nano", vocab_size=64, n_labels=0)
    model = build_model(config)
    meta = {"task": "qa", "head": "lm", "labels": [], "model": config.to_dict()}
    blobs = set()
    for i in range(8):  # old code: all 8 equal with probability 1/128
        export_model(tmp_path / str(i % 2), model, meta, half=("wte.weight",))
        blobs.add((tmp_path / str(i % 2) / "model.safetensors").read_bytes())
    assert len(blobs) == 1
    loaded = load_file(str(tmp_path / "0" / "model.safetensors"))
    assert loaded["wte.weight"].dtype == np.float16
    want = model.state_dict()["blocks.0.attn.c_attn.weight"].numpy()
    np.testing.assert_array_equal(loaded["blocks.0.attn.c_attn.weight"], want)


def test_early_stopping_on_a_flat_metric(tmp_path: Path, work: Path, tok: SharedTokenizer) -> None:
    recipe = tiny_data.router_recipe(epochs=20, patience=2)
    recipe.evaluate = lambda model, examples, ctx: {"accuracy": 0.5}
    outcome = run_training(recipe, _args(tmp_path / "r", work / "router.txt"), tokenizer=tok)
    assert outcome.stopped_early and outcome.epochs_run == 3 and outcome.best_epoch == 1


def test_bad_data_gives_one_line_file_line_errors(
    tmp_path: Path, work: Path, tok: SharedTokenizer
) -> None:
    bad = tiny_data.write(tmp_path / "bad.txt", ["Q: hi", "A: [E:tool]chat", "oops", "A: x"])
    with pytest.raises(EnigmaError, match=r"^bad\.txt:3: expected") as info:
        run_training(tiny_data.router_recipe(), _args(tmp_path / "o", bad), tokenizer=tok)
    assert "\n" not in str(info.value)
    with pytest.raises(EnigmaError, match="data file not found"):
        run_training(
            tiny_data.router_recipe(), _args(tmp_path / "o", tmp_path / "no.txt"), tokenizer=tok
        )
    valid = tiny_data.write(tmp_path / "valid.txt", ["Q: sing", "A: [E:tool]music"])
    with pytest.raises(EnigmaError, match=r"valid\.txt:1: label 'music' is not one"):
        run_training(
            tiny_data.router_recipe(),
            _args(tmp_path / "o", work / "router.txt", valid=valid),
            tokenizer=tok,
        )
    with pytest.raises(EnigmaError, match="--device"):
        TrainArgs(device="gpu")


def test_small_data_warns_and_changed_data_refuses_resume(
    tmp_path: Path, work: Path, tok: SharedTokenizer
) -> None:
    data = tiny_data.write(tmp_path / "few.txt", tiny_data.router_lines(24))
    out = tmp_path / "few"
    outcome = run_training(tiny_data.router_recipe(epochs=1), _args(out, data), tokenizer=tok)
    assert any("only 20 training examples" in w for w in outcome.warnings)
    again = run_training(tiny_data.router_recipe(), _args(out, data, resume=True), tokenizer=tok)
    assert again.resumed and again.steps == outcome.steps  # finished run: nothing more to do
    other = train_tokenizer([work / "qa_train.txt"], tmp_path / "other.model", vocab_size=300)
    with pytest.raises(TokenizerMismatchError, match=tok.sha256):
        run_training(tiny_data.router_recipe(), _args(out, data, resume=True), tokenizer=other)
    tiny_data.write(data, tiny_data.router_lines(24, seed=5))
    with pytest.raises(EnigmaError, match="changed since the checkpoint"):
        run_training(tiny_data.router_recipe(), _args(out, data, resume=True), tokenizer=tok)


def test_no_pickle_when_loading_or_resuming(
    tmp_path: Path, work: Path, tok: SharedTokenizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "r"
    recipe = tiny_data.router_recipe(epochs=2)
    run_training(recipe, _args(out, work / "router.txt"), tokenizer=tok)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pickle-based loading was used")

    for target, name in ((torch, "load"), (pickle, "load"), (pickle, "loads")):
        monkeypatch.setattr(target, name, refuse)
    load_checkpoint(out, tok)
    load_model(out, tok)
    run_training(recipe, _args(out, work / "router.txt", resume=True), tokenizer=tok)
    sources = [p.read_text() for p in (REPO / "enigma_core").rglob("*.py")]
    assert not any("torch.load(" in s or "import pickle" in s for s in sources)


@pytest.mark.parametrize("fused", [True, False])
def test_adamw_matches_torch_optim(fused: bool) -> None:
    from enigma_core.training.optim import AdamW

    torch.manual_seed(0)
    ours, ref = torch.nn.Linear(6, 4), torch.nn.Linear(6, 4)
    ref.load_state_dict(ours.state_dict())

    def groups(m: torch.nn.Module) -> list[dict[str, Any]]:
        return [
            {"params": [m.weight], "weight_decay": 0.1},
            {"params": [m.bias], "weight_decay": 0},
        ]

    opt = AdamW(groups(ours), lr=0.01, betas=(0.9, 0.98), fused=fused)
    ref_opt = torch.optim.AdamW(groups(ref), lr=0.01, betas=(0.9, 0.98))
    for step in range(5):
        x = torch.randn(8, 6)
        for model, o in ((ours, opt), (ref, ref_opt)):
            o.zero_grad()
            model(x).pow(2).mean().backward()
        opt.lr = 0.01 * (step + 1) / 5
        for g in ref_opt.param_groups:
            g["lr"] = opt.lr
        opt.step()
        ref_opt.step()
    for a, b in zip(ours.parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
