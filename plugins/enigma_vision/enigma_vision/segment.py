"""Finds flat-coloured objects on a flat background: background model, blobs, shapes, places.

Only images whose border is a flat background qualify (drawings, diagrams, the procedural
images); on natural photos this module reports no objects rather than guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enigma_vision.palette import COLOUR_NAMES, quantize, rgb_to_lab
from enigma_vision.shapes import classify_mask

MIN_IOU = {"circle": 0.85, "oval": 0.85, "square": 0.88, "rectangle": 0.88,
           "triangle": 0.78, "diamond": 0.78, "star": 0.68}  # fmt: skip
"""IoU with its best template a blob needs to be reported as that shape (else it is skipped).

Measured on procedural images, the worst true match per shape is ~0.07 above these; on the
icons and photos bundled with matplotlib, every non-shape blob stays below them."""

MIN_MARGIN = 0.05
"""...and the lead its best template needs over the runner-up (an ambiguous blob is skipped)."""

FOREGROUND_DISTANCE = 22.0
"""Lab distance from every background colour above which a pixel is foreground."""

POSITIONS: tuple[str, ...] = (
    "top left", "top", "top right",
    "left", "center", "right",
    "bottom left", "bottom", "bottom right",
)  # fmt: skip
"""Row-major names of the 3×3 grid cells; index = row * 3 + column."""


@dataclass(frozen=True)
class DetectedObject:
    """One flat-coloured shape: its name, colour, grid position, centre and area fraction."""

    shape: str
    colour: str
    position: str
    center: tuple[float, float]
    area: float
    iou: float

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "shape": self.shape,
            "colour": self.colour,
            "position": self.position,
            "center": [round(self.center[0], 3), round(self.center[1], 3)],
            "area": round(self.area, 4),
            "iou": round(self.iou, 3),
        }


def position_name(x: float, y: float) -> str:
    """Grid cell name of a point given as fractions (0–1) of width and height."""
    column = min(2, max(0, int(x * 3)))
    row = min(2, max(0, int(y * 3)))
    return POSITIONS[row * 3 + column]


@dataclass(frozen=True)
class Background:
    """The flat background: its palette colours and mean Lab values, or none found."""

    colours: tuple[str, ...]
    lab: np.ndarray  # (k, 3)
    flat: bool


def find_background(pixels: np.ndarray, labels: np.ndarray) -> Background:
    """Estimate the background from the image border; ``flat`` only when it is uniform."""
    lab = rgb_to_lab(pixels)
    border = np.concatenate([labels[0], labels[-1], labels[1:-1, 0], labels[1:-1, -1]])
    border_lab = np.concatenate([lab[0], lab[-1], lab[1:-1, 0], lab[1:-1, -1]])
    counts = np.bincount(border.astype(np.int64), minlength=len(COLOUR_NAMES))
    fractions = counts / max(1, border.size)
    chosen = [int(i) for i in np.argsort(-fractions) if fractions[i] >= 0.15][:2]
    if not chosen:
        return Background((), np.zeros((0, 3), np.float32), False)
    rows = np.concatenate(
        [
            np.zeros(labels.shape[1]),
            np.full(labels.shape[1], labels.shape[0]),
            np.arange(1, labels.shape[0] - 1),
            np.arange(1, labels.shape[0] - 1),
        ]
    )
    chosen.sort(key=lambda i: float(rows[border == i].mean()))  # upper colour first
    means = np.stack([border_lab[border == i].mean(axis=0) for i in chosen])
    spread = max(
        float(np.median(np.linalg.norm(border_lab[border == i] - mean, axis=1)))
        for i, mean in zip(chosen, means, strict=True)
    )
    covered = float(fractions[chosen].sum())
    flat = covered >= 0.9 and spread <= 6.0
    return Background(tuple(COLOUR_NAMES[i] for i in chosen), means.astype(np.float32), flat)


def _components(mask: np.ndarray) -> list[np.ndarray]:
    """4-connected components of a boolean mask, as arrays of flat pixel indices (row runs)."""
    height, width = mask.shape
    parent: list[int] = []
    runs: list[tuple[int, int, int]] = []  # (row, start, end) with end exclusive
    previous: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for row in range(height):
        line = np.concatenate([[False], mask[row], [False]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(line))
        current: list[int] = []
        for start, end in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
            index = len(runs)
            runs.append((row, start, end))
            parent.append(index)
            for other in previous:
                _, o_start, o_end = runs[other]
                if o_start < end and start < o_end:
                    a, b = find(index), find(other)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
            current.append(index)
        previous = current
    groups: dict[int, list[int]] = {}
    for index in range(len(runs)):
        groups.setdefault(find(index), []).append(index)
    result = []
    for members in groups.values():
        pieces = [np.arange(runs[m][1], runs[m][2]) + runs[m][0] * width for m in members]
        result.append(np.concatenate(pieces))
    return result


def _erode(mask: np.ndarray) -> np.ndarray:
    """One-pixel 4-neighbour erosion of a boolean mask."""
    inner = mask.copy()
    inner[1:] &= mask[:-1]
    inner[:-1] &= mask[1:]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    return inner


def _background_distance(lab: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Lab distance of each pixel to the background: its colours and the blends between them."""
    distance = np.sqrt(((lab[:, :, None, :] - means) ** 2).sum(-1)).min(axis=-1)
    if len(means) == 2:
        start, step = means[0], means[1] - means[0]
        t = np.clip(((lab - start) @ step) / float(step @ step), 0.0, 1.0)
        seam = np.sqrt(((lab - (start + t[..., None] * step)) ** 2).sum(-1))
        distance = np.minimum(distance, seam)
    return distance


def _describe_blob(
    flat_indices: np.ndarray, lab: np.ndarray, labels: np.ndarray, background: np.ndarray
) -> DetectedObject | None:
    """Name one foreground blob's shape, colour and place; None when it fits no shape well.

    The blob's edge is re-drawn at the midpoint between its own colour and the background's,
    so blurred or JPEG-softened edges do not fatten the shape.
    """
    height, width = labels.shape
    rows, cols = np.divmod(flat_indices, width)
    r0, r1 = max(0, rows.min() - 1), min(height, rows.max() + 2)
    c0, c1 = max(0, cols.min() - 1), min(width, cols.max() + 2)
    blob = np.zeros((r1 - r0, c1 - c0), dtype=bool)
    blob[rows - r0, cols - c0] = True
    inner = _erode(blob)
    core = inner if inner.sum() >= 4 else blob
    patch = lab[r0:r1, c0:c1]
    colour_lab = np.median(patch[core], axis=0)
    to_object = ((patch - colour_lab) ** 2).sum(-1)
    to_background = _background_distance(patch, background) ** 2
    refined = blob & (to_object < to_background)
    if refined.sum() < 0.5 * blob.sum():
        refined = blob
    ys, xs = np.nonzero(refined)
    if min(np.ptp(ys) + 1, np.ptp(xs) + 1) < 4:
        return None
    crop = refined[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    shape, iou, runner_up = classify_mask(crop)
    if iou < MIN_IOU[shape] or iou - runner_up < MIN_MARGIN:
        return None
    counts = np.bincount(labels[r0:r1, c0:c1][core].astype(np.int64), minlength=len(COLOUR_NAMES))
    if counts.max() < 0.6 * core.sum():
        return None
    colour = COLOUR_NAMES[int(counts.argmax())]
    cx = (c0 + xs.min() + c0 + xs.max() + 1) / 2 / width
    cy = (r0 + ys.min() + r0 + ys.max() + 1) / 2 / height
    area = float(refined.sum()) / (height * width)
    return DetectedObject(shape, colour, position_name(cx, cy), (cx, cy), area, iou)


def detect_objects(pixels: np.ndarray, labels: np.ndarray | None = None) -> list[DetectedObject]:
    """Flat shapes on a flat background, largest first; empty for natural photos."""
    if labels is None:
        labels = quantize(pixels)
    background = find_background(pixels, labels)
    if not background.flat:
        return []
    height, width = labels.shape
    lab = rgb_to_lab(pixels)
    mask = _background_distance(lab, background.lab) > FOREGROUND_DISTANCE
    if mask.mean() > 0.6:
        return []
    min_area = max(20, int(0.002 * height * width))
    objects = []
    for flat_indices in _components(mask):
        if flat_indices.size < min_area:
            continue
        found = _describe_blob(flat_indices, lab, labels, background.lab)
        if found is not None:
            objects.append(found)
    objects.sort(key=lambda o: -o.area)
    return objects
