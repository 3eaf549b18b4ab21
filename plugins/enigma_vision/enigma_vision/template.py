"""Deterministic caption sentences built only from extracted features (needs no model).

This is both the fallback the guard uses and the grammar the caption model is trained on,
so :mod:`enigma_vision.captions` can parse either one back into objects and places.
"""

from __future__ import annotations

from enigma_vision.features import ImageFeatures, ObjectGroup
from enigma_vision.words import number_word, plural

PLACE_PHRASES = {
    "top left": "at the top left",
    "top": "at the top",
    "top right": "at the top right",
    "left": "on the left",
    "center": "in the center",
    "right": "on the right",
    "bottom left": "at the bottom left",
    "bottom": "at the bottom",
    "bottom right": "at the bottom right",
}


def join_and(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def article(word: str) -> str:
    """``a`` or ``an`` for the word that follows."""
    return "an" if word[:1] in "aeiou" else "a"


def group_phrase(group: ObjectGroup) -> str:
    """``two red circles at the top left and in the center`` / ``an orange oval on the left``."""
    if group.count == 1:
        head = f"{article(group.colour)} {group.colour} {group.shape}"
    else:
        head = f"{number_word(group.count)} {group.colour} {plural(group.shape, group.count)}"
    places = [PLACE_PHRASES[p] for p in group.positions if p in PLACE_PHRASES]
    return f"{head} {join_and(places)}" if places else head


def background_phrase(features: ImageFeatures) -> str:
    """``on a white background`` / ``on a blue and green background`` (or empty)."""
    if not features.background:
        return ""
    return f"on a {' and '.join(features.background)} background"


def layout_phrase(features: ImageFeatures) -> str:
    """``blue in the upper half and green in the lower half`` (or empty)."""
    parts = []
    for item in features.layout:
        colour, region = item.split(" ", 1)
        parts.append(f"{colour} in the {region}")
    return join_and(parts)


def _capital(text: str) -> str:
    """Sentence case."""
    return text[:1].upper() + text[1:]


def template_caption(features: ImageFeatures) -> str:
    """One or two plain sentences that say only what ``features`` contains."""
    if features.objects:
        sentence = join_and([group_phrase(g) for g in features.objects])
        background = background_phrase(features)
        if background:
            sentence += f", {background}" if len(features.objects) > 1 else f" {background}"
        layout = layout_phrase(features)
        if layout and len(features.background) > 1:
            sentence += f", {layout}"
        return _capital(sentence) + "."
    return _capital(_scene_sentence(features)) + "."


def faces_phrase(features: ImageFeatures) -> str:
    """``a face in the center`` / ``two faces, on the left and at the top right`` (or empty)."""
    if not features.faces:
        return ""
    count = features.faces
    head = "a face" if count == 1 else f"{number_word(count)} {plural('face', count)}"
    if features.faces_at_least:
        head = f"at least {number_word(count)} {plural('face', count)}"
    places = [PLACE_PHRASES[p] for p in features.face_places if p in PLACE_PHRASES]
    if not places:
        return head
    if count == 1:
        return f"{head} {places[0]}"
    return f"{head}, {join_and(places)}" if len(places) == count else head


REGION_PHRASES = {"sky": "sky at the top", "vegetation": "green vegetation", "water": "water",
                  "text": "text-like marks"}  # fmt: skip


def subject_phrase(features: ImageFeatures) -> str:
    """``a large main subject in the center`` (or empty)."""
    if not features.subject:
        return ""
    size, place = features.subject
    head = f"{article(size)} {size.replace('medium', 'medium-sized')} main subject"
    return f"{head} {PLACE_PHRASES[place]}" if place in PLACE_PHRASES else head


def _scene_sentence(features: ImageFeatures) -> str:
    """A sentence for images without shapes: kind, tone, faces, regions, subject, colours."""
    adjectives = [features.brightness] if features.brightness in ("dark", "bright") else []
    if features.black_and_white:
        adjectives.append("black and white")
    noun = features.kind or "image"
    noun = f"{features.orientation} {noun}" if features.orientation else noun
    words = " ".join([*adjectives, noun])
    sentence = f"{article(words)} {words}"
    if features.saturation in ("muted", "vivid") and not features.black_and_white:
        sentence += f" in {features.saturation} colours"
    if features.contrast in ("low", "high"):
        sentence += f" with {features.contrast} contrast"
    if features.outdoors:
        sentence += " taken outdoors"
    if features.time == "day":
        sentence += " in daylight"
    elif features.time == "night":
        sentence += " at night"
    details = []
    shown = ([faces_phrase(features)] if features.faces else []) + list(features.tags)
    if shown:
        details.append("showing " + join_and(shown))
    things = [REGION_PHRASES[r] for r in features.regions if r in REGION_PHRASES]
    subject = subject_phrase(features)
    if subject:
        things.append(subject)
    if things:
        details.append("with " + join_and(things))
    if features.colours:
        details.append("mostly " + join_and(list(features.colours)))
    layout = layout_phrase(features)
    if layout:
        details.append(f"with {layout}")
    elif features.background:
        details.append(background_phrase(features))
    if details and details[0].startswith("showing"):
        sentence, details = f"{sentence} {details[0]}", details[1:]
    return ", ".join([sentence, *details])
