"""Feature extraction on images with known content: procedural shapes, scenes, real samples."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("enigma_vision")

from enigma_vision.api import describe
from enigma_vision.features import extract_features, parse_features
from enigma_vision.guard import problems
from enigma_vision.loader import load_image
from enigma_vision.model import Captioner
from enigma_vision.palette import PALETTE, name_of
from enigma_vision.shapes import draw_shape
from enigma_vision.synth import encode, generate, write_dataset
from PIL import Image, ImageDraw


def _features(path: Path):
    """Features of a file, no faces."""
    return extract_features(load_image(path), faces=False)


def test_palette_references_name_themselves() -> None:
    """Every palette colour's reference RGB is named as that colour."""
    for name, rgb in PALETTE.items():
        assert name_of(rgb) == name
    assert name_of((17, 85, 124)) == "blue"  # dark desaturated blue is still blue
    assert name_of((250, 250, 250)) == "white"


def test_hand_drawn_image(tmp_path: Path) -> None:
    """Two red circles and a blue square on white: shapes, colours, counts and places."""
    image = Image.new("RGB", (300, 300), PALETTE["white"])
    draw = ImageDraw.Draw(image)
    draw_shape(draw, "circle", (20, 20, 80, 80), PALETTE["red"])
    draw_shape(draw, "circle", (220, 220, 280, 280), PALETTE["red"])
    draw_shape(draw, "square", (120, 120, 180, 180), PALETTE["blue"])
    image.save(tmp_path / "drawn.png")
    features = _features(tmp_path / "drawn.png")
    groups = {(g.colour, g.shape): g for g in features.objects}
    assert groups[("red", "circle")].count == 2
    assert groups[("red", "circle")].positions == ("top left", "bottom right")
    assert groups[("blue", "square")].positions == ("center",)
    assert features.background == ("white",)
    assert features.orientation == "square" and features.brightness == "bright"
    assert features.colours[0] == "white"


def test_global_features(tmp_path: Path) -> None:
    """Orientation, darkness, black-and-white and the colour layout of halves."""
    rng = np.random.default_rng(0)
    sky = np.zeros((120, 200, 3), np.float32)
    sky[:60] = PALETTE["blue"]
    sky[60:] = PALETTE["green"]
    sky += rng.normal(0, 12, sky.shape)
    Image.fromarray(np.clip(sky, 0, 255).astype(np.uint8)).save(tmp_path / "sky.png")
    features = _features(tmp_path / "sky.png")
    assert features.layout == ("blue upper half", "green lower half")
    assert features.orientation == "landscape" and not features.objects
    gray = rng.normal(40, 8, (200, 100)).clip(0, 255).astype(np.uint8)
    Image.fromarray(gray, "L").save(tmp_path / "dark.png")
    dark = _features(tmp_path / "dark.png")
    assert dark.black_and_white and dark.brightness == "dark"
    assert dark.orientation == "portrait"
    assert set(dark.colours) <= {"black", "gray", "white"}


def test_generator_is_deterministic(tmp_path: Path) -> None:
    """Same seed and index, same bytes and truth; the dataset labels file is reproducible."""
    a, b = generate(17, seed=3), generate(17, seed=3)
    assert encode(a) == encode(b) and a.truth() == b.truth()
    assert encode(generate(18, seed=3)) != encode(a)
    first = write_dataset(tmp_path / "one", 6, seed=4)
    second = write_dataset(tmp_path / "two", 6, seed=4)
    assert first.read_bytes() == second.read_bytes()
    digest = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in first.parent.iterdir()}
    assert digest == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in second.parent.iterdir()
    }


def test_procedural_images_match_truth(tmp_path: Path) -> None:
    """On 60 held-out procedural images the extractor recovers (nearly) all ground truth."""
    exact = 0
    for index in range(60):
        synth = generate(index, seed=777)
        path = tmp_path / f"{synth.name}.{synth.fmt}"
        path.write_bytes(encode(synth))
        features = _features(path)
        exact += int(
            set(features.objects) == set(synth.groups)
            and set(features.background) == set(synth.background)
        )
        truth = {(g.colour, g.shape) for g in synth.groups}
        assert {(g.colour, g.shape) for g in features.objects} <= truth  # never invents
    assert exact >= 57


def test_features_text_round_trip(tmp_path: Path) -> None:
    """The features string parses back to the same objects, background and layout."""
    synth = generate(9, seed=8)
    path = tmp_path / f"x.{synth.fmt}"
    path.write_bytes(encode(synth))
    features = _features(path)
    again = parse_features(features.to_text())
    assert again.objects == features.objects
    assert again.background == features.background and again.layout == features.layout


def _sample_photos() -> list[Path]:
    """Real sample images shipped with matplotlib or scikit-image, when installed."""
    found: list[Path] = []
    try:
        import matplotlib

        root = Path(matplotlib.get_data_path())
        found += sorted((root / "sample_data").glob("*.jpg"))
        found += sorted((root / "sample_data").glob("*.png"))
    except ImportError:
        pass
    try:
        import skimage

        found += sorted((Path(skimage.__file__).parent / "data").glob("*.png"))[:12]
    except ImportError:
        pass
    return found


def test_real_sample_photos_do_not_hallucinate() -> None:
    """Real photos and drawings: no invented shapes; every caption passes the guard."""
    photos = _sample_photos()
    if not photos:
        pytest.skip("no sample images (matplotlib / scikit-image) installed")
    for photo in photos:
        result = describe(photo, Captioner(), faces=True)
        assert problems(result.caption, result.features) == [], (photo, result.caption)
        for word in ("beach", "sunset", "person", "dog", "sky"):
            assert word not in result.caption.lower() or word in result.features.to_text()
        if photo.name == "grace_hopper.jpg":
            assert not result.features.objects  # a natural photo yields no flat shapes
