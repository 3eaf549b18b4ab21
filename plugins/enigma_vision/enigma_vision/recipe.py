"""The vision caption recipe: the core's generic Q/A LM recipe plus procedural examples.

Data: ``data/specialized/vision_training.txt`` (the seed's format, marker kept in the prompt)
plus :data:`SYNTHETIC_EXAMPLES` pairs drawn fresh from the procedural generator (seed
:data:`SYNTHETIC_SEED`, disjoint from the evaluation seeds) and run through the real extractor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from enigma_core.datafiles import find_data_file
from enigma_core.formats import load_pair_examples
from enigma_core.training.recipe import (
    Example,
    HyperParams,
    QAPair,
    TrainingRecipe,
    encode_qa,
    make_lm_recipe,
)
from enigma_vision.model import prompt_text

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer

SEED_DATA = find_data_file("data/specialized/vision_training.txt", __file__)
SYNTHETIC_EXAMPLES = 2000
SCENE_EXAMPLES = 1200
"""Pairs from random photo-like features (kind, faces, regions, subject, time of day)."""
SYNTHETIC_SEED = 20
FILE_REPEAT = 2
"""The file's pairs are seen this many times per epoch (hand-written phrasing is scarce)."""
HYPER = HyperParams(
    size="micro",
    epochs=12,
    lr=3e-3,
    batch_size=32,
    warmup=0.05,
    patience=3,
    valid_fraction=0.05,
    min_examples=50,
)


def parse_file(path: Path) -> list[QAPair]:
    """Pairs of a vision data file, prompts keeping the seed's ``[E:vision]`` marker."""
    pairs = [
        QAPair(prompt_text(ex.prompt), ex.completion, f"{path}:{ex.line}")
        for ex in load_pair_examples(path, kind="vision")
    ]
    return pairs * FILE_REPEAT


def vision_recipe(synthetic: int = SYNTHETIC_EXAMPLES) -> TrainingRecipe:
    """The recipe ``enigma train vision`` runs (tiny by default; see the plugin README)."""
    recipe = make_lm_recipe(
        "vision",
        parse_file,
        default_data=(SEED_DATA,),
        hyper=HYPER,
        metric="val_loss",
        meta={
            "synthetic_examples": synthetic,
            "synthetic_seed": SYNTHETIC_SEED,
            "scene_examples": SCENE_EXAMPLES if synthetic > 0 else 0,
        },
        description="Image captions from extracted features (seed Q/A file + procedural images).",
    )

    def add_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        """Fresh procedural and scene pairs, added to the training set once (the core calls
        this)."""
        if synthetic <= 0:
            return []
        from enigma_vision.training_data import scene_feature_pairs, synthetic_pairs

        examples = [
            encode_qa(tokenizer, QAPair(prompt, caption, f"synthetic:{SYNTHETIC_SEED}:{n}"))
            for n, (prompt, caption) in enumerate(synthetic_pairs(synthetic, SYNTHETIC_SEED))
        ]
        examples += [
            encode_qa(tokenizer, QAPair(prompt, caption, f"scene:{SYNTHETIC_SEED}:{n}"))
            for n, (prompt, caption) in enumerate(
                scene_feature_pairs(SCENE_EXAMPLES, SYNTHETIC_SEED)
            )
        ]
        return examples

    recipe.add_examples = add_examples
    return recipe
