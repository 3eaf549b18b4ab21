"""Procedural images with exact ground truth: shapes, colours, counts, places, backgrounds.

Image ``i`` of seed ``s`` depends only on ``(s, i)``, so any subset regenerates identically.
Used to train the caption model and to measure attribute accuracy and hallucination.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from enigma_vision.features import ObjectGroup
from enigma_vision.palette import PALETTE, rgb_to_lab
from enigma_vision.segment import POSITIONS
from enigma_vision.shapes import SHAPES, draw_shape

SIZES = ((240, 180), (180, 240), (200, 200), (320, 240), (160, 120), (256, 192), (300, 200))
BACKGROUNDS = ("white", "white", "white", "black", "gray", "blue", "green", "yellow", "pink")
TWO_TONE = (("blue", "green"), ("blue", "yellow"), ("teal", "brown"), ("white", "gray"),
            ("black", "blue"), ("pink", "purple"))  # fmt: skip


@dataclass(frozen=True)
class SynthImage:
    """One generated image and its ground truth."""

    name: str
    image: Image.Image
    background: tuple[str, ...]
    layout: tuple[str, ...]
    objects: tuple[dict[str, Any], ...]  # shape, colour, position, box
    groups: tuple[ObjectGroup, ...]
    fmt: str

    def truth(self) -> dict[str, Any]:
        """JSON-friendly ground truth."""
        return {
            "file": f"{self.name}.{self.fmt}",
            "width": self.image.width,
            "height": self.image.height,
            "background": list(self.background),
            "layout": list(self.layout),
            "objects": list(self.objects),
            "groups": [
                {
                    "count": g.count,
                    "colour": g.colour,
                    "shape": g.shape,
                    "positions": list(g.positions),
                }
                for g in self.groups
            ],
        }


def _distinct(colour: str, others: tuple[str, ...], minimum: float = 30.0) -> bool:
    """True when ``colour`` is at least ``minimum`` Lab units from every colour in ``others``."""
    lab = rgb_to_lab(np.array([PALETTE[colour], *(PALETTE[o] for o in others)], np.float32))
    if not np.all(np.linalg.norm(lab[1:] - lab[0], axis=1) >= minimum):
        return False
    if len(others) == 2:  # stay off the blend between a two-tone background's colours
        start, step = lab[1], lab[2] - lab[1]
        t = float(np.clip((lab[0] - start) @ step / float(step @ step), 0.0, 1.0))
        return float(np.linalg.norm(lab[0] - start - t * step)) >= minimum
    return True


def _box(rng: np.random.Generator, shape: str, cell: tuple[float, float, float, float]) -> tuple:
    """A box for ``shape`` centred (with jitter) in a grid cell, sized to the cell."""
    x0, y0, cw, ch = cell
    side = min(cw, ch) * rng.uniform(0.55, 0.8)
    w = h = side
    if shape in ("rectangle", "oval"):
        long, short = side, side * rng.uniform(0.42, 0.58)
        w, h = (long, short) if rng.random() < 0.6 else (short, long)
    cx = x0 + cw / 2 + rng.uniform(-0.1, 0.1) * cw
    cy = y0 + ch / 2 + rng.uniform(-0.1, 0.1) * ch
    return (round(cx - w / 2), round(cy - h / 2), round(cx + w / 2), round(cy + h / 2))


def generate(index: int, seed: int = 0) -> SynthImage:
    """Draw procedural image number ``index`` of ``seed`` (deterministic)."""
    rng = np.random.default_rng([seed, index])
    width, height = SIZES[int(rng.integers(len(SIZES)))]
    layout: tuple[str, ...] = ()
    if rng.random() < 0.22:
        top, bottom = TWO_TONE[int(rng.integers(len(TWO_TONE)))]
        background: tuple[str, ...] = (top, bottom)
        layout = (f"{top} upper half", f"{bottom} lower half")
    else:
        background = (BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))],)
    image = Image.new("RGB", (width, height), PALETTE[background[0]])
    draw = ImageDraw.Draw(image)
    if len(background) == 2:
        draw.rectangle((0, height // 2, width, height), fill=PALETTE[background[1]])
    usable = [c for c in PALETTE if _distinct(c, background)]
    kinds = int(rng.integers(1, 4))
    total = int(rng.integers(kinds, min(kinds + 3, 6) + 1))
    types: list[tuple[str, str]] = []
    while len(types) < kinds:
        pair = (usable[int(rng.integers(len(usable)))], SHAPES[int(rng.integers(len(SHAPES)))])
        if pair not in types:
            types.append(pair)
    assignment = list(range(kinds)) + [int(rng.integers(kinds)) for _ in range(total - kinds)]
    cells = rng.permutation(9)[:total]
    cw, ch = width / 3, height / 3
    objects = []
    for kind, cell in zip(assignment, cells.tolist(), strict=True):
        colour, shape = types[kind]
        row, column = divmod(cell, 3)
        box = _box(rng, shape, (column * cw, row * ch, cw, ch))
        draw_shape(draw, shape, box, PALETTE[colour])
        objects.append({"shape": shape, "colour": colour, "position": POSITIONS[cell],
                        "box": list(box)})  # fmt: skip
    groups = []
    for colour, shape in types:
        places = [o["position"] for o in objects if (o["colour"], o["shape"]) == (colour, shape)]
        groups.append(ObjectGroup(len(places), colour, shape,
                                  tuple(sorted(places, key=POSITIONS.index))))  # fmt: skip
    if rng.random() < 0.3:
        noise = rng.normal(0, 5, (height, width, 3))
        noisy = np.clip(np.asarray(image, np.float32) + noise, 0, 255).astype(np.uint8)
        image = Image.fromarray(noisy, "RGB")
    fmt = "jpg" if rng.random() < 0.3 else "png"
    return SynthImage(f"synth_{seed}_{index:05d}", image, background, layout,
                      tuple(objects), tuple(groups), fmt)  # fmt: skip


def _atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to ``path`` atomically (enigma_core.atomic: temp file, fsync, replace)."""
    from enigma_core.atomic import atomic_write_bytes

    atomic_write_bytes(path, data)


def encode(synth: SynthImage) -> bytes:
    """The image file bytes in its chosen format (JPEG quality 88 or PNG)."""
    buffer = io.BytesIO()
    if synth.fmt == "jpg":
        synth.image.save(buffer, "JPEG", quality=88)
    else:
        synth.image.save(buffer, "PNG")
    return buffer.getvalue()


def write_dataset(out: str | os.PathLike[str], count: int, seed: int = 0, start: int = 0) -> Path:
    """Write ``count`` images plus ``labels.jsonl`` (ground truth, one line each) to ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(start, start + count):
        synth = generate(index, seed)
        _atomic_write(folder / f"{synth.name}.{synth.fmt}", encode(synth))
        lines.append(json.dumps(synth.truth(), sort_keys=True))
    _atomic_write(folder / "labels.jsonl", ("\n".join(lines) + "\n").encode())
    return folder / "labels.jsonl"


SCENE_PAIRS = (("blue", "green"), ("blue", "yellow"), ("blue", "brown"), ("teal", "brown"),
               ("orange", "black"), ("pink", "blue"), ("gray", "green"), ("white", "blue"),
               ("black", "gray"), ("yellow", "green"), ("purple", "orange"), ("red", "black"),
               ("white", "gray"), ("black", "white"), ("green", "green"),
               ("blue", "blue"))  # fmt: skip


def generate_scene(index: int, seed: int = 0) -> Image.Image:
    """A textured, shape-free picture (sky/ground splits, gradients, noise) for scene features.

    Its features (tone, colours, layout) are whatever the extractor measures: these images
    teach the caption model the photo-like half of the features vocabulary.
    """
    rng = np.random.default_rng([seed, index, 7])
    width, height = SIZES[int(rng.integers(len(SIZES)))]
    first, second = (np.array(PALETTE[c], np.float32) for c in
                     SCENE_PAIRS[int(rng.integers(len(SCENE_PAIRS)))])  # fmt: skip
    if rng.random() < 0.5:
        first, second = second, first
    ys = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :]
    style = int(rng.integers(3))
    if style == 0:  # sharp-ish horizon
        split = rng.uniform(0.35, 0.65)
        t = 1.0 / (1.0 + np.exp(-(ys - split) * rng.uniform(15, 60))) + 0 * xs
    elif style == 1:  # left/right split
        split = rng.uniform(0.35, 0.65)
        t = 1.0 / (1.0 + np.exp(-(xs - split) * rng.uniform(15, 60))) + 0 * ys
    else:  # smooth diagonal gradient
        t = np.clip((xs * rng.uniform(0.2, 1) + ys * rng.uniform(0.2, 1)) / 1.5, 0, 1)
    pixels = first * (1 - t[..., None]) + second * t[..., None]
    pixels *= rng.uniform(0.35, 1.25)
    pixels += rng.normal(0, rng.uniform(10, 30), pixels.shape)
    if rng.random() < 0.15:
        gray = pixels.mean(axis=-1, keepdims=True)
        pixels = np.repeat(gray, 3, axis=-1)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
