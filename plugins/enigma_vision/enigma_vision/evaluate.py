"""Scores captions (and raw features) on procedural images against their ground truth.

Attribute accuracy covers colours, shapes, counts and positions; an image hallucinates when
its caption claims an object, colour or count its ground truth does not have. BLEU (against
the template sentence of the ground truth) is a smoke figure only.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError
from enigma_vision.captions import Mention, mentions, shape_words
from enigma_vision.features import ImageFeatures, ObjectGroup
from enigma_vision.palette import COLOUR_NAMES
from enigma_vision.template import template_caption
from enigma_vision.words import tokenize

ATTRIBUTES = ("colours", "shapes", "counts", "positions")


@dataclass
class Tally:
    """Running hit/total counts per attribute plus hallucinating images."""

    hits: Counter[str] = field(default_factory=Counter)
    totals: Counter[str] = field(default_factory=Counter)
    hallucinated: int = 0
    images: int = 0

    def add(self, attribute: str, ok: bool) -> None:
        """Record one check of ``attribute``."""
        self.totals[attribute] += 1
        self.hits[attribute] += int(ok)

    def summary(self) -> dict[str, float]:
        """Accuracy per attribute, their mean, and the hallucination rate."""
        out = {a: self.hits[a] / self.totals[a] if self.totals[a] else 1.0 for a in ATTRIBUTES}
        out["attribute_accuracy"] = sum(out[a] for a in ATTRIBUTES) / len(ATTRIBUTES)
        if self.totals["background"]:
            out["background"] = self.hits["background"] / self.totals["background"]
        out["hallucination_rate"] = self.hallucinated / self.images if self.images else 0.0
        return out


def truth_groups(truth: dict[str, Any]) -> list[ObjectGroup]:
    """Ground-truth object groups of one ``labels.jsonl`` record."""
    return [
        ObjectGroup(int(g["count"]), g["colour"], g["shape"], tuple(g["positions"]))
        for g in truth["groups"]
    ]


def truth_features(truth: dict[str, Any]) -> ImageFeatures:
    """The ground truth as features (objects, background, layout only)."""
    return ImageFeatures(
        source="text", objects=tuple(truth_groups(truth)),
        background=tuple(truth["background"]), layout=tuple(truth.get("layout", ())),
    )  # fmt: skip


def as_mentions(groups: Iterable[ObjectGroup]) -> list[Mention]:
    """Feature groups in the same form as caption claims."""
    return [Mention(g.count, g.colour, g.shape, g.positions) for g in groups]


def score(claims: Sequence[Mention], truth: Sequence[ObjectGroup], tally: Tally) -> bool:
    """Add attribute checks for one image to ``tally``; True when ``claims`` hallucinate."""
    at: dict[str, tuple[str, str]] = {}
    claimed: dict[tuple[str, str], Mention] = {}
    for claim in claims:
        claimed[(claim.colour, claim.shape)] = claim
        for place in claim.positions:
            at[place] = (claim.colour, claim.shape)
    for group in truth:
        for place in group.positions:
            found = at.get(place)
            tally.add("colours", found is not None and found[0] == group.colour)
            tally.add("shapes", found is not None and found[1] == group.shape)
            tally.add("positions", found == (group.colour, group.shape))
        claim = claimed.get((group.colour, group.shape))
        stated = None if claim is None else claim.count or len(claim.positions) or None
        tally.add("counts", stated == group.count)
    real = {(g.colour, g.shape): g for g in truth}
    for claim in claims:
        group = real.get((claim.colour, claim.shape))
        if group is None or (claim.count or 0) > group.count:
            return True
        if any(p not in group.positions for p in claim.positions):
            return True
    return False


def colour_hallucination(caption: str, truth: dict[str, Any]) -> bool:
    """True when the caption names a colour that appears nowhere in the ground truth."""
    present = {*truth["background"], *(g["colour"] for g in truth["groups"])}
    return any(w in COLOUR_NAMES and w not in present for w in tokenize(caption))


SCENE_CLAIMS = ("faces", "sky", "vegetation", "water", "text", "outdoors", "day", "night")


def scene_hallucination(caption: str, features: ImageFeatures) -> bool:
    """True when a caption of a procedural (drawn) image calls it anything but a drawing, or
    claims faces, sky, vegetation, water, text, outdoors or a time of day: none are drawn."""
    from enigma_vision.claims import check_claims

    for claim in check_claims(caption, features).claims:
        if claim.kind in SCENE_CLAIMS or (claim.kind == "kind" and claim.key != "kind:drawing"):
            return True
    return False


def bleu(candidates: Sequence[str], references: Sequence[str], order: int = 4) -> float:
    """Corpus BLEU (0–100) with add-one smoothing of higher-order precisions."""
    matches, totals = [0] * order, [0] * order
    cand_len = ref_len = 0
    for candidate, reference in zip(candidates, references, strict=True):
        c, r = tokenize(candidate), tokenize(reference)
        cand_len, ref_len = cand_len + len(c), ref_len + len(r)
        for n in range(1, order + 1):
            c_grams = Counter(tuple(c[i : i + n]) for i in range(len(c) - n + 1))
            r_grams = Counter(tuple(r[i : i + n]) for i in range(len(r) - n + 1))
            matches[n - 1] += sum(min(v, r_grams[g]) for g, v in c_grams.items())
            totals[n - 1] += max(0, len(c) - n + 1)
    if not cand_len or not matches[0]:
        return 0.0
    logs = [math.log((matches[n] + (n > 0)) / (totals[n] + (n > 0))) for n in range(order)]
    penalty = min(0.0, 1.0 - ref_len / cand_len)
    return 100.0 * math.exp(penalty + sum(logs) / order)


def read_labels(data_dir: str | Path) -> list[dict[str, Any]]:
    """Ground-truth records of a procedural dataset (``labels.jsonl``), checked."""
    path = Path(data_dir) / "labels.jsonl"
    if not path.is_file():
        raise EnigmaError(f"{path}: not found (make one with 'enigma data vision --synthetic N')")
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            _ = record["file"], record["groups"], record["background"]
        except (ValueError, KeyError, TypeError) as exc:
            raise EnigmaError(f"{path}:{number}: bad ground-truth record ({exc})") from None
        records.append(record)
    if not records:
        raise EnigmaError(f"{path}: holds no records")
    return records


def evaluate_dir(
    data_dir: str | Path, captioner: Any = None, limit: int | None = None, faces: bool = False
) -> dict[str, Any]:
    """Caption every image of a procedural dataset and score captions and features."""
    from enigma_vision.api import describe

    records = read_labels(data_dir)[: limit or None]
    caption_tally, feature_tally = Tally(), Tally()
    captions, references, sources = [], [], Counter()
    examples = []
    total_ms = 0.0
    for record in records:
        result = describe(Path(data_dir) / record["file"], captioner, faces=faces)
        truth = truth_groups(record)
        for tally, claims, text in (
            (caption_tally, mentions(result.caption), result.caption),
            (feature_tally, as_mentions(result.features.objects), None),
        ):
            tally.images += 1
            bad = score(claims, truth, tally)
            if text is not None:
                bad = bad or colour_hallucination(text, record)
                bad = bad or scene_hallucination(text, result.features)
                bad = bad or shape_words(text) > len(claims)
                tally.add("background", _background_said(text, record))
            else:
                same = set(result.features.background) == set(record["background"])
                tally.add("background", same)
            tally.hallucinated += int(bad)
            if bad and text is not None and len(examples) < 5:
                examples.append({"file": record["file"], "caption": text})
        captions.append(result.caption)
        references.append(template_caption(truth_features(record)))
        sources[result.source] += 1
        total_ms += result.timings_ms.get("total", 0.0)
    return {
        "images": len(records),
        "caption": caption_tally.summary(),
        "features": feature_tally.summary(),
        "bleu": bleu(captions, references),
        "caption_sources": dict(sources),
        "mean_ms": total_ms / len(records),
        "hallucinations": examples,
    }


def _background_said(caption: str, record: dict[str, Any]) -> bool:
    """True when the caption states the ground-truth background colours."""
    said = re.search(r"\b((?:\w+ and )?\w+) background\b", caption.lower())
    return said is not None and set(said.group(1).split(" and ")) == set(record["background"])
