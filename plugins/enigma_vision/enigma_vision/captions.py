"""Reads captions back into claims: which objects (count, colour, shape) and where.

The guard uses it to check a model's caption against the features; the evaluation uses it
to score captions against procedural ground truth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from enigma_vision.palette import COLOUR_NAMES
from enigma_vision.shapes import SHAPES
from enigma_vision.template import PLACE_PHRASES
from enigma_vision.words import NUMBER_WORDS, parse_count, singular

_COUNT = "|".join(["a", "an", "single", *NUMBER_WORDS[1:], r"\d+"])
_COLOUR = "|".join(COLOUR_NAMES)
_SHAPE = "|".join(sorted({*SHAPES, *(s + "s" for s in SHAPES)}, key=len, reverse=True))
_PLACE_WORDS = "|".join(sorted(PLACE_PHRASES, key=len, reverse=True))
# "a square image" / "a black and white square photo" name no square shape
_NOT_FORMAT = r"(?!\s+(?:image|picture|format|photo|drawing|diagram|screenshot))"
_PLACE = rf"(?:at|on|in)\s+the\s+(?:{_PLACE_WORDS})\b(?!\s+half)"  # not "in the left half"
MENTION = re.compile(
    rf"\b(?:(?P<count>{_COUNT})\s+)?(?P<colour>{_COLOUR})\s+(?P<shape>{_SHAPE})\b{_NOT_FORMAT}"
    rf"(?P<places>(?:\s*(?:,|and)?\s*{_PLACE})*)",
    re.IGNORECASE,
)
_PLACE_NAME = re.compile(rf"(?:at|on|in)\s+the\s+({_PLACE_WORDS})\b(?!\s+half)", re.IGNORECASE)
BARE_SHAPE = re.compile(rf"\b(?:{_SHAPE})\b{_NOT_FORMAT}", re.IGNORECASE)


@dataclass(frozen=True)
class Mention:
    """One object claim in a caption: count (None when unstated), colour, shape, places."""

    count: int | None
    colour: str
    shape: str
    positions: tuple[str, ...]


def mentions(caption: str) -> list[Mention]:
    """Every ``[count] colour shape [places]`` claim in ``caption``, in order."""
    found = []
    for match in MENTION.finditer(caption):
        count = parse_count(match["count"]) if match["count"] else None
        places = tuple(p.lower() for p in _PLACE_NAME.findall(match["places"] or ""))
        shape = singular(match["shape"].lower())
        found.append(Mention(count, match["colour"].lower(), shape, places))
    return found


def place_phrases(caption: str) -> int:
    """How many place phrases (``at the top left``...) appear anywhere in ``caption``."""
    return len(_PLACE_NAME.findall(caption))


def shape_words(caption: str) -> int:
    """How many shape words appear in ``caption`` (mentions must account for all of them)."""
    return len(BARE_SHAPE.findall(caption))


_LIST = rf"(?:{_COLOUR})(?:\s*(?:,|and)\s*(?:{_COLOUR}))*"
_MOSTLY = re.compile(rf"\bmostly\s+({_LIST})", re.IGNORECASE)
_HALF = re.compile(rf"\b({_COLOUR})\s+in\s+the\s+(upper|lower|left|right)\s+half\b", re.IGNORECASE)
_BACKGROUND = re.compile(rf"\b({_LIST})\s+background\b", re.IGNORECASE)
_BLACK_AND_WHITE = re.compile(
    r"\bblack\s+and\s+white\s+(?=(?:\w+\s+)?(?:image|picture|photo|drawing|diagram|screenshot)\b)",
    re.I,
)
_VEGETATION = re.compile(r"\bgreen\s+vegetation\b", re.IGNORECASE)
_FACES = re.compile(rf"\b({_COUNT})\s+(faces?|people|persons?)\b", re.IGNORECASE)
_DOUBLED = re.compile(r"\b(\w+)\s*(?:,|and)\s*\1\b", re.IGNORECASE)
_COLOUR_WORD = re.compile(rf"\b(?:{_COLOUR})\b", re.IGNORECASE)


@dataclass(frozen=True)
class SceneClaims:
    """What a caption says about colours and faces outside of object mentions."""

    mostly: tuple[str, ...]
    halves: tuple[str, ...]  # e.g. "blue upper half", as the features print them
    background: tuple[str, ...]
    faces: tuple[tuple[int, str], ...]  # (count, noun): "two faces", "one person"
    loose_colours: tuple[str, ...]  # colour words that belong to no recognised claim
    doubled: bool  # "white and white": a word coordinated with itself


def _colours_in(text: str) -> tuple[str, ...]:
    """The colour words of a list like ``blue, green and white``."""
    return tuple(c.lower() for c in _COLOUR_WORD.findall(text))


def scene_claims(caption: str) -> SceneClaims:
    """Colour, layout, background and face claims of ``caption`` (see :class:`SceneClaims`)."""
    covered = [m.span() for m in MENTION.finditer(caption)]
    mostly: list[str] = []
    for match in _MOSTLY.finditer(caption):
        mostly.extend(_colours_in(match.group(1)))
        covered.append(match.span())
    halves = []
    for match in _HALF.finditer(caption):
        halves.append(f"{match.group(1).lower()} {match.group(2).lower()} half")
        covered.append(match.span())
    background: list[str] = []
    for match in _BACKGROUND.finditer(caption):
        background.extend(_colours_in(match.group(1)))
        covered.append(match.span())
    for match in _BLACK_AND_WHITE.finditer(caption):
        covered.append(match.span())
    for match in _VEGETATION.finditer(caption):
        covered.append(match.span())
    faces = tuple(
        (parse_count(m.group(1)) or 0, m.group(2).lower()) for m in _FACES.finditer(caption)
    )
    loose = tuple(
        m.group(0).lower()
        for m in _COLOUR_WORD.finditer(caption)
        if not any(a <= m.start() and m.end() <= b for a, b in covered)
    )
    return SceneClaims(
        tuple(mostly),
        tuple(halves),
        tuple(background),
        faces,
        loose,
        bool(_DOUBLED.search(caption)),
    )
