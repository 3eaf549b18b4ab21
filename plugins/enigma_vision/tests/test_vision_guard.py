"""The faithfulness guard: captions may only name things, colours and counts in the features."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("enigma_vision")

from enigma_vision.api import describe, describe_image
from enigma_vision.features import parse_features
from enigma_vision.guard import guard, problems
from enigma_vision.model import Captioner
from enigma_vision.template import template_caption

from enigma_core.formats import load_pair_examples

REPO = Path(__file__).resolve().parents[3]
SHAPES = parse_features("2 red circles top left and center, 1 blue square bottom, white background")


def test_guard_removes_an_invented_noun() -> None:
    """A caption adding a dog the features never mention falls back to the template."""
    features = parse_features("person, smiling, beach, sunset")
    result = guard("A smiling person and a dog on a beach at sunset.", features)
    assert result.source == "template" and "dog" not in result.text
    assert any("dog" in p for p in result.problems)
    assert result.text == template_caption(features)


def test_guard_keeps_a_faithful_caption() -> None:
    """A caption built from the features' own words is kept as the model wrote it."""
    features = parse_features("person, smiling, beach, sunset")
    result = guard("A smiling person on a beach at sunset.", features)
    assert result.source == "model" and result.problems == ()


@pytest.mark.parametrize(
    "caption",
    [
        "Three red circles at the top left and in the center, on a white background.",
        "Two green circles at the top left and in the center, on a white background.",
        "Two red circles at the bottom right and in the center, on a white background.",
        "Two red circles and a blue triangle, on a white background.",
        "Two red circles and a blue square on a black background.",
        "A beach at sunset.",
        "Two red circles at the top left and in the center and a square.",
        "Two red circles at the top left and in the center, on a white background.",
        "Two red circles at the top left and at the top left and at the top left.",
        ",,,,,,,,,,",
        "Two red circles at the top left and in the center and a blue square at the bottom and",
    ],
)
def test_guard_catches_wrong_counts_colours_places_and_scenes(caption: str) -> None:
    """Wrong count, colour, place, shape, background, invented scene, colourless shape."""
    assert problems(caption, SHAPES)
    assert guard(caption, SHAPES).source == "template"


def test_template_needs_no_model_and_is_faithful() -> None:
    """With no model at all the template describes features and passes its own guard."""
    text = "2 red circles top left and center, white background, bright"
    caption = describe_image(text)
    assert caption.startswith("Two red circles at the top left and in the center")
    assert problems(caption, parse_features(text)) == []
    seed = describe("[E:vision] person, smiling, beach, sunset", Captioner())
    assert seed.source == "template" and "beach" in seed.caption


def test_training_file_is_faithful() -> None:
    """Every pair of data/specialized/vision_training.txt passes the guard (and parses)."""
    path = REPO / "data" / "specialized" / "vision_training.txt"
    if not path.exists():
        pytest.skip(f"{path} absent")
    pairs = load_pair_examples(path, kind="vision")
    assert len(pairs) >= 200
    for pair in pairs:
        assert problems(pair.completion, parse_features(pair.prompt)) == [], pair.line


PHOTO = parse_features("blue upper half, 1 face, smiling, mostly blue and white, bright, landscape")


@pytest.mark.parametrize(
    "caption",
    [
        "A bright landscape image, mostly white and white, showing one face.",
        "A bright landscape image, mostly blue and green, showing one face.",
        "A bright landscape image with blue in the lower half, showing one face.",
        "A bright landscape image, mostly blue and white, showing two faces.",
        "A black and black, with a blue in the upper half.",
        "A bright landscape image on a white background, showing one face.",
        "A bright blue landscape image, showing one face.",
    ],
)
def test_guard_checks_scene_claims(caption: str) -> None:
    """Colour lists, halves, faces and loose colour words must match the measured features."""
    assert problems(caption, PHOTO), caption


def test_scene_template_is_accepted() -> None:
    """The template sentence for a photo passes every scene check."""
    caption = template_caption(PHOTO)
    assert "blue in the upper half" in caption and "a face" in caption
    assert problems(caption, PHOTO) == []


def test_guard_requires_detected_faces() -> None:
    """A caption that drops a detected face is incomplete and falls back to the template."""
    caption = "A bright landscape image, mostly blue and white, with blue in the upper half."
    assert any("face" in p for p in problems(caption, PHOTO))
