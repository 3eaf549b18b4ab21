"""The training contract and its guards, on real small data and the real torch loop.

The loop hands recipes their data (``add_examples`` once, with the training files; ``finalize``
gets train/valid and whether validation was carved); a recipe may supply its own optimizer;
one validation splitter keeps duplicates together; bad options, diverging losses, edited
``config.json`` files and unreadable weights each stop with one line.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from enigma_core.errors import EnigmaError
from enigma_core.tokenizer import SharedTokenizer
from enigma_core.training.recipe import Example, carve_validation
from enigma_core.training.run import TrainArgs, TrainOutcome, run_training
from tests.helpers import tiny_data


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("contract")
    tiny_data.make_tokenizer(d)
    tiny_data.write(d / "router.txt", tiny_data.router_lines(120, seed=1))
    tiny_data.write(d / "valid.txt", tiny_data.router_lines(30, seed=5))
    return d


@pytest.fixture(scope="module")
def tok(work: Path) -> SharedTokenizer:
    return SharedTokenizer.load(work / "tok.model")


def _args(out: Path, data: Path, **kw: Any) -> TrainArgs:
    return TrainArgs(out=out, data=(data,), progress=False, threads=1, **kw)


def test_recipes_get_their_data_from_the_loop(tmp_path: Path, work: Path, tok: Any) -> None:
    calls: list[tuple[str, ...]] = []
    seen: dict[str, Any] = {}
    recipe = tiny_data.router_recipe(epochs=1)
    base = recipe.load_examples

    def add(paths: Any, tokenizer: Any) -> list[Example]:
        calls.append(tuple(str(p) for p in paths))
        return base([work / "router.txt"], tokenizer)[:7]

    def finalize(model: Any, train: Any, valid: Any, ctx: Any) -> dict[str, Any]:
        seen.update(train=len(train), valid=len(valid), carved=ctx.valid_carved)
        seen["paths"] = [str(p) for p in ctx.train_paths]
        return {}

    recipe.add_examples, recipe.finalize = add, finalize
    run_training(recipe, _args(tmp_path / "a", work / "router.txt"), tokenizer=tok)
    assert calls == [(str(work / "router.txt"),)] and seen["carved"] is True
    assert seen["train"] + seen["valid"] == 120 + 7 and seen["paths"] == list(calls[0])
    calls.clear()
    args = _args(tmp_path / "b", work / "router.txt", valid=work / "valid.txt")
    run_training(recipe, args, tokenizer=tok)
    assert len(calls) == 1 and seen["carved"] is False and seen["valid"] == 30


def test_a_recipe_can_bring_its_own_optimizer(tmp_path: Path, work: Path, tok: Any) -> None:
    from enigma_core.training.loop import make_optimizer

    made: list[Any] = []

    class Counting:
        """The core AdamW, counting steps and recording the lr the loop sets."""

        def __init__(self, model: Any, hyper: Any) -> None:
            self.inner = make_optimizer(model, hyper)
            self.steps, self.lrs = 0, []
            made.append(self)

        @property
        def lr(self) -> float:
            return self.inner.lr

        @lr.setter
        def lr(self, value: float) -> None:
            self.lrs.append(value)
            self.inner.lr = value

        def zero_grad(self) -> None:
            self.inner.zero_grad()

        def step(self) -> None:
            self.steps += 1
            self.inner.step()

        def state_tensors(self) -> dict[str, Any]:
            return self.inner.state_tensors()

        def load_state_tensors(self, tensors: dict[str, Any]) -> None:
            self.inner.load_state_tensors(tensors)

    recipe = tiny_data.router_recipe(epochs=2)
    recipe.make_optimizer = Counting
    outcome = run_training(recipe, _args(tmp_path / "m", work / "router.txt"), tokenizer=tok)
    assert len(made) == 1 and made[0].steps == outcome.steps > 0
    assert max(made[0].lrs) == pytest.approx(recipe.hyper.lr)  # the schedule reached the peak


def test_one_splitter_keeps_duplicates_together_and_is_order_free() -> None:
    import enigma_core.formats as formats

    assert not hasattr(formats, "split_validation")  # one splitter: carve_validation
    rows = [Example(ids=[], label=f"l{i % 3}", text=f"text {i % 40}") for i in range(200)]
    rows += [Example(ids=[], label="l0", text="TEXT  3")]  # a case/space variant of a duplicate
    train, valid = carve_validation(rows, 0.1, seed=3)
    assert not {r.text.casefold().replace("  ", " ") for r in train} & {
        r.text.casefold().replace("  ", " ") for r in valid
    }
    again = carve_validation(list(reversed(rows)), 0.1, seed=3)[1]
    assert sorted(id(r) for r in again) == sorted(id(r) for r in valid)
    assert carve_validation(rows, 0.1, seed=4)[1] != valid
    with pytest.raises(EnigmaError, match="validation fraction"):
        carve_validation(rows, 1.5)


@pytest.mark.parametrize("lr", [math.nan, math.inf, 1e30, -1.0, 0.0])
def test_out_of_range_learning_rates_are_refused(lr: float) -> None:
    with pytest.raises(EnigmaError, match="--lr must be a number"):
        TrainArgs(lr=lr)


@pytest.mark.parametrize("value", ["nan", "1e30", "-1"])
def test_cli_lr_is_one_line_error(tmp_path: Path, value: str) -> None:
    from tests.venvs import clean_env

    enigma = str(Path(sys.executable).with_name("enigma"))
    done = subprocess.run(
        [enigma, "train", "router", "--lr", value, "--epochs", "1", "--out", str(tmp_path / "m")],
        capture_output=True,
        text=True,
        env=clean_env({"ENIGMA_HOME": str(tmp_path / "home")}),
        timeout=120,
    )
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--lr must be a number" in done.stderr and not (tmp_path / "m").exists()


def test_a_diverging_loss_stops_with_one_line(tmp_path: Path, work: Path, tok: Any) -> None:
    recipe = tiny_data.router_recipe(epochs=2)
    loss = recipe.loss_fn()
    recipe.loss = lambda model, batch: loss(model, batch) * math.nan
    with pytest.raises(EnigmaError, match="training diverged: loss is nan"):
        run_training(recipe, _args(tmp_path / "m", work / "router.txt"), tokenizer=tok)
    assert not (tmp_path / "m" / "model.safetensors").exists()


def test_json_summary_never_holds_nan(tmp_path: Path) -> None:
    outcome = TrainOutcome(
        "t",
        tmp_path,
        "nano",
        1,
        "accuracy",
        True,
        math.nan,
        0,
        1,
        1,
        False,
        False,
        math.inf,
        0.0,
        1,
        0,
        "cpu",
    )
    text = json.dumps(outcome.to_dict(), allow_nan=False)  # raises on NaN/inf
    assert json.loads(text)["best_value"] is None


def test_reordered_labels_in_a_torch_model_config_are_refused(
    tmp_path: Path, work: Path, tok: Any
) -> None:
    from enigma_core.training.checkpoint import load_checkpoint

    out = tmp_path / "m"
    run_training(tiny_data.router_recipe(epochs=1), _args(out, work / "router.txt"), tokenizer=tok)
    load_checkpoint(out, tok)
    meta = json.loads((out / "config.json").read_text())
    meta["labels"] = list(reversed(meta["labels"]))
    (out / "config.json").write_text(json.dumps(meta))
    with pytest.raises(EnigmaError, match="'labels' differs"):
        load_checkpoint(out, tok)


def test_label_mistakes_are_warned(tmp_path: Path, work: Path, tok: Any) -> None:
    from enigma_core.training.data import label_warnings

    rows = [
        Example(ids=[1], label="chat", text="hello there", source="f:1"),
        Example(ids=[1], label="code", text="Hello  there", source="f:3"),
        Example(ids=[2], label="Chat", text="hi", source="f:5"),
        Example(ids=[3], label="a/b", text="x", source="f:7"),
        Example(ids=[4], label="bell\x07", text="y", source="f:9"),
    ]
    found = "\n".join(label_warnings(rows))
    assert "f:3: same input as f:1 but labelled 'code', not 'chat'" in found
    assert "'Chat' and 'chat' differ only in case" in found
    assert "'a/b' holds a path separator" in found and "'bell\\x07'" in found
    assert label_warnings(rows[:1] + rows[2:3]) == ["labels 'Chat' and 'chat' differ only in case"]


def test_safetensors_panic_under_memory_pressure_is_one_line(tmp_path: Path) -> None:
    """A real PanicException (a BaseException) from safetensors, raised by a low memory limit."""
    script = f"""
import resource, sys
import numpy as np
from safetensors.numpy import save_file, load_file
from enigma_core.errors import EnigmaError
from enigma_core.training.weights import guarded
path = {str(tmp_path / "big.safetensors")!r}
save_file({{"w": np.zeros((64, 1 << 20), np.float32)}}, path)
soft, hard = resource.getrlimit(resource.RLIMIT_AS)
used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + (64 << 20), hard))
try:
    guarded(lambda: load_file(path), path)
except EnigmaError as exc:
    print("one line:", exc)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("one line:") and "big.safetensors" in done.stdout
    assert "Traceback" not in done.stderr
