"""The shapes the plugin knows: how to draw each one in a box, and its binary template mask.

The procedural generator draws with :func:`draw_shape` and the detector compares blobs to
:func:`template_mask` of the same function, so both sides agree on what a "star" looks like.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

SHAPES: tuple[str, ...] = ("circle", "oval", "square", "rectangle", "triangle", "diamond", "star")
"""Every shape name a caption may use."""

PLURALS = {shape: shape + "s" for shape in SHAPES}

TEMPLATES: tuple[str, ...] = ("ellipse", "box", "triangle", "diamond", "star")
"""Drawing primitives; ellipse → circle/oval and box → square/rectangle by aspect ratio."""


def _star_points() -> list[tuple[float, float]]:
    """A five-pointed star, apex up, normalised to the unit box."""
    points = []
    for i in range(10):
        radius = 1.0 if i % 2 == 0 else 0.42
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((radius * math.cos(angle), radius * math.sin(angle)))
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    return [((x - x0) / (x1 - x0), (y - y0) / (y1 - y0)) for x, y in points]


_UNIT_POLYGONS: dict[str, list[tuple[float, float]]] = {
    "triangle": [(0.5, 0.0), (1.0, 1.0), (0.0, 1.0)],
    "diamond": [(0.5, 0.0), (1.0, 0.5), (0.5, 1.0), (0.0, 0.5)],
    "star": _star_points(),
}


def primitive_of(shape: str) -> str:
    """The drawing primitive behind a shape name."""
    if shape in ("circle", "oval"):
        return "ellipse"
    if shape in ("square", "rectangle"):
        return "box"
    return shape


def draw_shape(
    draw: ImageDraw.ImageDraw,
    shape: str,
    box: tuple[float, float, float, float],
    fill: int | tuple[int, ...],
) -> None:
    """Draw ``shape`` filling the box (x0, y0, x1, y1), inclusive pixel coordinates."""
    x0, y0, x1, y1 = box
    primitive = primitive_of(shape)
    if primitive == "ellipse":
        draw.ellipse((x0, y0, x1, y1), fill=fill)
    elif primitive == "box":
        draw.rectangle((x0, y0, x1, y1), fill=fill)
    elif primitive in _UNIT_POLYGONS:
        w, h = x1 - x0, y1 - y0
        draw.polygon([(x0 + u * w, y0 + v * h) for u, v in _UNIT_POLYGONS[primitive]], fill=fill)
    else:
        raise ValueError(f"unknown shape {shape!r}")


@lru_cache(maxsize=4096)
def template_mask(primitive: str, width: int, height: int) -> np.ndarray:
    """Boolean mask (height, width) of ``primitive`` drawn to fill the whole box."""
    image = Image.new("1", (width, height), 0)
    draw_shape(ImageDraw.Draw(image), primitive, (0, 0, width - 1, height - 1), 1)
    mask = np.asarray(image, dtype=bool)
    mask.flags.writeable = False
    return mask


def classify_mask(mask: np.ndarray) -> tuple[str, float, float]:
    """Best shape name for a cropped blob mask, its IoU with that template, and the runner-up's."""
    height, width = mask.shape
    scores = []
    for primitive in TEMPLATES:
        template = template_mask(primitive, width, height)
        union = np.logical_or(mask, template).sum()
        scores.append((float(np.logical_and(mask, template).sum() / union) if union else 0.0,
                       primitive))  # fmt: skip
    scores.sort(reverse=True)
    (best_iou, best), (second_iou, _) = scores[0], scores[1]
    aspect = width / height
    if best == "ellipse":
        best = "circle" if 0.8 <= aspect <= 1.25 else "oval"
    elif best == "box":
        best = "square" if 0.8 <= aspect <= 1.25 else "rectangle"
    return best, best_iou, second_iou
