"""Read the code training data as :class:`QAPair` s: seed Q/A text or mined JSON lines.

Q/A text (``data/specialized/code_training.txt``, the seed's format: the answer runs until
the next ``Q:`` at column 0) is parsed by the core's :func:`enigma_core.formats.parse_code`.
JSON lines (``enigma data code`` output) hold ``{"prompt", "completion", "source", "line"}``;
their source is kept so ``--show-sources`` can point at the real file and line.
"""

from __future__ import annotations

from pathlib import Path

from enigma_code.mining import read_jsonl
from enigma_core.formats import parse_code, read_text_file
from enigma_core.training.recipe import QAPair


def read_pairs(path: Path) -> list[QAPair]:
    """Pairs of one data file: ``.jsonl`` as mined JSON lines, anything else as Q/A text."""
    path = Path(path)
    if path.suffix == ".jsonl":
        return [QAPair(p.prompt, p.completion, f"{p.source}:{p.line}") for p in read_jsonl(path)]
    return [
        QAPair(p.prompt, p.completion.rstrip() + "\n", f"{path}:{p.line}")
        for p in parse_code(read_text_file(path), str(path))
    ]
