"""Region masks from colour, texture and position rules: sky, vegetation, water, skin, text.

Each rule is deliberately strict (a missed region costs less than an invented one) and runs
on the small analysis copy with numpy only. ``enigma eval vision --regions`` measures them on
hand-labelled photos and generated pictures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enigma_vision.palette import rgb_to_lab

SKY_HUE = (215.0, 300.0)
"""Lab hue band (degrees) of blue sky, from pale day blue to dusk blue."""
VEGETATION_HUE = (100.0, 175.0)
"""Lab hue band of leaves and grass (yellow-green to green)."""
SMOOTH = 3.0
"""Local lightness spread (Lab L, 5x5 window) under which a pixel counts as smooth."""
TEXTURED = 4.0
TEXT_ANISOTROPY = 1.6
"""A text block's row-to-row ink spread over its column-to-column spread (lines of text)."""
TEXT_SHARE = 0.25
"""Share of blocks that must look like text before text-like marks are claimed."""
"""...and over which it counts as textured (foliage, grass)."""


@dataclass(frozen=True)
class Region:
    """One region found by a rule: its share of the image, its box (fractions) and evidence."""

    name: str
    share: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 as fractions of width / height
    evidence: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "share": round(self.share, 3),
            "box": [round(v, 3) for v in self.box],
            "evidence": {k: round(v, 3) for k, v in self.evidence.items()},
        }


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean of ``values`` over a (2r+1)^2 window (edges replicated), via summed-area tables."""
    padded = np.pad(values.astype(np.float64), radius + 1, mode="edge")
    table = padded.cumsum(0).cumsum(1)
    size = 2 * radius + 1
    h, w = values.shape
    total = (
        table[size : size + h, size : size + w]
        - table[:h, size : size + w]
        - table[size : size + h, :w]
        + table[:h, :w]
    )
    return (total / (size * size)).astype(np.float32)


def local_spread(lightness: np.ndarray, radius: int = 2) -> np.ndarray:
    """Standard deviation of lightness in a (2r+1)^2 window: the texture measure."""
    mean = box_mean(lightness, radius)
    square = box_mean(lightness.astype(np.float64) ** 2, radius)
    return np.sqrt(np.maximum(square - mean.astype(np.float64) ** 2, 0.0)).astype(np.float32)


def components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected component labels of a boolean mask (0: background) and how many there are."""
    from enigma_vision.segment import _components

    labels = np.zeros(mask.shape, dtype=np.int32)
    flat = labels.reshape(-1)
    parts = _components(mask)
    for number, indices in enumerate(parts, 1):
        flat[indices] = number
    return labels, len(parts)


def _box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box of a mask as fractions of width and height."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)


@dataclass(frozen=True)
class PixelStats:
    """Per-pixel Lab values and texture of the analysis copy, computed once."""

    lightness: np.ndarray
    chroma: np.ndarray
    hue: np.ndarray
    spread: np.ndarray

    @classmethod
    def of(cls, pixels: np.ndarray) -> PixelStats:
        """Measure an RGB uint8 array."""
        lab = rgb_to_lab(pixels)
        lightness = lab[..., 0]
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) % 360.0
        return cls(lightness, chroma, hue, local_spread(lightness))


def find_sky(stats: PixelStats) -> Region | None:
    """Blue, smooth pixels connected to the top edge, spanning most of it, mainly up high."""
    h = stats.lightness.shape[0]
    blue = (stats.hue >= SKY_HUE[0]) & (stats.hue < SKY_HUE[1]) & (stats.chroma >= 8)
    candidate = blue & (stats.lightness >= 15) & (stats.spread <= SMOOTH * 1.5)
    candidate[int(h * 0.75) :] = False
    labels, count = components(candidate)
    if count == 0:
        return None
    top = np.unique(labels[0][labels[0] > 0])
    mask = np.isin(labels, top)
    share = float(mask.mean())
    top_row = float(mask[0].mean())
    if share < 0.08 or top_row < 0.4:
        return None
    rows = np.nonzero(mask)[0]
    centre = float(rows.mean()) / h
    if centre > 0.4:
        return None
    evidence = {"share": share, "top_row_covered": top_row, "centre_row": centre,
                "lightness": float(stats.lightness[mask].mean()),
                "spread": float(stats.spread[mask].mean())}  # fmt: skip
    return Region("sky", share, _box(mask), evidence)


def find_vegetation(stats: PixelStats) -> Region | None:
    """Green, textured pixels (leaves, grass) covering a real part of the picture."""
    green = (stats.hue >= VEGETATION_HUE[0]) & (stats.hue < VEGETATION_HUE[1])
    mask = green & (stats.chroma >= 8) & (stats.lightness >= 8) & (stats.lightness <= 80)
    mask &= stats.spread >= TEXTURED
    mask = box_mean(mask.astype(np.float32), 2) >= 0.5  # keep dense patches, drop specks
    share = float(mask.mean())
    if share < 0.06:
        return None
    evidence = {"share": share, "spread": float(stats.spread[mask].mean()),
                "chroma": float(stats.chroma[mask].mean())}  # fmt: skip
    return Region("vegetation", share, _box(mask), evidence)


def find_water(stats: PixelStats, sky: Region | None) -> Region | None:
    """Blue-grey smooth band right below a found sky, wide and low (a lake or the sea)."""
    if sky is None:
        return None
    h = stats.lightness.shape[0]
    horizon = int(sky.box[3] * h)
    bluish = (stats.hue >= 190.0) & (stats.hue < SKY_HUE[1]) & (stats.chroma >= 4)
    candidate = bluish & (stats.lightness >= 35) & (stats.spread <= SMOOTH * 2)
    candidate[: max(0, horizon - 2)] = False
    labels, count = components(candidate)
    if count == 0:
        return None
    sizes = np.bincount(labels.ravel())[1:]
    best = int(sizes.argmax()) + 1
    mask = labels == best
    share = float(mask.mean())
    box = _box(mask)
    if share < 0.05 or (box[2] - box[0]) < 0.4 or box[1] > sky.box[3] + 0.1:
        return None
    evidence = {"share": share, "width": box[2] - box[0], "below_sky": box[1] - sky.box[3]}
    return Region("water", share, box, evidence)


def skin_mask(pixels: np.ndarray, stats: PixelStats) -> np.ndarray:
    """Skin-toned pixels: the classic YCrCb box plus a warm, moderate-chroma Lab hue."""
    rgb = pixels.astype(np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b
    cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b
    box = (cr >= 135) & (cr <= 175) & (cb >= 80) & (cb <= 130)
    warm = (stats.hue >= 20) & (stats.hue <= 80) & (stats.chroma >= 8) & (stats.chroma <= 50)
    return box & warm & (stats.lightness >= 25) & (stats.lightness <= 90)


def find_text(lightness: np.ndarray, chroma: np.ndarray) -> Region | None:
    """Text-like areas: colourless light blocks crossed by rows of small dark strokes.

    A 16x16 block qualifies when it is nearly colourless, has a light paper level, 4-40 % ink,
    and its ink varies far more from row to row (lines of text) than from column to column.
    """
    size = 16
    rows_n, cols_n = lightness.shape[0] // size, lightness.shape[1] // size
    if rows_n == 0 or cols_n == 0:
        return None

    def blocks(values: np.ndarray) -> np.ndarray:
        cut = values[: rows_n * size, : cols_n * size]
        return cut.reshape(rows_n, size, cols_n, size).transpose(0, 2, 1, 3)

    light = blocks(lightness)
    paper = np.percentile(light.reshape(rows_n, cols_n, -1), 80, axis=-1)
    ink = light < (paper - 20)[..., None, None]
    share = ink.mean(axis=(2, 3))
    colourless = blocks(chroma).mean(axis=(2, 3)) <= 12
    row_spread = ink.mean(axis=3).std(axis=2)
    col_spread = ink.mean(axis=2).std(axis=2)
    hits = (paper >= 55) & (share >= 0.04) & (share <= 0.4) & colourless
    hits &= row_spread >= TEXT_ANISOTROPY * np.maximum(col_spread, 0.02)
    share = float(hits.mean()) if hits.size else 0.0
    if share < TEXT_SHARE:
        return None
    mask = np.repeat(np.repeat(hits, size, 0), size, 1)
    return Region("text", share, _box(mask), {"blocks": share})
