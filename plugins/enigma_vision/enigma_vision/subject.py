"""The main subject: one compact area that stands out from the picture's border colours.

Found only when the answer is clear (one component, well separated, not touching the frame on
more than one side); otherwise nothing is said about a subject.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from enigma_vision.palette import rgb_to_lab
from enigma_vision.regions import box_mean, components

MIN_SEPARATION = 2.2
"""Mean colour distance inside the subject over that of the rest it needs (else: no claim)."""
MIN_DISTANCE = 18.0
"""Smallest Lab distance from every border colour that makes a pixel stand out."""
SHARE = (0.02, 0.55)
"""The subject's share of the picture must fall in this range."""
MIN_FILL = 0.35
"""Share of its own bounding box the subject must fill (compact, not a sprawl)."""


@dataclass(frozen=True)
class Subject:
    """Where the main subject is, how big, and why we believe it."""

    horizontal: str  # left | center | right
    vertical: str  # top | middle | bottom
    size: str  # small | medium | large
    share: float
    center: tuple[float, float]
    box: tuple[float, float, float, float]
    evidence: dict[str, float]

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "horizontal": self.horizontal,
            "vertical": self.vertical,
            "size": self.size,
            "share": round(self.share, 3),
            "center": [round(v, 3) for v in self.center],
            "box": [round(v, 3) for v in self.box],
            "evidence": {k: round(v, 3) for k, v in self.evidence.items()},
        }


def third(value: float, names: tuple[str, str, str]) -> str:
    """Name of the third (0-1) a coordinate falls in."""
    return names[min(2, max(0, int(value * 3)))]


def size_name(box_area: float) -> str:
    """small / medium / large from the share of the picture the subject's box covers."""
    return "small" if box_area < 0.1 else "medium" if box_area < 0.35 else "large"


def _border_means(lab: np.ndarray, width: int = 3) -> np.ndarray:
    """Mean Lab colour of each half of each side of the frame (8 colours)."""
    h, w, _ = lab.shape
    strips = [
        lab[:width, : w // 2], lab[:width, w // 2 :], lab[-width:, : w // 2],
        lab[-width:, w // 2 :], lab[: h // 2, :width], lab[h // 2 :, :width],
        lab[: h // 2, -width:], lab[h // 2 :, -width:],
    ]  # fmt: skip
    return np.stack([s.reshape(-1, 3).mean(axis=0) for s in strips])


def find_subject(pixels: np.ndarray) -> Subject | None:
    """The single compact area that differs from every border colour, or None when unclear."""
    lab = rgb_to_lab(pixels)
    h, w, _ = lab.shape
    smooth = np.stack([box_mean(lab[..., c], 1) for c in range(3)], axis=-1)
    means = _border_means(smooth)
    distance = np.sqrt(((smooth[:, :, None, :] - means) ** 2).sum(-1)).min(axis=-1)
    mask = distance > MIN_DISTANCE
    if not mask.any():
        return None
    labels, count = components(mask)
    sizes = np.bincount(labels.ravel())[1:]
    best = int(sizes.argmax()) + 1
    part = labels == best
    share = float(part.mean())
    if not SHARE[0] <= share <= SHARE[1]:
        return None
    second = float(np.sort(sizes)[-2]) / part.sum() if count > 1 else 0.0
    sides = [part[0].mean(), part[-1].mean(), part[:, 0].mean(), part[:, -1].mean()]
    touching = sum(s > 0.05 for s in sides)
    inside, outside = float(distance[part].mean()), float(distance[~part].mean())
    separation = inside / max(outside, 1.0)
    if touching > 1 or separation < MIN_SEPARATION or second > 0.3:
        return None
    ys, xs = np.nonzero(part)
    cx, cy = float(xs.mean()) / w, float(ys.mean()) / h
    box = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)
    box_area = float((box[2] - box[0]) * (box[3] - box[1]))
    fill = share / max(box_area, 1e-6)
    if fill < MIN_FILL:
        return None  # a sprawling patchwork, not one subject
    evidence = {"separation": separation, "runner_up": second, "sides_touched": touching,
                "box_area": box_area, "fill": fill}  # fmt: skip
    return Subject(
        third(cx, ("left", "center", "right")), third(cy, ("top", "middle", "bottom")),
        size_name(box_area), share, (cx, cy), box, evidence,
    )  # fmt: skip
