"""The real-photo evaluation: photos shipped inside PyPI packages, hand-written facts.

``data/vision_real_photos.json`` lists each photo (package, path inside it), the true facts and
the false statements someone wrote after looking at it, in the claim keys of
:mod:`enigma_vision.claims`. The photos are not copied anywhere: they are read from the
installed packages, and a photo whose package is missing is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import io
import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from enigma_core.datafiles import find_data_file
from enigma_core.errors import EnigmaError
from enigma_vision.captions import mentions
from enigma_vision.claims import check_claims
from enigma_vision.features import ImageFeatures
from enigma_vision.template import template_caption
from enigma_vision.words import tokenize

FACTS_FILE = find_data_file("data/vision_real_photos.json", __file__)


@dataclass(frozen=True)
class Photo:
    """One photo of the set: where it ships and what is true or false about it."""

    id: str
    package: str
    pip: str
    path: str
    facts: tuple[dict[str, Any], ...]
    false: tuple[dict[str, Any], ...]
    doubtful: tuple[str, ...]
    is_photo: bool = True

    def fact_keys(self) -> set[str]:
        """Claim keys of the true facts (facts the captioner cannot express have none)."""
        return {f["key"] for f in self.facts if f.get("key")}

    def false_keys(self) -> set[str]:
        """Claim keys of the false statements."""
        return {f["key"] for f in self.false}


def load_photos(path: str | Path | None = None) -> list[Photo]:
    """Read and check the facts file; a bad entry is a one-line error naming it."""
    path = Path(path) if path is not None else FACTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EnigmaError(f"{path}: facts file not found") from None
    except ValueError as exc:
        raise EnigmaError(f"{path}: not valid JSON ({exc})") from None
    photos = []
    for n, entry in enumerate(data.get("photos", []), 1):
        try:
            photo = Photo(
                str(entry["id"]), str(entry["package"]), str(entry.get("pip", entry["package"])),
                str(entry["path"]), tuple(entry["facts"]), tuple(entry["false"]),
                tuple(entry.get("doubtful", ())), bool(entry.get("photo", True)),
            )  # fmt: skip
            _ = [f["say"] for f in (*photo.facts, *photo.false)], photo.false_keys()
        except (KeyError, TypeError) as exc:
            raise EnigmaError(f"{path}: photo {n}: missing field {exc}") from None
        clash = photo.fact_keys() & photo.false_keys()
        if clash:
            raise EnigmaError(f"{path}: {photo.id}: {sorted(clash)} both true and false")
        photos.append(photo)
    if not photos:
        raise EnigmaError(f"{path}: holds no photos")
    return photos


def locate(photo: Photo) -> tuple[Path | None, str]:
    """The photo's file inside its installed package (not imported), or None and why not."""
    spec = importlib.util.find_spec(photo.package)
    if spec is None or not spec.submodule_search_locations:
        return None, f"package {photo.package!r} not installed (pip install {photo.pip})"
    root = Path(next(iter(spec.submodule_search_locations)))
    file = root / photo.path
    if not file.is_file():
        return None, f"{photo.package} has no {photo.path} (another version?)"
    return file, ""


def open_photo(file: Path) -> Any:
    """A file the vision loader can read: arrays shipped as ``.npz`` become a PNG in memory."""
    if file.suffix != ".npz":
        return file
    import numpy as np
    from PIL import Image

    with np.load(file, allow_pickle=False) as arrays:
        array = arrays[arrays.files[0]]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(array, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return Image.open(io.BytesIO(buffer.getvalue()))


def said_keys(caption: str, features: ImageFeatures) -> list[str]:
    """The claim keys a caption states, split into single facts (one per colour, place...)."""
    keys: list[str] = []
    for claim in check_claims(caption, features).claims:
        kind, _, value = claim.key.partition(":")
        if kind in ("mostly", "background"):
            keys += [f"{'colour' if kind == 'mostly' else kind}:{c}" for c in value.split("+")]
        elif kind == "faces":
            count, *places = value.split(":")
            keys.append(f"faces:{count}")
            keys += [f"face_place:{p}" for p in places]
        elif kind == "subject":
            size, *place = value.split(":")
            keys.append(f"subject:{size}")
            keys += [f"subject_place:{p}" for p in place]
        else:
            keys.append(claim.key)
    keys += [f"object:{m.count or '?'} {m.colour} {m.shape}" for m in mentions(caption)]
    return keys


def evaluate_real(captioner: Any = None, faces: bool = True) -> dict[str, Any]:
    """Caption every available photo; count false statements, true facts, words, time."""
    from enigma_vision.api import describe, describe_attached

    rows, skipped = [], []
    rules: dict[str, dict[str, int]] = {}
    for photo in load_photos():
        file, reason = locate(photo)
        if file is None:
            skipped.append({"id": photo.id, "reason": reason})
            continue
        start = time.perf_counter()
        source = open_photo(file)
        if isinstance(source, Path):
            result = describe(source, captioner, faces=faces)
        else:
            result = describe_attached(source, captioner, faces=faces, name=photo.id)
        ms = (time.perf_counter() - start) * 1000
        keys = said_keys(result.caption, result.features)
        found = said_keys(template_caption(result.features), result.features)
        judged = [k for k in keys if not k.startswith("orientation:")]
        false = sorted({k for k in judged if k in photo.false_keys()})
        covered = sorted(photo.fact_keys() & set(judged))
        unjudged = sorted(
            {k for k in judged} - photo.fact_keys() - photo.false_keys() - set(photo.doubtful)
        )
        rows.append({
            "id": photo.id, "photo": photo.is_photo, "caption": result.caption,
            "source": result.source,
            "false": false, "facts_covered": covered, "facts_listed": len(photo.facts),
            "unjudged": unjudged, "doubtful": sorted(set(judged) & set(photo.doubtful)),
            "words": len(tokenize(result.caption)), "ms": round(ms, 1),
            "rejected": list(result.problems), "found": found,
        })  # fmt: skip
        _tally_rules(rules, photo, found)
    if not rows:
        reasons = "; ".join(sorted({s["reason"] for s in skipped}))
        raise EnigmaError(f"no real photo available: {reasons}")
    summary = _summary(rows, skipped)
    summary["rules"] = {
        name: {**t, "precision": t["tp"] / (t["tp"] + t["fp"]) if t["tp"] + t["fp"] else None,
               "recall": t["tp"] / (t["tp"] + t["fn"]) if t["tp"] + t["fn"] else None}
        for name, t in sorted(rules.items())
    }  # fmt: skip
    return summary


RULE_FAMILIES = (
    "kind", "region", "scene", "time", "faces", "face_place", "subject", "subject_place",
    "colour", "tone", "contrast", "saturation", "half", "background",
)  # fmt: skip


def _tally_rules(rules: dict[str, dict[str, int]], photo: Photo, found: list[str]) -> None:
    """Score each rule's finding (what the template would say) against the hand labels:
    a labelled-true key found is a hit, a labelled-false key found a false alarm, a
    labelled-true key not found a miss. Tallied per key (``region:sky``...)."""
    true, false = photo.fact_keys(), photo.false_keys()
    for key in true | false:
        if key.split(":", 1)[0] not in RULE_FAMILIES:
            continue
        tally = rules.setdefault(key, {"tp": 0, "fp": 0, "fn": 0})
        if key in found:
            tally["tp" if key in true else "fp"] += 1
        elif key in true:
            tally["fn"] += 1


def _summary(rows: list[dict[str, Any]], skipped: list[dict[str, str]]) -> dict[str, Any]:
    """Totals over the real photos, then over every picture (drawings included)."""
    photos = [r for r in rows if r["photo"]]
    out = _totals(photos) if photos else {}
    out["all_pictures"] = _totals(rows)
    out.update(skipped=skipped, rows=rows)
    return out


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """False statements, facts, words, model share and time over ``rows``."""
    n = len(rows)
    model_rows = [r for r in rows if r["source"] == "model"]
    return {
        "photos": n,
        "false_statements": sum(len(r["false"]) for r in rows),
        "true_facts_per_photo": sum(len(r["facts_covered"]) for r in rows) / n,
        "facts_listed_per_photo": sum(r["facts_listed"] for r in rows) / n,
        "unjudged_claims": sum(len(r["unjudged"]) for r in rows),
        "doubtful_claims": sum(len(r["doubtful"]) for r in rows),
        "words_per_caption": sum(r["words"] for r in rows) / n,
        "model_captions": len(model_rows),
        "median_ms": statistics.median(r["ms"] for r in rows),
    }
