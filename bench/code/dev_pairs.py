"""A second yardstick for the verification rules, outside the suite: the hand-written request ->
answer pairs of ``data/specialized/`` go through the same verified path as ``enigma route``
(model drafts plus retrieved functions, :func:`enigma_code.answer.check_all`), and a shown
answer counts as right when it returns what the pair's own answer returns on the request's probe
calls (same number of arguments, same values or the same exception type).

The suite's tune part has no answer the model itself verifies, so rules about the model's drafts
cannot be weighed there; the 36 pairs of ``code_training_extra.txt`` were never trained on, the
120 of ``code_training.txt`` were (the model often reproduces those). A pair counts when its
own answer takes arguments (36 and 116) and returns a value on at least one probe (32 and 92,
124 in all; the rest cannot be compared). The comparison is on 5
probes, not unit tests: an approximation, used to weigh rules, never to tune on the report part.

Usage (repository root, one BLAS thread; ENIGMA_HOME holding the ``enigma data code --pypi``
library): ``python bench/code/dev_pairs.py [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from enigma_code.answer import DEFAULT_DRAFTS, DEFAULT_RETRIEVED, check_all
from enigma_code.candidates import load_library
from enigma_code.generate import CodeModel, CodeOptions
from enigma_code.qa import read_pairs
from enigma_code.sandbox import probe_candidate, resolve_isolation
from enigma_code.sandbox_isolation import Isolation
from enigma_code.verify import Call, entry_of, probe_calls

ROOT = Path(__file__).resolve().parents[2]
FILES = ("code_training_extra.txt", "code_training.txt")


def _values(code: str, calls: Sequence[Call], iso: Isolation) -> list[str] | None:
    """What ``code``'s last function returns on ``calls`` (exceptions by type), or None."""
    entry, _ = entry_of(code)
    result, got = probe_candidate(code, entry, calls, iso, timeout=2.0)
    if result.status != "ran":
        return None
    return [repr(v) if ok else "raised " + str(v).split(":")[0] for ok, v in got]


def main() -> None:
    """Run every pair, print right / wrong / no answer per file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    iso = resolve_isolation()
    model = CodeModel.load(None)
    library = load_library(None)
    totals: dict[str, dict[str, int]] = {}
    for name in FILES:
        counts = totals.setdefault(name, {"pairs": 0, "right": 0, "wrong": 0, "no_answer": 0})
        for pair in read_pairs(ROOT / "data" / "specialized" / name):
            entry, params = entry_of(pair.completion)
            if not entry or not params:
                continue  # nothing to call it with
            calls = probe_calls(pair.prompt, params)
            want = _values(pair.completion, calls, iso)
            if want is None or all(v.startswith("raised ") for v in want):
                continue
            counts["pairs"] += 1
            checked = check_all(
                model, pair.prompt, iso, CodeOptions(), DEFAULT_DRAFTS, library, DEFAULT_RETRIEVED
            )
            answer = checked.answer(use_retrieved=True)
            if not answer.verified:
                counts["no_answer"] += 1
                continue
            same_arity = len(entry_of(answer.code)[1]) == len(params)
            right = same_arity and _values(answer.code, calls, iso) == want
            counts["right" if right else "wrong"] += 1
    if args.json:
        print(json.dumps(totals))
        return
    for name, counts in totals.items():
        print(f"{name:28} {counts}")


if __name__ == "__main__":
    sys.exit(main())
