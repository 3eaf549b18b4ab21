"""Preparing examples for the loop: labels, context-length fitting, file hashes, batch order.

Torch-free. Batch order depends only on ``(seed, epoch)``, so a resumed run replays exactly
the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from enigma_core.errors import EnigmaError
from enigma_core.training.meta import sha256_file
from enigma_core.training.recipe import Example

BUCKET_BATCHES = 32
"""Examples are sorted by length within windows of this many batches (less padding)."""


def resolve_labels(
    train: Sequence[Example], valid: Sequence[Example], fixed: Sequence[str] | None
) -> tuple[str, ...]:
    """The label set (``fixed`` or sorted training labels); sets every example's ``target``."""
    for ex in train:
        if ex.label is None:
            raise EnigmaError(f"{ex.source or 'training data'}: example has no label")
    labels = tuple(fixed) if fixed is not None else tuple(sorted({str(ex.label) for ex in train}))
    if len(labels) < 2:
        raise EnigmaError(f"classification needs at least 2 labels, the data has {len(labels)}")
    index = {label: i for i, label in enumerate(labels)}
    for ex in (*train, *valid):
        if ex.label not in index:
            raise EnigmaError(
                f"{ex.source or 'data'}: label {ex.label!r} is not one of the training labels"
            )
        ex.target = index[ex.label]
    return labels


def fit_examples(examples: list[Example], block_size: int, lm: bool) -> tuple[list[Example], int]:
    """Cut examples to the context (LMs keep one extra id as the last target); drop unusable.

    Returns ``(examples, n_changed)``; LM examples whose prompt alone fills the context and
    empty examples are dropped, longer ones are truncated at the end.
    """
    limit = block_size + 1 if lm else block_size
    kept: list[Example] = []
    changed = 0
    for ex in examples:
        if len(ex.ids) < (2 if lm else 1) or (lm and ex.prompt_len >= limit):
            changed += 1
            continue
        if len(ex.ids) > limit:
            ex.ids = ex.ids[:limit]
            changed += 1
        kept.append(ex)
    return kept, changed


def file_hashes(paths: Sequence[Path]) -> list[dict[str, Any]]:
    """``[{"path", "sha256"}]`` of data files (recorded in config.json, checked on resume)."""
    return [{"path": str(p), "sha256": sha256_file(p)} for p in paths]


def check_files(paths: Sequence[Path]) -> None:
    """Every data path must be a readable file (one-line error otherwise)."""
    for p in paths:
        if not Path(p).exists():
            raise EnigmaError(f"{p}: data file not found")
        if not Path(p).is_file():
            raise EnigmaError(f"{p}: is not a file")


def epoch_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Index batches of one epoch: shuffled, length-bucketed, in a shuffled order.

    There are always ``ceil(n / batch_size)`` batches; the result depends only on the inputs.
    """
    n = len(lengths)
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(n)
    window = batch_size * BUCKET_BATCHES
    batches: list[np.ndarray] = []
    for s in range(0, n, window):
        part = perm[s : s + window]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Number of batches :func:`epoch_batches` makes for ``n`` examples."""
    return -(-n // batch_size)


def label_warnings(examples: Sequence[Example]) -> list[str]:
    """Warnings about labels that are likely mistakes (training still runs).

    The same input with two labels; labels that differ only in case; labels holding path
    separators or control characters (they become file names and log lines elsewhere).
    """
    out: list[str] = []
    seen: dict[str, tuple[str, str]] = {}
    clashes = 0
    first = ""
    for ex in examples:
        if ex.label is None:
            continue
        key = " ".join(ex.text.casefold().split()) if ex.text else ",".join(map(str, ex.ids))
        label = str(ex.label)
        prior = seen.setdefault(key, (label, ex.source))
        if prior[0] != label:
            clashes += 1
            if not first:
                where = ex.source or "data"
                first = f"{where}: same input as {prior[1]} but labelled '{label}'"
                first += f", not '{prior[0]}'"
    if clashes:
        out.append(f"{first} ({clashes} input(s) with two labels)")
    labels = sorted({str(ex.label) for ex in examples if ex.label is not None})
    folded: dict[str, str] = {}
    for label in labels:
        other = folded.setdefault(label.casefold(), label)
        if other != label:
            out.append(f"labels '{other}' and '{label}' differ only in case")
    for label in labels:
        if any(c in label for c in "/\\") or any(ord(c) < 32 or ord(c) == 127 for c in label):
            out.append(f"label {label!r} holds a path separator or a control character")
    return out
