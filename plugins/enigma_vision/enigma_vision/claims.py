"""Every claim a caption makes, read back from its text and checked against the features.

:func:`read_claims` finds the claims (kind, tone, colours, halves, background, faces, regions,
outdoors, time of day, main subject, orientation); :func:`check_claims` says whether each one
holds, with the measurements and the tolerance behind the verdict, and which words of the
caption belong to no claim at all. Object mentions (``two red circles ...``) are checked by
the guard itself (:mod:`enigma_vision.guard`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from enigma_vision.captions import MENTION, mentions
from enigma_vision.features import KINDS, ImageFeatures, mostly_holds
from enigma_vision.palette import COLOUR_NAMES
from enigma_vision.template import PLACE_PHRASES
from enigma_vision.words import FUNCTION_WORDS, NUMBER_WORDS, parse_count, tokenize

_COLOUR = "|".join(COLOUR_NAMES)
_LIST = rf"(?:{_COLOUR})(?:\s*(?:,|and)\s*(?:{_COLOUR}))*"
_PLACE_WORDS = "|".join(sorted(PLACE_PHRASES, key=len, reverse=True))
_AT = rf"(?:at|on|in)\s+the\s+(?:{_PLACE_WORDS})\b(?!\s+half)"
_KIND = "|".join(KINDS)
_NOUN = rf"(?:image|picture|{_KIND})"
_COUNT = "|".join(["a", "an", "single", *NUMBER_WORDS[1:], r"\d+"])

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("kind", re.compile(rf"\b(?P<kind>{_KIND})s?\b", re.I)),
    ("orientation", re.compile(rf"\b(?P<value>landscape|portrait|square)(?=\s+{_NOUN}\b)", re.I)),
    ("black_and_white", re.compile(rf"\bblack\s+and\s+white(?=\s+(?:\w+\s+)?{_NOUN}\b)", re.I)),
    ("tone", re.compile(r"\b(?P<value>dark|bright)\b", re.I)),
    ("saturation", re.compile(r"\b(?P<value>muted|vivid)\s+colou?rs\b", re.I)),
    ("contrast", re.compile(r"\b(?P<value>low|high)\s+contrast\b", re.I)),
    ("mostly", re.compile(rf"\b(?:mostly|mainly)\s+(?P<list>{_LIST})", re.I)),
    ("half", re.compile(
        rf"\b(?P<colour>{_COLOUR})\s+in\s+the\s+(?P<half>upper|lower|left|right)\s+half\b", re.I)),
    ("background", re.compile(rf"\b(?P<list>{_LIST})\s+background\b", re.I)),
    ("faces", re.compile(
        rf"\b(?P<least>at\s+least\s+)?(?P<count>{_COUNT})\s+(?P<noun>faces?|people|persons?)\b"
        rf"(?P<places>(?:\s*,?\s*(?:and\s+)?{_AT})*)", re.I)),
    ("sky", re.compile(r"\bsky\b(?:\s+(?:at|in|on)\s+the\s+top\b)?", re.I)),
    ("vegetation", re.compile(r"\b(?:green\s+)?vegetation\b", re.I)),
    ("water", re.compile(r"\bwater\b", re.I)),
    ("text", re.compile(r"\btext-like\s+marks\b", re.I)),
    ("outdoors", re.compile(r"\b(?:taken\s+)?outdoors\b", re.I)),
    ("day", re.compile(r"\b(?:in\s+)?daylight\b", re.I)),
    ("night", re.compile(r"\b(?:at\s+)?night\b", re.I)),
    ("subject", re.compile(
        rf"\b(?P<size>small|medium-sized|large)\s+main\s+subject"
        rf"(?P<places>\s+{_AT})?", re.I)),
)  # fmt: skip
"""Each claim kind and the phrase that states it (the template's wording and close variants)."""

_PLACE_NAME = re.compile(rf"(?:at|on|in)\s+the\s+({_PLACE_WORDS})\b", re.I)
_PLACE_WORDS_SET = frozenset(w for p in PLACE_PHRASES for w in p.split()) | {"centre", "middle"}
GLUE = (FUNCTION_WORDS - _PLACE_WORDS_SET - {"mostly", "mainly", "partly", "largely"}) | {
    "taken", "showing", "with"}  # fmt: skip
"""Words that may stand outside every claim: they state nothing about the picture."""

RULES = {
    "mostly": "1 colour >= 50% of pixels; 2 colours each >= 15% and together >= 65%; 3 colours "
    "each >= 10% and together >= 75%; no colour left out covers more than one named",
    "tone": "dark: mean Lab lightness < 30; bright: > 70",
    "contrast": "low: lightness spread < 10 and 0.5-99.5 % range < 50; high: spread > 30",
    "kind": "photo: noise >= 0.3 in smooth areas, top exact colour < 30 %, not flat once blurred;"
    " drawing: >= 40 % flat pixels, noise < 0.2 (or shapes on a flat background)",
    "saturation": "muted: mean chroma < 12; vivid: > 45",
    "black_and_white": "under 1% of pixels have chroma > 15",
    "half": "the colour covers >= 50% of that half and differs from the other half's",
    "places": "3x3 grid cell of the centre, said only when >= 0.04 from a cell border",
}
"""The tolerance each claim kind is held to (shown with the evidence)."""


@dataclass(frozen=True)
class Claim:
    """One claim of a caption: its kind, key, words, whether it holds, and why."""

    kind: str
    key: str
    text: str
    holds: bool
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (listed in the answer's data)."""
        return {"claim": self.text, "key": self.key, "holds": self.holds,
                "evidence": self.evidence}  # fmt: skip


@dataclass(frozen=True)
class ClaimCheck:
    """All claims of a caption and the words that belong to none of them."""

    claims: tuple[Claim, ...]
    stray_words: tuple[str, ...]

    @property
    def false_claims(self) -> list[Claim]:
        """The claims that do not hold."""
        return [c for c in self.claims if not c.holds]


def _colours(text: str) -> tuple[str, ...]:
    """Colour words of a list such as ``blue, green and white``, in order."""
    return tuple(w for w in tokenize(text) if w in COLOUR_NAMES)


def _places(text: str | None) -> tuple[str, ...]:
    """Grid places named in ``text`` (``on the left and at the top``)."""
    return tuple(p.lower() for p in _PLACE_NAME.findall(text or ""))


def _measure(features: ImageFeatures, name: str) -> dict[str, Any]:
    """One measured value, rounded, for the evidence."""
    value = features.measures.get(name)
    return {} if value is None else {name: round(value, 2)}


def _judge(kind: str, match: re.Match[str], f: ImageFeatures) -> tuple[str, bool, dict[str, Any]]:
    """Key, verdict and evidence of one matched claim."""
    text_source = f.source == "text"
    said = set(tokenize(match.group(0))) - GLUE
    if f.tags and said and said <= {w for tag in f.tags for w in tokenize(tag)}:
        return f"tag:{' '.join(sorted(said))}", True, {"features": "the request's own words"}
    if kind == "kind":
        value = match["kind"].lower()
        return f"kind:{value}", f.kind == value, {"kind": f.kind or "can't tell",
                                                  **f.evidence.get("kind", {}),
                                                  "rule": RULES["kind"]}  # fmt: skip
    if kind == "orientation":
        value = match["value"].lower()
        return f"orientation:{value}", f.orientation == value, {
            "width": f.width, "height": f.height}  # fmt: skip
    if kind == "black_and_white":
        return "tone:black_and_white", f.black_and_white, {
            **_measure(f, "colourful"), "rule": RULES["black_and_white"]}  # fmt: skip
    if kind in ("tone", "saturation", "contrast"):
        value = match["value"].lower()
        actual = {"tone": f.brightness, "saturation": f.saturation, "contrast": f.contrast}[kind]
        measure = {"tone": "lightness", "saturation": "chroma", "contrast": "contrast"}[kind]
        return f"{kind}:{value}", actual == value, {**_measure(f, measure), "rule": RULES[kind]}
    if kind == "mostly":
        colours = _colours(match["list"])
        key = "mostly:" + "+".join(colours)
        if text_source or not f.shares:
            return key, bool(colours) and set(colours) <= set(f.colours), {"features": f.colours}
        shares = {c: round(f.shares.get(c, 0.0), 3) for c in colours}
        return key, mostly_holds(colours, f.shares), {"shares": shares, "rule": RULES["mostly"]}
    if kind == "half":
        item = f"{match['colour'].lower()} {match['half'].lower()} half"
        return f"half:{item}", item in f.layout, {"layout": list(f.layout), "rule": RULES["half"]}
    if kind == "background":
        colours = _colours(match["list"])
        return "background:" + "+".join(colours), set(colours) == set(f.background), {
            "background": list(f.background)}  # fmt: skip
    if kind == "faces":
        return _judge_faces(match, f)
    if kind in ("sky", "vegetation", "water", "text"):
        return f"region:{kind}", kind in f.regions, f.evidence.get(kind, {"found": False})
    if kind == "outdoors":
        return "scene:outdoors", f.outdoors, {"rule": "said only when a sky was found"}
    if kind in ("day", "night"):
        return f"time:{kind}", f.time == kind, f.evidence.get("sky", {"sky": "not found"})
    if kind == "subject":
        size = match["size"].lower().replace("medium-sized", "medium")
        places = _places(match["places"])
        ok = bool(f.subject) and f.subject[0] == size and all(p == f.subject[1] for p in places)
        key = f"subject:{size}" + (f":{places[0]}" if places else "")
        return key, ok, {**f.evidence.get("subject", {}), "rule": RULES["places"]}
    raise ValueError(kind)


def _judge_faces(match: re.Match[str], f: ImageFeatures) -> tuple[str, bool, dict[str, Any]]:
    """A face count (and places): exactly the located faces, each place where one is."""
    count = parse_count(match["count"]) or 0
    places = _places(match["places"])
    noun = match["noun"].lower()
    tags = {w for tag in f.tags for w in tokenize(tag)}
    least = bool(match["least"])
    key = f"faces:{count}{'+' if least else ''}" + "".join(f":{p}" for p in places)
    if noun in tags or noun.rstrip("s") in tags:
        return key, True, {"features": "the request's own words"}
    available = list(f.face_places)
    found = f.faces or 0
    ok = found >= count if least else count == found and not f.faces_at_least
    for place in places:
        if place in available:
            available.remove(place)
        else:
            ok = False
    evidence = {"faces": found, "count_is_lower_bound": f.faces_at_least,
                "places": list(f.face_places),
                "boxes": f.evidence.get("faces", []), "rule": RULES["places"]}  # fmt: skip
    return key, ok, evidence


def check_claims(caption: str, features: ImageFeatures) -> ClaimCheck:
    """Every claim ``caption`` makes with its verdict, and the words outside all claims."""
    spans: list[tuple[int, int]] = [m.span() for m in MENTION.finditer(caption)]
    found: list[tuple[int, Claim]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(caption):
            if any(a <= match.start() and match.end() <= b for a, b in spans):
                continue  # inside a longer claim already read (e.g. "a square" shape)
            key, holds, evidence = _judge(kind, match, features)
            found.append((match.start(), Claim(kind, key, match.group(0), holds, evidence)))
            spans.append(match.span())
    rest = list(caption)
    for start, end in spans:
        rest[start:end] = " " * (end - start)
    tag_words = {w for tag in features.tags for w in tokenize(tag)}
    stray = tuple(w for w in tokenize("".join(rest)) if w not in GLUE and w not in tag_words)
    return ClaimCheck(tuple(c for _, c in sorted(found, key=lambda x: x[0])), stray)


def object_claims(caption: str, features: ImageFeatures) -> list[Claim]:
    """The ``count colour shape places`` claims of a caption, checked against the objects."""
    groups = {(g.colour, g.shape): g for g in features.objects}
    out = []
    for claim in mentions(caption):
        group = groups.get((claim.colour, claim.shape))
        count = claim.count if claim.count is not None else "?"
        key = f"object:{count} {claim.colour} {claim.shape}"
        text = " ".join(str(x) for x in (count, claim.colour, claim.shape, *claim.positions))
        holds = group is not None and claim.count in (None, group.count)
        holds = holds and all(p in group.positions for p in claim.positions) if group else False
        evidence = {"found": group.to_text() if group else "no such object"}
        out.append(Claim("object", key, text, holds, evidence))
    return out


def all_claims(caption: str, features: ImageFeatures) -> list[Claim]:
    """Object claims and every other claim of ``caption``, for the answer's data."""
    return object_claims(caption, features) + list(check_claims(caption, features).claims)
