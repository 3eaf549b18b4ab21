"""Retraining into a model folder never loses the model, and bad options stop before training.

A kill between writing the new weights and the new ``config.json`` (simulated by a write that
dies there) leaves the previous pair in ``.previous/``; loading then answers with it. The next
training run finishes the update. Also: ``--resume`` on the router (which trains in one go)
says so and trains; ``--data`` spelled as another path to the seed file still adds the plugins'
example requests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from enigma_core.errors import EnigmaError

REPO = Path(__file__).resolve().parents[3]
DATA = REPO / "data" / "specialized" / "router_training.txt"


def _train(out: Path, data: Path = DATA, context: object = None, **kw: object) -> object:
    from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe

    from enigma_core.training.run import TrainArgs, run_training

    recipe = make_router_recipe(context, hyper=DEFAULT_HYPER.replace(epochs=2))
    return run_training(recipe, TrainArgs(out=out, data=(data,), progress=False, **kw))


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (BaseException, as no handler catches it)."""


def test_kill_between_weights_and_config_keeps_the_previous_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enigma_router.inference import RouterModel

    from enigma_core.training import modeldir

    out = tmp_path / "router"
    _train(out, seed=0)
    before = json.loads((out / "config.json").read_text())["model_id"]
    expected = RouterModel.load(out).logits(["write a function", "hello"])

    def die(path: Path, obj: object) -> None:
        raise _Killed

    monkeypatch.setattr("enigma_core.atomic.atomic_write_json", die)
    with pytest.raises(_Killed):
        _train(out, seed=1)
    monkeypatch.undo()
    assert (out / modeldir.PREVIOUS).is_dir()  # new weights, old config: a torn pair...
    assert modeldir.committed_dir(out) == out / modeldir.PREVIOUS  # ...so loaders use .previous
    model = RouterModel.load(out)
    assert model.meta["model_id"] == before
    assert (model.logits(["write a function", "hello"]) == expected).all()
    _train(out, seed=2)  # the next run completes the update and drops .previous
    assert not (out / modeldir.PREVIOUS).exists()
    assert RouterModel.load(out).meta["model_id"] != before


def test_resume_is_not_needed_and_says_so(tmp_path: Path) -> None:
    outcome = _train(tmp_path / "m", resume=True)
    assert any("runs in one go" in w for w in outcome.warnings)
    assert (tmp_path / "m" / "model.safetensors").is_file()


def test_seed_file_by_any_path_adds_plugin_examples(tmp_path: Path) -> None:
    from enigma_core.engine import EnigmaEngine

    context = EnigmaEngine().context()
    relative = Path(os.path.relpath(DATA))  # the same file, spelled as the issue did
    link = tmp_path / "seed-link.txt"
    link.symlink_to(DATA)
    for i, data in enumerate((DATA, relative, link)):
        _train(tmp_path / f"m{i}", data=data, context=context)
        router = json.loads((tmp_path / f"m{i}" / "config.json").read_text())["router"]
        assert router["plugin_examples"] > 0, data
    copy = tmp_path / "copy.txt"
    copy.write_bytes(DATA.read_bytes())  # another file with the same text is the user's data
    _train(tmp_path / "c", data=copy, context=context)
    assert (
        json.loads((tmp_path / "c" / "config.json").read_text())["router"]["plugin_examples"] == 0
    )
    assert relative.name == DATA.name


def test_unwritable_outputs_fail_before_training(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EnigmaError, match="is a file, not a directory"):
        _train(blocker / "m")
    with pytest.raises(EnigmaError, match="cannot write the model here"):
        _train(Path("/proc/enigma-test/m"))
