"""The faithfulness guard: a caption may only name things, colours and counts the features hold.

:func:`problems` lists every unsupported claim; :func:`guard` returns the caption when there is
none and the deterministic template sentence otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from enigma_vision.captions import mentions, place_phrases, scene_claims, shape_words
from enigma_vision.claims import check_claims
from enigma_vision.features import ImageFeatures
from enigma_vision.template import template_caption
from enigma_vision.words import FUNCTION_WORDS, tokenize

_DANGLING_TEXT = """a an the and or of in on at with to from by for as is are shows showing show
depicts contains containing featuring mostly its this that"""
DANGLING = frozenset(_DANGLING_TEXT.split())
"""Words a finished caption never ends on ("A black and white square image shows.")."""


@dataclass(frozen=True)
class GuardedCaption:
    """The caption shown to the user, where it came from, and what was wrong with the model's."""

    text: str
    source: str  # "model" or "template"
    problems: tuple[str, ...] = ()


def problems(caption: str, features: ImageFeatures) -> list[str]:
    """What in ``caption`` the features do not support (empty list: the caption is faithful)."""
    found: list[str] = []
    words = tokenize(caption)
    vocabulary = features.vocabulary()
    if not any(w in vocabulary for w in words):
        return ["no word of the caption comes from the features"]
    if not caption.rstrip().endswith((".", "!")) or words[-1] in DANGLING:
        found.append("caption is not a finished sentence")
    if _repeats(words):
        found.append("caption repeats itself")
    allowed = vocabulary | FUNCTION_WORDS
    for word in words:
        if word not in allowed:
            found.append(f"unsupported word {word!r}")
    groups = {(g.colour, g.shape): g for g in features.objects}
    claims = mentions(caption)
    for claim in claims:
        group = groups.get((claim.colour, claim.shape))
        if group is None:
            found.append(f"no {claim.colour} {claim.shape} in the features")
            continue
        if claim.count is not None and claim.count != group.count:
            found.append(
                f"{claim.count} {claim.colour} {claim.shape} but the features say {group.count}"
            )
        if len(set(claim.positions)) < len(claim.positions):
            found.append(f"{claim.colour} {claim.shape}: a place is repeated")
        if claim.positions and len(claim.positions) != (claim.count or group.count):
            found.append(f"{claim.colour} {claim.shape}: places do not match the count")
        extra = [p for p in claim.positions if p not in group.positions]
        if extra:
            found.append(f"{claim.colour} {claim.shape} not at {', '.join(extra)}")
    if shape_words(caption) > len(claims):
        found.append("a shape is named without its colour")
    scene_places = sum(place_phrases(c.text) for c in check_claims(caption, features).claims)
    if place_phrases(caption) > sum(len(c.positions) for c in claims) + scene_places:
        found.append("a place is named without its object")
    found.extend(_scene_problems(caption, features))
    said = {(c.colour, c.shape) for c in claims}
    if len(said) < len(claims):
        found.append("an object is mentioned twice")
    missing = [g.to_text() for g in features.objects if (g.colour, g.shape) not in said]
    if missing:
        found.append(f"caption leaves out {', '.join(missing)}")
    return found


def _scene_problems(caption: str, features: ImageFeatures) -> list[str]:
    """Every non-object claim must hold (with its tolerance), no word may stand outside a
    claim, and detected faces must be mentioned."""
    claims = scene_claims(caption)
    found = []
    if claims.doubled:
        found.append("a word is coordinated with itself")
    tag_words = {w for tag in features.tags for w in tokenize(tag)}
    if set(claims.loose_colours) - tag_words:
        found.append("a colour is named without what it colours")
    check = check_claims(caption, features)
    for claim in check.false_claims:
        found.append(f"'{claim.text}' does not hold ({claim.key})")
    if check.stray_words:
        found.append(f"words outside any checked claim: {', '.join(check.stray_words)}")
    if features.faces and not any(c.kind == "faces" for c in check.claims):
        found.append(f"caption leaves out the {features.faces} detected face(s)")
    return found


def _repeats(words: list[str], n: int = 8) -> bool:
    """True when some run of ``n`` words occurs twice (a degenerate, looping caption)."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    return len(grams) != len(set(grams))


def guard(candidate: str | None, features: ImageFeatures) -> GuardedCaption:
    """The model's caption if faithful, else the template caption built from the features."""
    if candidate is not None:
        text = " ".join(candidate.split())
        issues = problems(text, features)
        if not issues:
            return GuardedCaption(text, "model")
        return GuardedCaption(template_caption(features), "template", tuple(issues))
    return GuardedCaption(template_caption(features), "template")
