"""What kind of picture it is: photo, drawing, diagram or screenshot, or "can't tell".

Photos carry sensor noise in their smooth areas and have no large single-value flats; drawn
pictures are the opposite. Diagrams add long straight axes on a light background, screenshots
a flat full-width title bar. Anything in between is left unnamed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enigma_vision.regions import PixelStats, box_mean

PHOTO_NOISE = 0.3
"""Median |Laplacian| of lightness in smooth areas a photo has at least (drawings: ~0)."""
PHOTO_MAX_FLAT_COLOUR = 0.3
"""Share of the single most common exact RGB value a photo stays under."""
PIECEWISE_FLAT = 0.75
PIECEWISE_MODES = 0.85
"""A picture that is flat once lightly blurred and sits near 3 lightness levels is drawn, with
noise added (the procedural images), not photographed."""
DRAWING_FLAT = 0.4
"""Share of pixels whose 3x3 neighbourhood is flat (all channels within 2) a drawing has."""
DRAWING_MAX_NOISE = 0.2
DRAWING_MIN_FLAT_LIGHTNESS = 25.0
"""Mean lightness of the flat pixels: dark flats are as often a dark photo background."""


@dataclass(frozen=True)
class KindReport:
    """The picture's kind ("" when unclear) and the measures behind it."""

    kind: str
    measures: dict[str, float]


def _neighbourhood_range(pixels: np.ndarray) -> np.ndarray:
    """Max minus min over each pixel's 3x3 neighbourhood, largest over the channels."""
    p = np.pad(pixels.astype(np.int16), ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = pixels.shape[:2]
    windows = [p[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]
    return (np.maximum.reduce(windows) - np.minimum.reduce(windows)).max(axis=-1)


def _axes(lightness: np.ndarray, paper: float) -> bool:
    """True when a long dark row and a long dark column (a chart's axes) cross the picture."""
    dark = lightness < paper - 15
    return _thin_line(dark.mean(axis=1)) and _thin_line(dark.mean(axis=0))


def _thin_line(profile: np.ndarray) -> bool:
    """True when some line is at least half dark while lines 3 away on both sides are not."""
    for i in np.flatnonzero(profile >= 0.5).tolist():
        near = [profile[j] for j in (i - 3, i + 3) if 0 <= j < len(profile)]
        if near and max(near) < 0.3:
            return True
    return False


def _title_bar(pixels: np.ndarray) -> bool:
    """True when the top rows form a flat full-width band that differs from the rows below."""
    h = pixels.shape[0]
    rows = pixels.astype(np.float32)
    band = 0
    first = rows[0].mean(axis=0)
    for y in range(max(1, int(h * 0.15))):
        row = rows[y]
        if float(np.abs(row - first).max(axis=-1).mean()) > 6 or float(row.std(axis=0).max()) > 40:
            break
        band = y + 1
    if band < 2 or band > h * 0.12:
        return False
    below = rows[band + 1]
    changed = float((np.abs(below - first).max(axis=-1) > 25).mean())
    body = rows[band + 2 :].reshape(-1, 3)
    same_as_body = float((np.abs(body - first).max(axis=-1) <= 6).mean())
    return changed >= 0.9 and same_as_body < 0.2


def classify_kind(pixels: np.ndarray, stats: PixelStats, shapes: bool = False) -> KindReport:
    """Name the picture's kind from flatness, noise, axes and a title bar.

    ``shapes``: flat shapes were found on a flat background (a drawing, e.g. procedural).
    """
    spread = _neighbourhood_range(pixels)
    flat = spread <= 2
    flat_share = float(flat.mean())
    packed = pixels.reshape(-1, 3).astype(np.int32)
    codes = (packed[:, 0] << 16) | (packed[:, 1] << 8) | packed[:, 2]
    top_share = float(np.unique(codes, return_counts=True)[1].max()) / float(codes.size)
    lightness = stats.lightness
    lap = np.abs(
        4 * lightness[1:-1, 1:-1] - lightness[:-2, 1:-1] - lightness[2:, 1:-1]
        - lightness[1:-1, :-2] - lightness[1:-1, 2:]
    )  # fmt: skip
    smooth = stats.spread[1:-1, 1:-1] < 2
    noise = float(np.median(lap[smooth])) if smooth.sum() >= 50 else -1.0
    flat_lightness = float(lightness[flat].mean()) if flat.any() else 0.0
    paper = float(np.percentile(lightness, 90))
    measures = {"flat": flat_share, "top_colour": top_share, "noise": noise,
                "flat_lightness": flat_lightness, "paper": paper}  # fmt: skip
    blurred = box_mean(lightness, 2)
    blur_flat = float((_neighbourhood_range(blurred[..., None]) <= 1).mean())
    modes = np.argsort(np.bincount(np.clip(blurred.round(), 0, 100).astype(np.int64).ravel()))
    near_modes = float(np.min([np.abs(blurred - m) for m in modes[-3:]], axis=0).__le__(3).mean())
    measures.update(blur_flat=blur_flat, near_modes=near_modes)
    piecewise_flat = blur_flat >= PIECEWISE_FLAT and near_modes >= PIECEWISE_MODES
    kind = ""
    if noise >= PHOTO_NOISE and top_share < PHOTO_MAX_FLAT_COLOUR and not piecewise_flat:
        kind = "photo"
    elif shapes:
        kind = "drawing"
    elif 0 <= noise < DRAWING_MAX_NOISE and flat_share >= DRAWING_FLAT:
        if _title_bar(pixels):
            kind = "screenshot"
        elif paper >= 90 and top_share >= 0.4 and _axes(lightness, paper):
            kind = "diagram"
        elif flat_lightness >= DRAWING_MIN_FLAT_LIGHTNESS:
            kind = "drawing"
    return KindReport(kind, measures)
