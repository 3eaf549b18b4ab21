"""Small generated datasets, a tokenizer trained on them and two recipes, for the loop tests.

Used in-process by ``tests/test_training_loop.py`` and by ``train_subprocess.py`` (kill -9 test).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from enigma_core.errors import EnigmaError
from enigma_core.tokenizer import SharedTokenizer, train_tokenizer
from enigma_core.training.recipe import (
    Example,
    HyperParams,
    QAPair,
    TrainingRecipe,
    make_lm_recipe,
)

INTENTS = {
    "chat": ["hello there", "how are you today", "tell me a joke", "good morning friend"],
    "code": ["write a function to sort a list", "implement binary search", "fix this python bug"],
    "image": ["draw a red cat", "generate a picture of mountains", "paint a sunset"],
    "vision": ["describe photo.jpg", "what is in this picture", "caption this image"],
}
WORDS = ["please", "now", "quickly", "for me", "again", "today", "ok", "thanks"]


def router_lines(n: int, seed: int = 0) -> list[str]:
    """``n`` Q/A classification examples in the seed's router format."""
    rng = random.Random(seed)
    names = sorted(INTENTS)
    lines = []
    for i in range(n):
        intent = names[i % len(names)]
        text = f"{rng.choice(INTENTS[intent])} {rng.choice(WORDS)}"
        lines += [f"Q: {text}", f"A: [E:tool]{intent}"]
    return lines


def qa_lines(n: int, seed: int = 0) -> list[str]:
    """``n`` Q/A generation examples: reverse-and-count style answers, one line each."""
    rng = random.Random(seed)
    lines = []
    for _ in range(n):
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        lines += [f"Q: add {a} and {b}", f"A: {a} plus {b} is {a + b}"]
    return lines


def write(path: Path, lines: list[str]) -> Path:
    """Write lines as a UTF-8 text file and return the path."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_tokenizer(directory: Path) -> SharedTokenizer:
    """A small shared tokenizer trained on the generated data (deterministic)."""
    corpus = write(directory / "tok_corpus.txt", router_lines(200) + qa_lines(200))
    return train_tokenizer([corpus], directory / "tok.model", vocab_size=400)


def parse_qa(path: Path) -> Iterator[QAPair]:
    """``Q: ...`` / ``A: ...`` line pairs; a stray line is an EnigmaError naming file:line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if line.startswith("Q: ") and pending is None:
            pending = (number, line[3:])
        elif line.startswith("A: ") and pending is not None:
            yield QAPair(pending[1], line[3:], f"{path.name}:{pending[0]}")
            pending = None
        else:
            raise EnigmaError(f"{path.name}:{number}: expected a 'Q: ' line then an 'A: ' line")


def load_router(paths: list[Path], tokenizer: SharedTokenizer) -> list[Example]:
    """Router examples: the question's ids, the intent after ``[E:tool]`` as label."""
    out = []
    for path in paths:
        for pair in parse_qa(Path(path)):
            if not pair.completion.startswith("[E:tool]"):
                raise EnigmaError(f"{pair.source}: answer has no [E:tool] intent")
            ids = tokenizer.encode(pair.prompt, add_bos=True)
            out.append(Example(ids=ids, label=pair.completion[8:], source=pair.source))
    return out


def router_recipe(**hyper: object) -> TrainingRecipe:
    """A classification recipe over :func:`router_lines` data."""
    hp = HyperParams(size="nano", epochs=6, lr=3e-3, batch_size=16, patience=0).replace(**hyper)
    return TrainingRecipe(task="router", load_examples=load_router, head="classify", hyper=hp)


def lm_recipe(**hyper: object) -> TrainingRecipe:
    """The generic Q/A LM recipe over :func:`qa_lines` data."""
    hp = HyperParams(size="nano", epochs=4, lr=3e-3, batch_size=16, patience=0).replace(**hyper)
    return make_lm_recipe("qa", parse_qa, hyper=hp)


KILL_TEST_HYPER: dict[str, object] = {"epochs": 3, "batch_size": 8}
"""Hyper-parameters of the interrupted/resumed LM run (shared by test and subprocess)."""
