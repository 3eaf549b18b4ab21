"""The public entry points: ``describe_image(x)`` (the seed's API) and request handling.

``x`` is an image path or a features string; the answer is a guarded caption that names only
what the extractor found (or what the features string says). A request may instead carry
decoded images (a server's uploads), and says which files it may open (``FileAccess``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enigma_core.context import FileAccess
from enigma_core.errors import EnigmaError
from enigma_vision.access import exists, shown
from enigma_vision.claims import all_claims
from enigma_vision.features import ImageFeatures, extract_features, parse_features
from enigma_vision.guard import guard
from enigma_vision.loader import LoadedImage, load_image, loaded_from_image
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
            "claims": [c.to_dict() for c in all_claims(self.caption, self.features)],
            "cannot_tell": list(self.features.cannot_tell),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


def default_captioner() -> Captioner:
    """The shipped caption model (template only when absent), loaded once per process."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = load_captioner(None)
        return _DEFAULT


def _is_path_like(x: str | os.PathLike[str], files: FileAccess) -> bool:
    """True when ``x`` should be read as a file rather than a features string."""
    if isinstance(x, os.PathLike):
        return True
    text = x.strip()
    if "," in text and not exists(text, files):
        return False
    lower = text.lower()
    return lower.rsplit(".", 1)[-1] in IMAGE_EXTENSIONS or "/" in text or exists(text, files)


def _no_files(name: str) -> EnigmaError:
    """The refusal when the request's context opens no files (a server answering others)."""
    return EnigmaError(
        f"{shown(name)}: file paths in requests are not opened here; attach the image instead"
    )


def _gray_side(faces: bool) -> int:
    """Side of the grayscale copy the face detector needs (0: faces off or unavailable)."""
    from enigma_vision.faces import FACE_SIDE, faces_available

    return FACE_SIDE if faces and faces_available() else 0


def features_of(
    x: str | os.PathLike[str], faces: bool = True, files: FileAccess | None = None
) -> tuple[ImageFeatures, str | None]:
    """Features of an image path or a features string, plus the path (None for text).

    ``files`` (default: the local user's) decides which paths may be opened.
    """
    files = files or FileAccess.user()
    if _is_path_like(x, files):
        name = os.fspath(x)
        if not files.allowed:
            raise _no_files(name)
        gray_side = _gray_side(faces)
        image = load_image(name, gray_side=gray_side, files=files)
        return extract_features(image, faces=gray_side > 0), name
    text = str(x).strip()
    if text.startswith("[E:vision]"):
        text = text[len("[E:vision]") :].strip()
    if not text:
        raise EnigmaError("nothing to describe: give an image path or a features string")
    return parse_features(text), None


def _caption(
    features: ImageFeatures, path: str | None, captioner: Captioner, start: float
) -> Description:
    """Caption ``features`` (model constrained to their words), guard it, time it."""
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


def describe(
    x: str | os.PathLike[str],
    captioner: Captioner | None = None,
    faces: bool = True,
    files: FileAccess | None = None,
) -> Description:
    """Describe an image path or features string: extract, caption, guard."""
    captioner = captioner if captioner is not None else default_captioner()
    start = time.perf_counter()
    features, path = features_of(x, faces=faces, files=files)
    return _caption(features, path, captioner, start)


def describe_attached(
    image: Any, captioner: Captioner | None = None, faces: bool = True, name: str = "image"
) -> Description:
    """Describe an already decoded image (``PIL.Image``, e.g. from ``decode_image_bytes``)."""
    captioner = captioner if captioner is not None else default_captioner()
    start = time.perf_counter()
    gray_side = _gray_side(faces)
    loaded: LoadedImage = loaded_from_image(image, gray_side=gray_side, name=name)
    return _caption(extract_features(loaded, faces=gray_side > 0), None, captioner, start)


def describe_image(x: str | os.PathLike[str]) -> str:
    """The seed's API: a faithful one-sentence description of an image file or features string."""
    return describe(x).caption


def describe_request(
    request: str,
    captioner: Captioner | None = None,
    faces: bool = True,
    files: FileAccess | None = None,
) -> Description:
    """Find the image path (or features string) in a free-text request and describe it.

    ``files`` (default: the local user's) decides which named files may be opened; with
    ``FileAccess.none()`` a path is never looked up and naming one is a one-line error.
    """
    files = files or FileAccess.user()
    path = find_image_path(request, files)
    if path is not None:
        if not files.allowed:
            raise _no_files(path)
        return describe(Path(path), captioner, faces, files)
    features = find_features(request)
    if features is not None:
        return describe(features, captioner, faces, files)
    attach = " or attach an image" if not files.allowed else ""
    raise EnigmaError(
        "no image found in the request: name a file (e.g. 'describe photo.jpg', quote paths "
        f"with spaces){attach} or give features (e.g. '[E:vision] person, smiling, beach')"
    )


def answer_request(
    request: str,
    captioner: Captioner | None = None,
    faces: bool = True,
    files: FileAccess | None = None,
    images: Sequence[Any] = (),
) -> tuple[str, dict[str, Any]]:
    """The task's answer and data: the attached ``images`` when there are any (one caption per
    image), else what the request text names (see :func:`describe_request`)."""
    if not images:
        found = describe_request(request, captioner, faces, files)
        return found.caption, found.to_dict()
    described = [
        describe_attached(image, captioner, faces, f"image {i}")
        for i, image in enumerate(images, 1)
    ]
    if len(described) == 1:
        return described[0].caption, described[0].to_dict()
    output = "\n".join(f"Image {i}: {d.caption}" for i, d in enumerate(described, 1))
    return output, {"images": [d.to_dict() for d in described]}
