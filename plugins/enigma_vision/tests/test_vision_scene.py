"""The kind, region and subject rules on pictures whose answer is known by construction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from enigma_vision.features import extract_features
from enigma_vision.imagetype import classify_kind
from enigma_vision.labelled import KINDS, labelled_picture
from enigma_vision.loader import load_image, loaded_from_image
from enigma_vision.regions import PixelStats, find_text
from enigma_vision.subject import find_subject
from enigma_vision.synth import encode, generate
from PIL import Image, ImageDraw, ImageFont


def _noisy(pixels: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """Sensor-like noise on a float picture, back to uint8."""
    rng = np.random.default_rng(seed)
    return np.clip(pixels + rng.normal(0, sigma, pixels.shape), 0, 255).astype(np.uint8)


def _landscape(seed: int) -> Image.Image:
    """A photo-like outdoor scene: graded blue sky over textured green foliage, noisy."""
    rng = np.random.default_rng(seed)
    h, w = 240, 320
    rows = np.linspace(0, 1, h)[:, None, None]
    sky = np.array([90, 150, 230]) * (1 - rows) + np.array([180, 215, 245]) * rows
    pixels = np.broadcast_to(sky, (h, w, 3)).astype(np.float32).copy()
    horizon = 110
    patches = rng.uniform(0.3, 1.0, ((h - horizon) // 4 + 1, w // 4, 1)).repeat(4, 0).repeat(4, 1)
    leaves = patches[: h - horizon] * np.array([60, 140, 50])
    pixels[horizon:] = leaves
    return Image.fromarray(_noisy(pixels, 4, seed))


def test_generated_pictures_are_never_called_photos() -> None:
    """Diagrams, screenshots, drawings and procedural images: never 'photo' (named or unsure)."""
    for kind in KINDS:
        for index in range(12):
            loaded = loaded_from_image(labelled_picture(kind, index, seed=5))
            named = classify_kind(loaded.pixels, PixelStats.of(loaded.pixels)).kind
            assert named != "photo", (kind, index)
            assert named in ("", kind, "drawing"), (kind, index, named)


def test_procedural_images_are_drawings_not_photos(tmp_path: Path) -> None:
    """Noisy, JPEG-compressed procedural images stay drawings (their flats survive a blur)."""
    for index in range(30):
        synth = generate(index, 77)
        path = tmp_path / f"s{index}.{synth.fmt}"
        path.write_bytes(encode(synth))
        features = extract_features(load_image(path), faces=False)
        assert features.kind in ("drawing", ""), (index, features.kind)
        assert not features.regions and not features.outdoors, index


def test_sky_and_vegetation_outdoors_in_daylight(tmp_path: Path) -> None:
    """A blue graded sky over foliage: sky at the top, vegetation, outdoors, daylight."""
    path = tmp_path / "land.png"
    _landscape(1).save(path)
    features = extract_features(load_image(path), faces=False)
    assert features.kind == "photo"
    assert set(features.regions) >= {"sky", "vegetation"}
    assert features.outdoors and features.time == "day"
    assert features.evidence["sky"]["share"] > 0.2


def test_no_sky_for_a_flat_blue_drawing_or_a_dark_wall(tmp_path: Path) -> None:
    """Flat blue (a drawing) and a dark blue-green wall over ground are not skies."""
    Image.new("RGB", (200, 150), (60, 120, 220)).save(tmp_path / "flat.png")
    wall = np.zeros((200, 300, 3), np.float32)
    wall[:120] = (30, 70, 75)
    wall[120:] = (150, 150, 145)
    Image.fromarray(_noisy(wall, 5, 2)).save(tmp_path / "wall.png")
    for name in ("flat.png", "wall.png"):
        features = extract_features(load_image(tmp_path / name), faces=False)
        assert "sky" not in features.regions and not features.outdoors, name


def test_text_lines_are_text_like_and_noise_is_not() -> None:
    """Rows of printed words on paper are found; gravel-like noise and colour are not."""
    font = ImageFont.load_default()
    page = Image.new("RGB", (200, 160), (235, 235, 230))
    draw = ImageDraw.Draw(page)
    for y in range(4, 150, 18):
        draw.text((6, y), "the quick brown fox jumps over", fill=(20, 20, 20), font=font)
    stats = PixelStats.of(np.asarray(page))
    assert find_text(stats.lightness, stats.chroma) is not None
    rng = np.random.default_rng(0)
    gravel = rng.uniform(60, 200, (160, 200, 1)).repeat(3, axis=-1).astype(np.uint8)
    stats = PixelStats.of(gravel)
    assert find_text(stats.lightness, stats.chroma) is None


def test_subject_position_and_size() -> None:
    """One distinct blob left of centre on a noisy plain ground: a small subject on the left;
    two equal blobs: no single subject, nothing said."""
    pixels = np.full((180, 240, 3), (120, 110, 100), np.float32)
    yy, xx = np.mgrid[:180, :240]
    blob = (yy - 90) ** 2 / 30**2 + (xx - 40) ** 2 / 22**2 <= 1
    pixels[blob] = (230, 200, 40)
    found = find_subject(_noisy(pixels, 5, 4))
    assert found is not None and (found.size, found.horizontal) == ("small", "left")
    assert found.vertical == "middle" and found.evidence["separation"] > 3
    pixels[:, 120:] = pixels[:, :120]  # the same blob again on the right
    assert find_subject(_noisy(pixels, 5, 4)) is None
