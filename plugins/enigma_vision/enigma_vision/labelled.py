"""Generated pictures with known kinds, to validate the image-type and region rules.

``diagram``: charts (axes, bars, lines, labels); ``screenshot``: windows with title bars,
menus, text rows and buttons; ``drawing``: flat-coloured figures with outlines. Photos cannot
be generated: the real-photo set (``data/vision_real_photos.json``) supplies them.
Picture ``i`` of kind ``k`` and seed ``s`` depends only on ``(k, s, i)``.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from enigma_vision.palette import PALETTE
from enigma_vision.shapes import SHAPES, draw_shape

KINDS = ("diagram", "screenshot", "drawing")
_WORDS = ("File", "Edit", "View", "Help", "Open", "Save", "Cancel", "OK", "Name", "Size",
          "total", "value", "2024", "report", "items", "settings", "search", "user")  # fmt: skip
_COLOURS = tuple(c for c in PALETTE if c not in ("white", "black"))


def _font() -> ImageFont.ImageFont:
    """Pillow's built-in bitmap font (always available, no files)."""
    return ImageFont.load_default()


def _words(rng: np.random.Generator, n: int) -> str:
    """``n`` random UI words joined by spaces."""
    return " ".join(_WORDS[int(rng.integers(len(_WORDS)))] for _ in range(n))


def draw_diagram(rng: np.random.Generator) -> Image.Image:
    """A chart: white background, axes, bars or lines, tick labels and a title."""
    w, h = int(rng.integers(320, 640)), int(rng.integers(240, 480))
    image = Image.new("RGB", (w, h), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = _font()
    x0, y0, x1, y1 = int(w * 0.12), int(h * 0.1), int(w * 0.95), int(h * 0.85)
    draw.line((x0, y1, x1, y1), fill=(0, 0, 0), width=1)
    draw.line((x0, y0, x0, y1), fill=(0, 0, 0), width=1)
    for k in range(6):
        y = y1 - k * (y1 - y0) // 5
        draw.line((x0 - 4, y, x0, y), fill=(0, 0, 0))
        draw.text((4, y - 5), str(k * 10), fill=(0, 0, 0), font=font)
    draw.text((w // 3, 2), _words(rng, 3), fill=(0, 0, 0), font=font)
    series = int(rng.integers(1, 4))
    for s in range(series):
        colour = PALETTE[_COLOURS[int(rng.integers(len(_COLOURS)))]]
        values = rng.uniform(0.1, 0.95, int(rng.integers(5, 12)))
        step = (x1 - x0) / len(values)
        if rng.random() < 0.5:
            points = [(x0 + (i + 0.5) * step, y1 - v * (y1 - y0)) for i, v in enumerate(values)]
            draw.line(points, fill=colour, width=int(rng.integers(1, 3)))
        else:
            for i, v in enumerate(values):
                left = x0 + i * step + step * (0.1 + 0.8 * s / series)
                draw.rectangle(
                    (left, y1 - v * (y1 - y0), left + step * 0.8 / series, y1), fill=colour
                )
        draw.text((x1 - 60, y0 + 12 * s), _words(rng, 1), fill=colour, font=font)
    return image


def draw_screenshot(rng: np.random.Generator) -> Image.Image:
    """A desktop window: title bar, menu, sidebar, rows of text, buttons."""
    w, h = int(rng.integers(480, 900)), int(rng.integers(320, 640))
    light = int(rng.integers(225, 256))
    image = Image.new("RGB", (w, h), (light, light, light))
    draw = ImageDraw.Draw(image)
    font = _font()
    bar = PALETTE[_COLOURS[int(rng.integers(len(_COLOURS)))]]
    draw.rectangle((0, 0, w, 24), fill=bar)
    draw.text((8, 6), _words(rng, 3), fill=(255, 255, 255), font=font)
    draw.rectangle((0, 24, w, 42), fill=(light - 20, light - 20, light - 20))
    draw.text((8, 28), "  ".join(_WORDS[:4]), fill=(0, 0, 0), font=font)
    side = int(w * rng.uniform(0.15, 0.3))
    draw.rectangle((0, 42, side, h), fill=(light - 12, light - 12, light - 12))
    for y in range(52, h - 40, 16):
        draw.text((6, y), _words(rng, 1), fill=(40, 40, 40), font=font)
        draw.text((side + 10, y), _words(rng, int(rng.integers(2, 8))), fill=(0, 0, 0), font=font)
    for k in range(2):
        bx = w - 90 * (k + 1)
        draw.rectangle((bx, h - 32, bx + 80, h - 10), fill=bar, outline=(0, 0, 0))
        draw.text((bx + 20, h - 26), _WORDS[5 + k], fill=(255, 255, 255), font=font)
    return image


def draw_drawing(rng: np.random.Generator) -> Image.Image:
    """A flat-coloured figure: a few outlined shapes on a plain or ground-and-sky background."""
    w, h = int(rng.integers(240, 520)), int(rng.integers(200, 480))
    top = PALETTE[("white", "blue", "yellow", "pink")[int(rng.integers(4))]]
    image = Image.new("RGB", (w, h), top)
    draw = ImageDraw.Draw(image)
    if rng.random() < 0.5:
        draw.rectangle((0, int(h * rng.uniform(0.55, 0.8)), w, h), fill=PALETTE["green"])
    for _ in range(int(rng.integers(2, 6))):
        side = int(min(w, h) * rng.uniform(0.15, 0.4))
        x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
        colour = PALETTE[_COLOURS[int(rng.integers(len(_COLOURS)))]]
        shape = SHAPES[int(rng.integers(len(SHAPES)))]
        draw_shape(draw, shape, (x, y, x + side, y + side), colour)
        if rng.random() < 0.6:
            draw.rectangle((x, y, x + side, y + side), outline=(0, 0, 0), width=2)
    return image


DRAWERS = {"diagram": draw_diagram, "screenshot": draw_screenshot, "drawing": draw_drawing}


def labelled_picture(kind: str, index: int, seed: int = 0) -> Image.Image:
    """Picture number ``index`` of ``kind`` (deterministic)."""
    rng = np.random.default_rng([seed, index, KINDS.index(kind)])
    return DRAWERS[kind](rng)


def kind_confusion(count: int = 40, seed: int = 0) -> dict[str, dict[str, int]]:
    """How the kind rule names ``count`` generated pictures of each kind (and procedural
    images): true kind -> {named kind or "can't tell": how many}."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    from enigma_vision.features import extract_features
    from enigma_vision.loader import load_image, loaded_from_image
    from enigma_vision.synth import encode, generate

    table: dict[str, dict[str, int]] = {}
    for kind in KINDS:
        for index in range(count):
            loaded = loaded_from_image(labelled_picture(kind, index, seed))
            named = extract_features(loaded, faces=False).kind or "can't tell"
            row = table.setdefault(kind, {})
            row[named] = row.get(named, 0) + 1
    with TemporaryDirectory() as folder:
        for index in range(count):
            synth = generate(index, seed + 9000)
            path = Path(folder) / f"s.{synth.fmt}"
            path.write_bytes(encode(synth))
            named = extract_features(load_image(path), faces=False).kind or "can't tell"
            row = table.setdefault("procedural drawing", {})
            row[named] = row.get(named, 0) + 1
    return table
