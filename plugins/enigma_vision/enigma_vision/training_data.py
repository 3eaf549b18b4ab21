"""Q/A training pairs for the caption model, made from what the extractor really produces.

Each pair is ``[E:vision] <features text>`` → a faithful caption of those features (the
template sentence or a paraphrase with the same claims). Procedural images supply objects;
shape-free scenes supply tone, colour and layout features.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from enigma_core.atomic import atomic_write_text
from enigma_vision.features import ImageFeatures, extract_features
from enigma_vision.loader import load_image
from enigma_vision.model import prompt_text
from enigma_vision.synth import encode, generate, generate_scene
from enigma_vision.template import background_phrase, group_phrase, join_and, template_caption


def _capital(text: str) -> str:
    """Sentence case."""
    return text[:1].upper() + text[1:]


def caption_variants(features: ImageFeatures) -> list[str]:
    """Faithful captions of ``features``: the template first, then paraphrases."""
    template = template_caption(features)
    if not features.objects:
        return [template]
    groups = join_and([group_phrase(g) for g in features.objects])
    background = background_phrase(features)
    many = len(features.objects) > 1 or features.objects[0].count > 1
    variants = [template, f"This image shows {groups}."]
    if background:
        variants += [
            f"There {'are' if many else 'is'} {groups}, {background}.",
            f"{_capital(groups)}, set against a {background[len('on a ') :]}.",
            f"This image shows {groups}, {background}.",
        ]
    return variants


def _features_of_image(image: object) -> ImageFeatures:
    """Run the real loader and extractor on an in-memory PIL image (PNG round trip)."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # type: ignore[attr-defined]
    path = _scratch_file()
    Path(path).write_bytes(buffer.getvalue())
    return extract_features(load_image(path), faces=False)


def _scratch_file() -> str:
    """A per-process scratch file for round-tripping generated images through the loader."""
    return os.path.join(os.environ.get("TMPDIR", "/tmp"), f"enigma_vision_{os.getpid()}.png")


def random_scene_features(rng: np.random.Generator) -> ImageFeatures:
    """Photo-like features in the extractor's own vocabulary (kind, faces, regions, time,
    subject, colours, tone): pairs the procedural images can never produce."""
    from enigma_vision.features import KINDS, MOSTLY_RULES, SIZES
    from enigma_vision.palette import COLOUR_NAMES, NEUTRALS
    from enigma_vision.segment import POSITIONS

    def pick(options: tuple[str, ...] | list[str]) -> str:
        return str(options[int(rng.integers(len(options)))])

    black_and_white = rng.random() < 0.25
    kind = pick(KINDS) if rng.random() < 0.3 else ("photo" if rng.random() < 0.8 else "")
    palette = sorted(NEUTRALS) if black_and_white else list(COLOUR_NAMES)
    count = MOSTLY_RULES[int(rng.integers(len(MOSTLY_RULES)))][0] if rng.random() < 0.8 else 0
    colours = tuple(str(c) for c in rng.permutation(palette)[:count])
    faces = int(rng.choice([0, 0, 1, 1, 2, 3])) if kind == "photo" else 0
    places = tuple(pick(POSITIONS) if rng.random() < 0.7 else "" for _ in range(faces))
    regions: list[str] = []
    time = ""
    outdoors = False
    if kind == "photo" and not black_and_white and rng.random() < 0.4:
        regions.append("sky")
        outdoors = True
        time = "day" if rng.random() < 0.8 else "night"
        if rng.random() < 0.3:
            regions.append("water")
    if kind == "photo" and not black_and_white and rng.random() < 0.3:
        regions.append("vegetation")
    if kind in ("photo", "") and rng.random() < 0.1:
        regions.append("text")
    subject: tuple[str, ...] = ()
    if rng.random() < 0.35:
        subject = (pick(SIZES), pick(POSITIONS) if rng.random() < 0.7 else "")
    layout: tuple[str, ...] = ()
    if colours and rng.random() < 0.3:
        layout = (f"{colours[0]} {pick(('upper half', 'lower half', 'left half'))}",)
    return ImageFeatures(
        source="image", orientation=pick(("landscape", "portrait", "square")),
        brightness=pick(("dark", "medium", "medium", "bright")),
        contrast=pick(("low", "normal", "normal", "high")),
        saturation="" if black_and_white else pick(("muted", "normal", "normal", "vivid")),
        black_and_white=black_and_white, colours=colours, layout=layout, kind=kind,
        regions=tuple(regions), outdoors=outdoors, time=time, subject=subject,
        faces=faces or None, people=faces or None, face_places=places,
    )  # fmt: skip


def scene_feature_pairs(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """``count`` (prompt, caption) pairs from :func:`random_scene_features` (template caption)."""
    rng = np.random.default_rng([seed, 5151])
    pairs = []
    for _ in range(count):
        features = random_scene_features(rng)
        pairs.append((prompt_text(features.to_text()), template_caption(features)))
    return pairs


def synthetic_pairs(count: int, seed: int = 0, start: int = 0) -> list[tuple[str, str]]:
    """``count`` (prompt, caption) pairs: about 3 procedural images to 1 scene."""
    rng = np.random.default_rng([seed, 4242])
    pairs = []
    scratch = _scratch_file()
    try:
        for index in range(start, start + count):
            if index % 4 == 3:
                features = _features_of_image(generate_scene(index, seed))
            else:
                synth = generate(index, seed)
                Path(scratch).write_bytes(encode(synth))
                features = extract_features(load_image(scratch), faces=False)
            if not features.items():
                continue
            variants = caption_variants(features)
            pick = 0 if rng.random() < 0.5 else int(rng.integers(len(variants)))
            pairs.append((prompt_text(features.to_text()), variants[pick]))
    finally:
        if os.path.exists(scratch):
            os.unlink(scratch)
    return pairs


def format_pairs(pairs: list[tuple[str, str]]) -> str:
    """The seed's text format: ``Q: [E:vision] ...`` / ``A: ...`` blocks, blank-line separated."""
    return "".join(f"Q: {q}\nA: {a}\n\n" for q, a in pairs)


def write_pairs(path: str | Path, count: int, seed: int = 0, start: int = 0) -> int:
    """Write :func:`synthetic_pairs` to ``path`` atomically; returns how many were written."""
    pairs = synthetic_pairs(count, seed, start)
    atomic_write_text(path, format_pairs(pairs))
    return len(pairs)
