"""Optional faces, smiles and people from OpenCV's bundled Haar cascades (extra ``faces``).

Absent OpenCV, :func:`faces_available` is False and nothing here is ever imported or run.
Detection is tuned to be strict: a missed face costs less than an invented one.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

NEIGHBOURS = 6
"""Raw detections a face needs to be claimed."""
LOOSE_NEIGHBOURS = 3
"""...and to count towards "at least": more loose faces than strict ones make the count a
lower bound."""
FACE_SIDE = 320
"""Longest side (pixels) of the grayscale copy the cascades run on."""


@dataclass(frozen=True)
class FaceReport:
    """How many faces, smiling faces and people the cascades found, and where the faces are.

    ``boxes`` are (x, y, width, height) as fractions of the image, largest first. Smiles are
    measured but never claimed for photos: the smile cascade fires as strongly on a closed
    mouth as on a grin (see the plugin README).
    """

    faces: int
    smiles: int
    people: int
    boxes: tuple[tuple[float, float, float, float], ...] = ()
    loose_boxes: tuple[tuple[float, float, float, float], ...] = ()
    """Faces a looser pass (fewer agreeing detections) finds: more than ``boxes`` means the
    count is only a lower bound."""


def faces_available() -> bool:
    """True when opencv-python-headless (``enigma-vision[faces]``) is importable."""
    return importlib.util.find_spec("cv2") is not None


@lru_cache(maxsize=1)
def _cascades() -> tuple[Any, Any] | None:
    """The face and smile cascades, loaded once; None when OpenCV or its files are missing."""
    try:
        import cv2
    except ImportError:
        return None
    folder = getattr(getattr(cv2, "data", None), "haarcascades", "")
    face = cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")
    smile = cv2.CascadeClassifier(folder + "haarcascade_smile.xml")
    if face.empty() or smile.empty():
        return None
    cv2.setNumThreads(1)
    return face, smile


def detect_faces(gray: np.ndarray) -> FaceReport | None:
    """Count faces and smiles in a grayscale uint8 image; None when OpenCV is unavailable."""
    cascades = _cascades()
    if cascades is None:
        return None
    import cv2

    face_cascade, smile_cascade = cascades
    equalized = cv2.equalizeHist(gray)
    side = min(gray.shape)
    minimum = max(24, int(side * 0.12))
    found, neighbours = face_cascade.detectMultiScale2(
        equalized, scaleFactor=1.2, minNeighbors=LOOSE_NEIGHBOURS, minSize=(minimum, minimum)
    )
    loose_list = [tuple(int(v) for v in box) for box in (found if len(found) else [])]
    strict = [b for b, n in zip(loose_list, list(neighbours), strict=True) if n >= NEIGHBOURS]
    faces = sorted(strict, key=lambda b: -b[2] * b[3])
    loose_list.sort(key=lambda b: -b[2] * b[3])
    smiles = 0
    for x, y, w, h in faces:
        lower = equalized[y + h // 2 : y + h, x : x + w]
        grin = smile_cascade.detectMultiScale(
            lower, scaleFactor=1.15, minNeighbors=22, minSize=(max(8, w // 4), max(5, h // 8))
        )
        smiles += int(len(grin) > 0)
    height, width = gray.shape

    def fractions(found: Any) -> tuple[tuple[float, float, float, float], ...]:
        return tuple((x / width, y / height, w / width, h / height) for x, y, w, h in found)

    return FaceReport(len(faces), smiles, len(faces), fractions(faces), fractions(loose_list))
