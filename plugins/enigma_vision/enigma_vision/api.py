"""The public entry points: ``describe_image(x)`` (the seed's API) and request handling.

``x`` is an image path or a features string; the answer is a guarded caption that names only
what the extractor found (or what the features string says).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError
from enigma_vision.features import ImageFeatures, extract_features, parse_features
from enigma_vision.guard import guard
from enigma_vision.loader import load_image
from enigma_vision.model import Captioner, load_captioner
from enigma_vision.paths import IMAGE_EXTENSIONS, find_features, find_image_path
from enigma_vision.words import FUNCTION_WORDS

_DEFAULT: Captioner | None = None
_DEFAULT_LOCK = threading.Lock()


@dataclass
class Description:
    """A caption with its provenance: features, model or template, rejected claims, timings."""

    caption: str
    source: str  # "model" | "template"
    features: ImageFeatures
    path: str | None = None
    problems: tuple[str, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the ``data`` of the task result)."""
        return {
            "caption": self.caption,
            "caption_source": self.source,
            "path": self.path,
            "features": self.features.to_dict(),
            "rejected": list(self.problems),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def default_captioner() -> Captioner:
    """The shipped caption model (template only when absent), loaded once per process."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = load_captioner(None)
        return _DEFAULT


def _is_path_like(x: str | os.PathLike[str]) -> bool:
    """True when ``x`` should be read as a file rather than a features string."""
    if isinstance(x, os.PathLike):
        return True
    text = x.strip()
    if "," in text and not Path(os.path.expanduser(text)).exists():
        return False
    lower = text.lower()
    return (
        lower.rsplit(".", 1)[-1] in IMAGE_EXTENSIONS
        or "/" in text
        or Path(os.path.expanduser(text)).is_file()
    )


def features_of(x: str | os.PathLike[str], faces: bool = True) -> tuple[ImageFeatures, str | None]:
    """Features of an image path or a features string, plus the path (None for text)."""
    if _is_path_like(x):
        from enigma_vision.faces import FACE_SIDE, faces_available

        use_faces = faces and faces_available()
        image = load_image(os.fspath(x), gray_side=FACE_SIDE if use_faces else 0)
        return extract_features(image, faces=use_faces), os.fspath(x)
    text = str(x).strip()
    if text.startswith("[E:vision]"):
        text = text[len("[E:vision]") :].strip()
    if not text:
        raise EnigmaError("nothing to describe: give an image path or a features string")
    return parse_features(text), None


def describe(
    x: str | os.PathLike[str], captioner: Captioner | None = None, faces: bool = True
) -> Description:
    """Describe an image path or features string: extract, caption, guard."""
    captioner = captioner if captioner is not None else default_captioner()
    start = time.perf_counter()
    features, path = features_of(x, faces=faces)
    extracted = time.perf_counter()
    allowed = features.vocabulary() | FUNCTION_WORDS
    candidate = captioner.generate(features.to_text(), allowed) if features.items() else None
    captioned = time.perf_counter()
    result = guard(candidate, features)
    return Description(
        result.text, result.source, features, path, result.problems,
        {"features": (extracted - start) * 1000, "caption": (captioned - extracted) * 1000,
         "total": (time.perf_counter() - start) * 1000},
    )  # fmt: skip


def describe_image(x: str | os.PathLike[str]) -> str:
    """The seed's API: a faithful one-sentence description of an image file or features string."""
    return describe(x).caption


def describe_request(
    request: str, captioner: Captioner | None = None, faces: bool = True
) -> Description:
    """Find the image path (or features string) in a free-text request and describe it."""
    path = find_image_path(request)
    if path is not None:
        return describe(Path(path), captioner, faces)
    features = find_features(request)
    if features is not None:
        return describe(features, captioner, faces)
    raise EnigmaError(
        "no image found in the request: name a file (e.g. 'describe photo.jpg', quote paths "
        "with spaces) or give features (e.g. '[E:vision] person, smiling, beach')"
    )
