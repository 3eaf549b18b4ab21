"""The caption model: a real (small) training run through the core loop, numpy inference,
and the shipped default weights, always behind the faithfulness guard."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("enigma_vision")

from enigma_vision.api import describe
from enigma_vision.guard import problems
from enigma_vision.model import WEIGHTS_DIR, Captioner, load_captioner
from enigma_vision.recipe import vision_recipe
from enigma_vision.synth import encode, generate
from enigma_vision.training_data import format_pairs

from enigma_core.formats import load_pair_examples

REPO = Path(__file__).resolve().parents[3]


def _images(folder: Path, count: int, seed: int) -> list[Path]:
    """Write ``count`` procedural images and return their paths."""
    paths = []
    for index in range(count):
        synth = generate(index, seed)
        path = folder / f"{synth.name}.{synth.fmt}"
        path.write_bytes(encode(synth))
        paths.append(path)
    return paths


def test_recipe_trains_and_numpy_model_captions(tmp_path: Path) -> None:
    """Train a nano caption model for one epoch; its captions pass the guard or fall back."""
    pytest.importorskip("torch")
    from enigma_core.training.run import TrainArgs, run_training

    source = REPO / "data" / "specialized" / "vision_training.txt"
    pairs = [(f"[E:vision] {p.prompt}", p.completion) for p in load_pair_examples(source)][:30]
    data = tmp_path / "vision_small.txt"
    data.write_text(format_pairs(pairs))
    recipe = vision_recipe(synthetic=10)
    outcome = run_training(
        recipe,
        TrainArgs(out=tmp_path / "model", data=(data,), size="nano", epochs=1, threads=2,
                  progress=False, batch_size=16),
    )  # fmt: skip
    assert outcome.n_train + outcome.n_valid >= 65  # file pairs (x2) plus synthetic ones
    assert (tmp_path / "model" / "model.safetensors").is_file()
    captioner = load_captioner(tmp_path / "model")
    assert captioner.has_model
    for path in _images(tmp_path, 4, seed=6060):
        result = describe(path, captioner, faces=False)
        assert result.source in ("model", "template")
        assert problems(result.caption, result.features) == []


def test_missing_model_dir_is_an_error_but_no_weights_is_template(tmp_path: Path) -> None:
    """An explicit folder without a model is an error; the template captioner always works."""
    from enigma_core.errors import EnigmaError

    with pytest.raises(EnigmaError, match=r"config\.json"):
        load_captioner(tmp_path)
    assert Captioner().generate("1 red circle center") is None


def test_shipped_weights_are_faithful(tmp_path: Path) -> None:
    """The default model loads with numpy and never gets an unfaithful caption through."""
    if not (WEIGHTS_DIR / "config.json").is_file():
        pytest.skip(f"no shipped weights in {WEIGHTS_DIR}")
    captioner = load_captioner(None)
    assert captioner.has_model, captioner.status
    assert (WEIGHTS_DIR / "model.safetensors").stat().st_size <= 25 * 1024 * 1024
    used = 0
    for path in _images(tmp_path, 12, seed=9090):
        result = describe(path, captioner, faces=False)
        assert problems(result.caption, result.features) == []
        used += result.source == "model"
    assert used >= 1
