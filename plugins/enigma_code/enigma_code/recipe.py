"""The code task's training recipe: the core's generic Q/A LM recipe plus code-specific data.

Default data: mined stdlib pairs (``runs/code/stdlib.jsonl``, mined on first use) and the
hand-written ``data/specialized/code_training.txt`` (repeated :data:`QA_REPEAT` times, since
its phrasing is what users type). Examples longer than :data:`MAX_TOKENS` are dropped. After
training, ``finalize`` writes the ``--show-sources`` index of the training functions beside
the weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_code.mining import (
    DEFAULT_MAX_LINES,
    Pair,
    defined_name,
    mine_to_files,
    stdlib_root,
)
from enigma_code.qa import read_pairs
from enigma_core.datafiles import find_data_file
from enigma_core.training.recipe import (
    Example,
    HyperParams,
    QAPair,
    RecipeContext,
    TrainingRecipe,
    make_lm_recipe,
)

if TYPE_CHECKING:
    from torch import nn

    from enigma_core.tokenizer import SharedTokenizer

DEFAULT_MINED = Path("runs/code/stdlib.jsonl")
"""Where ``enigma train code`` looks for mined pairs (mined from the stdlib if missing)."""
SEED_QA = find_data_file("data/specialized/code_training.txt", __file__)
QA_REPEAT = 5
MAX_TOKENS = 320
HYPER = HyperParams(
    size="tiny",
    epochs=7,
    lr=2e-3,
    batch_size=16,
    warmup=0.03,
    patience=2,
    valid_fraction=0.04,
    min_examples=50,
)


def suite_prompts() -> frozenset[str]:
    """The evaluation suite's requests (lower case): never trained on."""
    from enigma_code.suite import load_suite

    return frozenset(task.prompt.lower() for task in load_suite())


def parse_file(path: Path) -> list[QAPair]:
    """Pairs of one data file, less any whose request is a suite task's (a mined docstring can
    read exactly like one: pydash's ``add`` is "write a function that adds two numbers");
    Q/A text (hand-written) is repeated :data:`QA_REPEAT` times."""
    held = suite_prompts()
    pairs = [p for p in read_pairs(Path(path)) if p.prompt.lower() not in held]
    return pairs * QA_REPEAT if Path(path).suffix != ".jsonl" else pairs


def _index_pairs(paths: Sequence[Path]) -> list[Pair]:
    """Training functions as index documents (mined pairs keep their file and line)."""
    docs: list[Pair] = []
    for path in paths:
        if path.suffix == ".jsonl":
            from enigma_code.mining import read_jsonl

            docs.extend(read_jsonl(path))
        else:
            for qa in read_pairs(path):
                name, _, line = qa.source.rpartition(":")
                docs.append(
                    Pair(
                        qa.prompt,
                        qa.completion,
                        Path(name).name,
                        int(line or 0),
                        defined_name(qa.completion),
                        str(path.parent),
                    )
                )
    return docs


def code_recipe() -> TrainingRecipe:
    """The recipe ``enigma train code`` runs (tiny by default; see the plugin README)."""

    def finalize(
        model: nn.Module, train: Sequence[Example], valid: Sequence[Example], ctx: RecipeContext
    ) -> dict[str, Any]:
        from enigma_code.retrieval import SourceIndex

        docs = _index_pairs([Path(p) for p in ctx.train_paths])
        if ctx.out_dir is not None and docs:
            SourceIndex.build(docs).save(Path(ctx.out_dir))
        return {"source_index": {"functions": len(docs)}, "max_tokens": MAX_TOKENS}

    if not DEFAULT_MINED.exists():  # the loop checks that data files exist before reading
        mine_to_files([stdlib_root()], DEFAULT_MINED, DEFAULT_MAX_LINES)
    recipe = make_lm_recipe(
        "code",
        parse_file,
        default_data=(DEFAULT_MINED, SEED_QA),
        hyper=HYPER,
        metric="val_loss",
        finalize=finalize,
        description="Python functions from requests (mined stdlib + hand-written Q/A).",
    )
    base_load = recipe.load_examples

    def load_examples(paths: Sequence[Path], tokenizer: SharedTokenizer) -> list[Example]:
        return [ex for ex in base_load(paths, tokenizer) if len(ex.ids) <= MAX_TOKENS]

    recipe.load_examples = load_examples
    return recipe
