"""What the plugin can honestly see in an image: measured features and their text form.

:func:`extract_features` measures a decoded image; :func:`parse_features` reads the seed's
features strings (``person, smiling, beach, sunset``). Both give an :class:`ImageFeatures`,
whose :meth:`~ImageFeatures.to_text` is the model's prompt and whose vocabulary bounds captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from enigma_vision.loader import LoadedImage
from enigma_vision.palette import (
    COLOUR_NAMES,
    NEUTRALS,
    confident_quantize,
    quantize,
    rgb_to_lab,
)
from enigma_vision.scene import analyse_scene
from enigma_vision.segment import (
    POSITIONS,
    DetectedObject,
    detect_objects,
    find_background,
    position_name,
)
from enigma_vision.shapes import SHAPES
from enigma_vision.subject import Subject
from enigma_vision.words import number_word, parse_count, plural, singular, tokenize

if TYPE_CHECKING:
    from enigma_vision.faces import FaceReport

PLACE_MARGIN = 0.04
"""A place (left / center / ...) is claimed only when the point is this far from a border of
the 3x3 grid (fractions of width or height); nearer, the place is left unsaid."""
FACE_SKIN = 0.25
"""Least share of skin-toned pixels in the middle of a face box (colour images)."""

REGIONS = ("upper half", "lower half", "left half", "right half")
REGION_ITEMS = {"sky": "sky top", "vegetation": "vegetation", "water": "water",
                "text": "text-like marks"}  # fmt: skip
"""How each found region is written in the features string."""
TIME_ITEMS = {"day": "daylight", "night": "night"}
KINDS = ("photo", "drawing", "diagram", "screenshot")
SIZES = ("small", "medium", "large")
MOSTLY_RULES = ((1, 0.5, 0.5), (2, 0.15, 0.65), (3, 0.1, 0.75))
"""(how many colours, least share of each, least share together) for "mostly X[, Y and Z]",
tried in order; a list must also be the largest colours (see :func:`mostly_holds`)."""


@dataclass(frozen=True)
class ObjectGroup:
    """Objects sharing a colour and shape: how many and in which grid cells (sorted)."""

    count: int
    colour: str
    shape: str
    positions: tuple[str, ...] = ()

    def to_text(self) -> str:
        """Features-string item, e.g. ``2 red circles top left and center``."""
        head = f"{self.count} {self.colour} {plural(self.shape, self.count)}"
        return f"{head} {' and '.join(self.positions)}" if self.positions else head


@dataclass(frozen=True)
class ImageFeatures:
    """Everything extracted from one image (or read from a features string)."""

    source: str = "image"  # "image" or "text"
    width: int = 0
    height: int = 0
    orientation: str = ""  # landscape | portrait | square
    brightness: str = ""  # dark | medium | bright
    contrast: str = ""  # low | normal | high
    saturation: str = ""  # muted | normal | vivid
    black_and_white: bool = False
    colours: tuple[str, ...] = ()
    layout: tuple[str, ...] = ()  # e.g. "blue upper half"
    background: tuple[str, ...] = ()
    objects: tuple[ObjectGroup, ...] = ()
    faces: int | None = None
    smiles: int | None = None
    people: int | None = None
    tags: tuple[str, ...] = ()  # free features from a text features string
    measures: dict[str, float] = field(default_factory=dict)
    kind: str = ""  # photo | drawing | diagram | screenshot | "" (can't tell)
    regions: tuple[str, ...] = ()  # sky, vegetation, water, text
    outdoors: bool = False
    time: str = ""  # day | night
    subject: tuple[str, ...] = ()  # (size, place), e.g. ("large", "center")
    face_places: tuple[str, ...] = ()  # one grid place per located face ("" when borderline)
    faces_at_least: bool = False  # the count is a lower bound (a looser pass found more)
    shares: dict[str, float] = field(default_factory=dict)  # palette colour -> pixel share
    evidence: dict[str, Any] = field(default_factory=dict)  # measurements behind each fact
    cannot_tell: tuple[str, ...] = ()

    def items(self) -> list[str]:
        """The features as short phrases, in a fixed order (the model's prompt items)."""
        out = [group.to_text() for group in self.objects]
        if self.background:
            out.append(f"{' and '.join(self.background)} background")
        out.extend(self.layout)
        if self.faces:
            places = " and ".join(p for p in self.face_places if p)
            least = "at least " if self.faces_at_least else ""
            out.append(f"{least}{self.faces} {plural('face', self.faces)} {places}".strip())
        if self.smiles and self.source == "text":
            out.append("smiling")
        if self.kind:
            out.append(self.kind)
        out.extend(REGION_ITEMS[r] for r in self.regions)
        if self.outdoors:
            out.append("outdoors")
        if self.time:
            out.append(TIME_ITEMS[self.time])
        if self.subject:
            out.append(f"{self.subject[0]} subject {self.subject[1]}")
        out.extend(self.tags)
        if self.colours:
            out.append("mostly " + " and ".join(self.colours))
        if self.black_and_white:
            out.append("black and white")
        elif self.saturation in ("muted", "vivid"):
            out.append(f"{self.saturation} colours")
        if self.brightness in ("dark", "bright"):
            out.append(self.brightness)
        if self.contrast in ("low", "high"):
            out.append(f"{self.contrast} contrast")
        if self.orientation:
            out.append(self.orientation)
        return out

    def to_text(self) -> str:
        """The comma-separated features string, the seed's ``Q: [E:vision] <features>``."""
        return ", ".join(self.items())

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (what ``enigma route --json`` exposes)."""
        data: dict[str, Any] = {
            "source": self.source,
            "text": self.to_text(),
            "colours": list(self.colours),
            "layout": list(self.layout),
            "background": list(self.background),
            "objects": [
                {
                    "count": g.count,
                    "colour": g.colour,
                    "shape": g.shape,
                    "positions": list(g.positions),
                }
                for g in self.objects
            ],
            "tags": list(self.tags),
            "kind": self.kind,
            "regions": list(self.regions),
            "outdoors": self.outdoors,
            "time": self.time,
            "subject": list(self.subject),
            "cannot_tell": list(self.cannot_tell),
        }
        if self.source == "image":
            data.update(
                width=self.width, height=self.height, orientation=self.orientation,
                brightness=self.brightness, contrast=self.contrast, saturation=self.saturation,
                black_and_white=self.black_and_white,
                measures={k: round(v, 3) for k, v in self.measures.items()},
                shares={k: round(v, 3) for k, v in self.shares.items() if v >= 0.005},
            )  # fmt: skip
        if self.faces is not None:
            data.update(faces=self.faces, smiles=self.smiles, people=self.people,
                        face_places=list(self.face_places))  # fmt: skip
        return data

    def vocabulary(self) -> set[str]:
        """Every word the features support (singular and plural forms, count words)."""
        words: set[str] = set()
        for item in self.items():
            for word in tokenize(item):
                words.add(word)
                words.add(singular(word))
                if word.isdigit():
                    words.add(number_word(int(word)))
        for group in self.objects:
            words.add(plural(group.shape, group.count))
            if group.count == 1:
                words.update({"single", "one"})
        if self.faces:
            words.update({"face", "faces", plural("face", self.faces), number_word(self.faces)})
            words.update({"person"} if self.faces == 1 else {"people", number_word(self.faces)})
        if "vegetation" in self.regions:
            words.add("green")
        if "text" in self.regions:
            words.update({"text-like", "marks"})
        if self.subject:
            words.update({"main", "subject", "medium-sized"})
        if self.time == "day":
            words.add("daylight")
        return words


def _orientation(width: int, height: int) -> str:
    """landscape / portrait / square from the original size."""
    ratio = width / height
    return "landscape" if ratio > 1.1 else "portrait" if ratio < 0.9 else "square"


def colour_shares(labels: np.ndarray, sure: np.ndarray | None = None) -> dict[str, float]:
    """Share of the pixels each palette colour covers (only surely-named ones with ``sure``)."""
    kept = labels.ravel() if sure is None else labels[sure]
    counts = np.bincount(kept.astype(np.int64), minlength=len(COLOUR_NAMES))
    fractions = counts / max(1, labels.size)
    return {name: float(fractions[i]) for i, name in enumerate(COLOUR_NAMES)}


def mostly_holds(colours: tuple[str, ...], shares: dict[str, float]) -> bool:
    """True when "mostly <colours>" is right: the rule for that many colours holds and no
    colour left out covers more than one named (order does not matter)."""
    rule = next((r for r in MOSTLY_RULES if r[0] == len(colours)), None)
    if rule is None or len(set(colours)) != len(colours):
        return False
    named = [shares.get(c, 0.0) for c in colours]
    others = [v for c, v in shares.items() if c not in colours]
    if min(named) < rule[1] or sum(named) < rule[2]:
        return False
    return not others or max(others) <= min(named)


def main_colours(shares: dict[str, float]) -> tuple[str, ...]:
    """The shortest "mostly" list that holds, largest first; () when none does."""
    order = sorted(shares, key=lambda c: -shares[c])
    for count, _, _ in MOSTLY_RULES:
        if mostly_holds(tuple(order[:count]), shares):
            return tuple(order[:count])
    return ()


def _dominant(labels: np.ndarray, limit: int = 1, minimum: float = 0.5) -> tuple[str, ...]:
    """The palette colours covering at least ``minimum`` of the pixels, largest first."""
    shares = colour_shares(labels)
    order = [c for c in sorted(shares, key=lambda c: -shares[c]) if shares[c] >= minimum]
    return tuple(order[:limit])


def _half_colour(labels: np.ndarray) -> str | None:
    """The colour covering at least half of a region, if any."""
    colours = _dominant(labels, limit=1, minimum=0.5)
    return colours[0] if colours else None


def _layout(labels: np.ndarray) -> tuple[str, ...]:
    """Halves whose main colour differs from the opposite half (e.g. ``blue upper half``)."""
    height, width = labels.shape
    out: list[str] = []
    pairs = (
        (labels[: height // 2], labels[height - height // 2 :], "upper half", "lower half"),
        (labels[:, : width // 2], labels[:, width - width // 2 :], "left half", "right half"),
    )
    for first, second, first_name, second_name in pairs:
        a, b = _half_colour(first), _half_colour(second)
        if a != b:
            out.extend(f"{c} {name}" for c, name in ((a, first_name), (b, second_name)) if c)
        if out:
            break
    return tuple(out)


def _group(objects: list[DetectedObject]) -> tuple[ObjectGroup, ...]:
    """Group detected objects by (colour, shape), in order of first (largest) appearance."""
    groups: dict[tuple[str, str], list[str]] = {}
    for obj in objects:
        groups.setdefault((obj.colour, obj.shape), []).append(obj.position)
    return tuple(
        ObjectGroup(len(places), colour, shape, tuple(sorted(places, key=POSITIONS.index)))
        for (colour, shape), places in groups.items()
    )


def extract_features(image: LoadedImage, faces: bool = True) -> ImageFeatures:
    """Measure an image: global tone and colour, layout, flat shapes, faces when available."""
    pixels = image.pixels
    labels = quantize(pixels)
    lab = rgb_to_lab(pixels)
    lightness = lab[..., 0]
    chroma = np.sqrt(lab[..., 1] ** 2 + lab[..., 2] ** 2)
    mean_l, std_l, mean_c = float(lightness.mean()), float(lightness.std()), float(chroma.mean())
    low, high = np.percentile(lightness, [0.5, 99.5])
    spread = float(high - low)  # a few bright stars on black are high contrast, not low
    colourful = float((chroma > 15).mean())
    black_and_white = colourful < 0.01
    named, sure = confident_quantize(pixels)
    shares = colour_shares(named, sure)
    if black_and_white:  # a trace of colour is noise here: name only the neutrals
        shares = _neutral_shares(shares)
    colours = main_colours(shares)
    objects = detect_objects(pixels, labels)
    background = find_background(pixels, labels)
    report = None
    if faces and image.gray is not None and not objects:
        from enigma_vision.faces import detect_faces

        report = detect_faces(image.gray)
    scene = analyse_scene(pixels, black_and_white, shapes=bool(objects))
    face_places, face_evidence = _located_faces(report, pixels, black_and_white)
    count = None if report is None else len(face_places)
    loose, _ = _located_faces(report, pixels, black_and_white, loose=True)
    at_least = count is not None and len(loose) > count
    evidence = dict(scene.evidence)
    if face_evidence:
        evidence["faces"] = face_evidence
    subject = scene.subject
    return ImageFeatures(
        source="image",
        width=image.width,
        height=image.height,
        orientation=_orientation(image.width, image.height),
        brightness="dark" if mean_l < 30 else "bright" if mean_l > 70 else "medium",
        contrast="low" if std_l < 10 and spread < 50 else "high" if std_l > 30 else "normal",
        saturation="muted" if mean_c < 12 else "vivid" if mean_c > 45 else "normal",
        black_and_white=black_and_white,
        colours=colours,
        layout=_layout(np.where(sure, named, len(COLOUR_NAMES))),
        background=background.colours if background.flat else (),
        objects=_group(objects),
        faces=count,
        smiles=None if report is None else report.smiles,
        people=count,
        measures={"lightness": mean_l, "contrast": std_l, "chroma": mean_c,
                  "colourful": colourful, "lightness_range": spread},
        kind=scene.kind,
        regions=tuple(r.name for r in scene.regions),
        outdoors=scene.outdoors,
        time=scene.time,
        subject=() if subject is None else (subject.size, _subject_place(subject)),
        face_places=tuple(face_places),
        faces_at_least=at_least,
        shares=shares,
        evidence=evidence,
        cannot_tell=scene.cannot_tell,
    )  # fmt: skip


def _neutral_shares(shares: dict[str, float]) -> dict[str, float]:
    """Shares of a black-and-white image: every chromatic pixel counted as gray."""
    out = {c: (v if c in NEUTRALS else 0.0) for c, v in shares.items()}
    out["gray"] += sum(v for c, v in shares.items() if c not in NEUTRALS)
    return out


def _subject_place(subject: Subject) -> str:
    """Grid place of the subject, or "" when its centre sits near a cell border."""
    return grid_place(*subject.center)


def grid_place(x: float, y: float) -> str:
    """3x3 grid place of a point (fractions), or "" within PLACE_MARGIN of a cell border."""
    for value in (x, y):
        if min(abs(value - 1 / 3), abs(value - 2 / 3)) < PLACE_MARGIN:
            return ""
    return position_name(x, y)


def _located_faces(
    report: FaceReport | None, pixels: np.ndarray, black_and_white: bool, loose: bool = False
) -> tuple[list[str], list[dict[str, Any]]]:
    """Grid places of the faces worth claiming, plus their evidence.

    In colour images a face box must hold at least FACE_SKIN of skin-toned pixels (a Haar hit
    on a cat or a carving has none)."""
    if report is None:
        return [], []
    from enigma_vision.regions import PixelStats, skin_mask

    skin = None if black_and_white else skin_mask(pixels, PixelStats.of(pixels))
    h, w = pixels.shape[:2]
    places, evidence = [], []
    for x, y, bw, bh in report.loose_boxes if loose else report.boxes:
        share = 1.0
        if skin is not None:
            rows = slice(int((y + bh * 0.2) * h), max(int((y + bh * 0.8) * h), int(y * h) + 1))
            cols = slice(int((x + bw * 0.2) * w), max(int((x + bw * 0.8) * w), int(x * w) + 1))
            share = float(skin[rows, cols].mean()) if skin[rows, cols].size else 0.0
        if share < FACE_SKIN:
            continue
        places.append(grid_place(x + bw / 2, y + bh / 2))
        evidence.append({"box": [round(v, 3) for v in (x, y, bw, bh)],
                         "skin": round(share, 3)})  # fmt: skip
    return places, evidence


_COLOUR_RE = "|".join(COLOUR_NAMES)
_SHAPE_RE = "|".join(sorted({*SHAPES, *(s + "s" for s in SHAPES)}, key=len, reverse=True))
_POSITION_RE = "|".join(sorted(POSITIONS, key=len, reverse=True))
_GROUP = re.compile(
    rf"^(?P<count>\d+|a|an|one|two|three|four|five|six|seven|eight|nine)\s+"
    rf"(?P<colour>{_COLOUR_RE})\s+(?P<shape>{_SHAPE_RE})"
    rf"(?P<places>(?:\s+(?:and\s+)?(?:{_POSITION_RE}))*)$"
)
_PLACE = re.compile(rf"\b({_POSITION_RE})\b")
_FACES = re.compile(
    rf"^(?P<least>at least )?(?P<count>\d+) faces?"
    rf"(?P<places>(?:\s+(?:and\s+)?(?:{_POSITION_RE}))*)$"
)
_SUBJECT = re.compile(rf"^(?P<size>small|medium|large) subject(?:\s+(?P<place>{_POSITION_RE}))?$")
_REGION_NAMES = {text: name for name, text in REGION_ITEMS.items()}
_TIME_NAMES = {text: name for name, text in TIME_ITEMS.items()}


def parse_features(text: str) -> ImageFeatures:
    """Read a features string (comma-separated items) into :class:`ImageFeatures`.

    Items in the extractor's own format become structured fields; anything else (the seed's
    ``person, smiling, beach``) is kept verbatim as a tag the caption may mention.
    """
    objects: list[ObjectGroup] = []
    background: tuple[str, ...] = ()
    layout: list[str] = []
    tags: list[str] = []
    regions: list[str] = []
    fields: dict[str, Any] = {}
    for raw in text.replace(";", ",").split(","):
        item = " ".join(raw.lower().split())
        if not item:
            continue
        group = _GROUP.match(item)
        if group:
            count = parse_count(group["count"]) or 1
            places = tuple(_PLACE.findall(group["places"]))
            objects.append(ObjectGroup(count, group["colour"], singular(group["shape"]), places))
        elif item.endswith(" background") and all(
            w in COLOUR_NAMES or w == "and" for w in item.split()[:-1]
        ):
            background = tuple(w for w in item.split()[:-1] if w != "and")
        elif any(item.endswith(region) for region in REGIONS) and item.split()[0] in COLOUR_NAMES:
            layout.append(item)
        elif item.startswith("mostly "):
            fields["colours"] = tuple(w for w in item.split()[1:] if w in COLOUR_NAMES)
        elif item in ("landscape", "portrait", "square"):
            fields["orientation"] = item
        elif item in ("dark", "bright"):
            fields["brightness"] = item
        elif item in ("low contrast", "high contrast"):
            fields["contrast"] = item.split()[0]
        elif item in ("muted colours", "vivid colours"):
            fields["saturation"] = item.split()[0]
        elif item == "black and white":
            fields["black_and_white"] = True
        elif _FACES.match(item):
            found = _FACES.match(item)
            assert found is not None
            fields["faces"] = fields["people"] = int(found["count"])
            fields["face_places"] = tuple(_PLACE.findall(found["places"] or ""))
            fields["faces_at_least"] = bool(found["least"])
        elif item in KINDS:
            fields["kind"] = item
        elif item in _REGION_NAMES:
            regions.append(_REGION_NAMES[item])
        elif item == "outdoors":
            fields["outdoors"] = True
        elif item in _TIME_NAMES:
            fields["time"] = _TIME_NAMES[item]
        elif _SUBJECT.match(item):
            found = _SUBJECT.match(item)
            assert found is not None
            fields["subject"] = (found["size"], found["place"] or "")
        else:
            tags.append(item)
    return ImageFeatures(
        source="text", objects=tuple(objects), background=background, layout=tuple(layout),
        tags=tuple(tags), regions=tuple(regions), **fields,
    )  # fmt: skip
