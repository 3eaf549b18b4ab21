"""Scene-level facts of a photo-like image: kind, regions, outdoors, daylight/night, subject.

Each fact is kept only when its rule fires clearly; the rest goes to ``cannot_tell`` so the
answer can say what it does not know instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from enigma_vision.imagetype import classify_kind
from enigma_vision.regions import (
    PixelStats,
    Region,
    find_sky,
    find_text,
    find_vegetation,
    find_water,
)
from enigma_vision.subject import Subject, find_subject

DAY_SKY_LIGHTNESS = 60.0
"""A sky this light (mean Lab L) is daylight; darker skies are dusk or night (see below)."""
NIGHT_SKY_LIGHTNESS = 40.0
NIGHT_IMAGE_LIGHTNESS = 35.0
"""Night: the sky darker than this, the whole picture darker than that, and lights in it."""


@dataclass(frozen=True)
class Scene:
    """What the scene rules found, with the measurements behind every fact."""

    kind: str = ""
    regions: tuple[Region, ...] = ()
    outdoors: bool = False
    time: str = ""  # "day" | "night" | ""
    subject: Subject | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    cannot_tell: tuple[str, ...] = ()


def _lights(stats: PixelStats) -> float:
    """Share of very bright, small spots (lamps, lit windows) in the picture."""
    return float((stats.lightness > 90).mean())


def analyse_scene(pixels: np.ndarray, black_and_white: bool, shapes: bool) -> Scene:
    """Run the kind, region, time and subject rules on the analysis copy."""
    stats = PixelStats.of(pixels)
    kind = classify_kind(pixels, stats, shapes=shapes)
    evidence: dict[str, Any] = {"kind": {k: round(v, 3) for k, v in kind.measures.items()}}
    unknown = [] if kind.kind else ["what kind of picture it is"]
    regions: list[Region] = []
    outdoors, time = False, ""
    if kind.kind == "photo" and not black_and_white:
        sky = find_sky(stats)
        if sky is not None:
            mean_l = sky.evidence["lightness"]
            dark_image = float(stats.lightness.mean()) < NIGHT_IMAGE_LIGHTNESS
            if mean_l >= DAY_SKY_LIGHTNESS:
                time = "day"
            elif mean_l < NIGHT_SKY_LIGHTNESS and dark_image and _lights(stats) > 0.002:
                time = "night"
            else:
                sky = None  # a blue backdrop or wall as often as a sky: say nothing
        vegetation = find_vegetation(stats)
        water = find_water(stats, sky)
        regions.extend(r for r in (sky, vegetation, water) if r is not None)
        outdoors = sky is not None
    if kind.kind in ("photo", ""):
        text = find_text(stats.lightness, stats.chroma)
        if text is not None:
            regions.append(text)
    if not outdoors:
        unknown.append("whether it is indoors or outdoors")
    if not time:
        unknown.append("the time of day")
    subject = find_subject(pixels) if not shapes else None
    if subject is None and not shapes:
        unknown.append("what the main subject is")
    elif subject is not None:
        unknown.append("what the main subject is")  # where it is, yes; what it is, no
    for region in regions:
        evidence[region.name] = region.to_dict()
    if subject is not None:
        evidence["subject"] = subject.to_dict()
    return Scene(kind.kind, tuple(regions), outdoors, time, subject, evidence, tuple(unknown))
