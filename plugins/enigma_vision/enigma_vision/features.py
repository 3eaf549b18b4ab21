"""What the plugin can honestly see in an image: measured features and their text form.

:func:`extract_features` measures a decoded image; :func:`parse_features` reads the seed's
features strings (``person, smiling, beach, sunset``). Both give an :class:`ImageFeatures`,
whose :meth:`~ImageFeatures.to_text` is the model's prompt and whose vocabulary bounds captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from enigma_vision.loader import LoadedImage
from enigma_vision.palette import COLOUR_NAMES, NEUTRALS, quantize, rgb_to_lab
from enigma_vision.segment import POSITIONS, DetectedObject, detect_objects, find_background
from enigma_vision.shapes import SHAPES
from enigma_vision.words import number_word, parse_count, plural, singular, tokenize

REGIONS = ("upper half", "lower half", "left half", "right half")


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

    def items(self) -> list[str]:
        """The features as short phrases, in a fixed order (the model's prompt items)."""
        out = [group.to_text() for group in self.objects]
        if self.background:
            out.append(f"{' and '.join(self.background)} background")
        out.extend(self.layout)
        if self.faces:
            out.append(f"{self.faces} {plural('face', self.faces)}")
        if self.smiles:
            out.append("smiling")
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
        }
        if self.source == "image":
            data.update(
                width=self.width, height=self.height, orientation=self.orientation,
                brightness=self.brightness, contrast=self.contrast, saturation=self.saturation,
                black_and_white=self.black_and_white,
                measures={k: round(v, 3) for k, v in self.measures.items()},
            )  # fmt: skip
        if self.faces is not None:
            data.update(faces=self.faces, smiles=self.smiles, people=self.people)
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
        return words


def _orientation(width: int, height: int) -> str:
    """landscape / portrait / square from the original size."""
    ratio = width / height
    return "landscape" if ratio > 1.1 else "portrait" if ratio < 0.9 else "square"


def _dominant(labels: np.ndarray, limit: int = 3, minimum: float = 0.1) -> tuple[str, ...]:
    """The palette colours covering at least ``minimum`` of the pixels, largest first."""
    counts = np.bincount(labels.ravel().astype(np.int64), minlength=len(COLOUR_NAMES))
    fractions = counts / max(1, labels.size)
    order = [int(i) for i in np.argsort(-fractions, kind="stable") if fractions[i] >= minimum]
    return tuple(COLOUR_NAMES[i] for i in order[:limit])


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
    colourful = float((chroma > 15).mean())
    black_and_white = colourful < 0.01
    colours = _dominant(labels)
    if black_and_white:
        colours = tuple(c for c in colours if c in NEUTRALS)
    objects = detect_objects(pixels, labels)
    background = find_background(pixels, labels)
    report = None
    if faces and image.gray is not None and not objects:
        from enigma_vision.faces import detect_faces

        report = detect_faces(image.gray)
    return ImageFeatures(
        source="image",
        width=image.width,
        height=image.height,
        orientation=_orientation(image.width, image.height),
        brightness="dark" if mean_l < 30 else "bright" if mean_l > 70 else "medium",
        contrast="low" if std_l < 10 else "high" if std_l > 30 else "normal",
        saturation="muted" if mean_c < 12 else "vivid" if mean_c > 45 else "normal",
        black_and_white=black_and_white,
        colours=colours,
        layout=_layout(labels),
        background=background.colours if background.flat else (),
        objects=_group(objects),
        faces=None if report is None else report.faces,
        smiles=None if report is None else report.smiles,
        people=None if report is None else report.people,
        measures={"lightness": mean_l, "contrast": std_l, "chroma": mean_c,
                  "colourful": colourful},
    )  # fmt: skip


_COLOUR_RE = "|".join(COLOUR_NAMES)
_SHAPE_RE = "|".join(sorted({*SHAPES, *(s + "s" for s in SHAPES)}, key=len, reverse=True))
_POSITION_RE = "|".join(sorted(POSITIONS, key=len, reverse=True))
_GROUP = re.compile(
    rf"^(?P<count>\d+|a|an|one|two|three|four|five|six|seven|eight|nine)\s+"
    rf"(?P<colour>{_COLOUR_RE})\s+(?P<shape>{_SHAPE_RE})"
    rf"(?P<places>(?:\s+(?:and\s+)?(?:{_POSITION_RE}))*)$"
)
_PLACE = re.compile(rf"\b({_POSITION_RE})\b")


def parse_features(text: str) -> ImageFeatures:
    """Read a features string (comma-separated items) into :class:`ImageFeatures`.

    Items in the extractor's own format become structured fields; anything else (the seed's
    ``person, smiling, beach``) is kept verbatim as a tag the caption may mention.
    """
    objects: list[ObjectGroup] = []
    background: tuple[str, ...] = ()
    layout: list[str] = []
    tags: list[str] = []
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
        elif re.fullmatch(r"\d+ faces?", item):
            fields["faces"] = fields["people"] = int(item.split()[0])
        else:
            tags.append(item)
    return ImageFeatures(
        source="text", objects=tuple(objects), background=background, layout=tuple(layout),
        tags=tuple(tags), **fields,
    )  # fmt: skip
