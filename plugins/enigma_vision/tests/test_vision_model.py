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


# --- the shipped caption model captions exactly as before decoding moved into the core ---------

EXPECTED = Path(__file__).with_name("data") / "captions_expected.json"


FEATURE_TEXTS = (
    "person, smiling, beach",
    "2 faces, mostly gray",
    "a cat on a sofa",
    "sunset, ocean, orange sky",
    "car, street, night, rain",
    "3 people, park, trees",
    "2 people, mostly black and white",
    "laptop, desk, coffee cup",
    "white background, 1 yellow banana left",
)
"""Features strings off the synthetic distribution: there the allowed words change captions."""


def caption_inputs(count: int = 16, seed: int = 4242) -> list[dict[str, object]]:
    """Decoding inputs (features text, allowed words or None): ``count`` procedural images,
    then :data:`FEATURE_TEXTS` constrained and free."""
    import numpy as np
    from enigma_vision.features import extract_features, parse_features
    from enigma_vision.loader import LoadedImage
    from enigma_vision.words import FUNCTION_WORDS

    features = []
    for index in range(count):
        image = generate(index, seed).image.convert("RGB")
        image.thumbnail((160, 160))
        pixels = np.asarray(image, dtype=np.uint8).copy()
        loaded = LoadedImage("x.png", image.width, image.height, "PNG", pixels)
        features.append(extract_features(loaded, faces=False))
    features.extend(parse_features(text) for text in FEATURE_TEXTS)
    cases: list[dict[str, object]] = []
    for item in features:
        allowed = sorted(item.vocabulary() | FUNCTION_WORDS)
        cases.append({"features": item.to_text(), "allowed": allowed})
    cases.extend({"features": parse_features(t).to_text(), "allowed": None} for t in FEATURE_TEXTS)
    return cases


def caption_outputs(captioner: Captioner, cases: list[dict[str, object]]) -> list[str | None]:
    """The model's caption for each case (constrained when it lists allowed words)."""
    outputs = []
    for case in cases:
        allowed = case["allowed"]
        words = set(allowed) if isinstance(allowed, list) else None
        outputs.append(captioner.generate(str(case["features"]), words))
    return outputs


def _weights_sha() -> str:
    """The weights hash recorded in the shipped model's config.json."""
    import json

    return str(json.loads((WEIGHTS_DIR / "config.json").read_text())["weights_sha256"])


def test_shipped_model_captions_as_recorded_before_the_core_loop() -> None:
    """Captions recorded from the plugin's own loop (before it moved into the core) still come
    out for the same features and allowed words, constrained and free."""
    import json

    if not (WEIGHTS_DIR / "config.json").is_file():
        pytest.skip(f"no shipped weights in {WEIGHTS_DIR}")
    recorded = json.loads(EXPECTED.read_text(encoding="utf-8"))
    if recorded["weights_sha256"] != _weights_sha():
        pytest.skip("the shipped caption weights changed since the captions were recorded")
    cases = recorded["cases"]
    assert caption_outputs(load_captioner(None), cases) == recorded["captions"]


if __name__ == "__main__":  # record: python plugins/enigma_vision/tests/test_vision_model.py
    import json
    import sys

    inputs = caption_inputs()
    record = {
        "weights_sha256": _weights_sha(),
        "cases": inputs,
        "captions": caption_outputs(load_captioner(None), inputs),
    }
    json.dump(record, sys.stdout, indent=1, ensure_ascii=False)
    print()


def test_threads_sharing_one_captioner_get_the_serial_answers(tmp_path: Path) -> None:
    """Eight threads describing different images on one loaded model answer exactly as one
    thread does (each call decodes into its own KV cache; the old shared cache garbled them)."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    if not (WEIGHTS_DIR / "config.json").is_file():
        pytest.skip(f"no shipped weights in {WEIGHTS_DIR}")
    captioner = load_captioner(None)
    paths = _images(tmp_path, 12, seed=7171)
    serial = {p: describe(p, captioner, faces=False) for p in paths}
    assert any(d.source == "model" for d in serial.values())
    texts = {p: d.features.to_text() for p, d in serial.items()}
    raw = {p: captioner.generate(texts[p]) for p in paths}
    jobs = [paths[(i * 5) % len(paths)] for i in range(48)]

    def work(path: Path) -> tuple[Path, str, str, str | None]:
        """One request's caption, its source and the unguarded model caption."""
        done = describe(path, captioner, faces=False)
        return path, done.caption, done.source, captioner.generate(texts[path])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, as a loaded server does
    try:
        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, jobs))
    finally:
        sys.setswitchinterval(interval)
    want = {p: (d.caption, d.source, raw[p]) for p, d in serial.items()}
    wrong = [path.name for path, *got in results if tuple(got) != want[path]]
    assert wrong == [], f"{len(wrong)} of {len(results)} answers differ from the serial run"
