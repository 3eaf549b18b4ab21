"""Small shared vocabularies: number words, plural forms and the words that never need evidence.

The guard and the caption parser both use these, so what a caption may say is defined once.
"""

from __future__ import annotations

import re

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve",
)  # fmt: skip

COUNT_WORDS = frozenset(
    {*NUMBER_WORDS, "single", "pair", "couple", "several", "many", "few", "multiple", "dozen",
     "both", "numerous", "lots", "some", "group", "crowd", "alone", "lone", "solo"}
)  # fmt: skip
"""Words that state a count: allowed in a caption only when the features support them."""

_FUNCTION_TEXT = """a an the and or of in on at with to from by for into onto over under
near next as
through beside behind above below around across along between inside outside during up
is are was were be been being has have there this that these those it its which while
than then also very quite mostly mainly partly largely fairly rather slightly
image picture shows showing shown show depicts depicting contains containing features
featuring seen visible appears appear against set placed sits sitting lies lying
one-colour colour colours color colors tone tones toned shade shades half halves part
upper lower left right top bottom middle center centre corner side area region
background foreground overall whole entire taken"""
FUNCTION_WORDS = frozenset(_FUNCTION_TEXT.split())
"""Words that name no thing, colour or count: always allowed in a caption."""


def number_word(n: int) -> str:
    """English word for a small count (falls back to digits above twelve)."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else str(n)


def parse_count(word: str) -> int | None:
    """The integer a count word or digit string means, or None."""
    word = word.lower()
    if word in ("a", "an", "single"):
        return 1
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.index(word) if word in NUMBER_WORDS else None


def singular(word: str) -> str:
    """Crude singular of an English noun (enough for our vocabulary)."""
    if word in ("people", "persons"):
        return "person"
    if word == "children":
        return "child"
    if word in ("men", "women"):
        return word[:-3] + "man"
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def plural(word: str, n: int) -> str:
    """``word`` pluralised when ``n`` != 1."""
    if n == 1:
        return word
    if word == "person":
        return "people"
    if word.endswith(("ch", "sh", "ss", "x")):
        return word + "es"
    return word + "s"


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, hyphen, apostrophe)."""
    return re.findall(r"[a-z0-9][a-z0-9'\-]*", text.lower())
