"""Decoding speed of this checkout against another git revision, measured in the same run.

Each round runs one child process per side (old, new, alternating, one BLAS thread each) on
the shipped code and caption models: raw ``generate_ids`` tokens/s (no early stop), guided
code answers (``write_code``) tokens/s and constrained captions tokens/s, per CPU second of the
child (so other load on a shared machine counts less). Medians over the rounds and the new/old
ratio are printed as JSON.

Usage: ``python bench/decoding/compare.py REV [--rounds N]`` from the repository root (REV is
extracted with ``git archive`` into a temporary folder; its plugins' public APIs are used).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
REQUESTS = (
    "write a function that reverses a string",
    "write a function that returns the sum of a list of numbers",
    "how do I read a csv in python",
    "implement binary search in python",
)
CHILD = r"""
import json, sys, time
from enigma_code.generate import CodeModel, CodeOptions, write_code
from enigma_core.inference import SamplingParams, generate_ids
from enigma_vision.model import load_captioner
from enigma_vision.features import parse_features
from enigma_vision.words import FUNCTION_WORDS

clock = time.process_time  # CPU seconds: other processes on a shared machine do not count
REQUESTS = json.loads(sys.argv[1])
code = CodeModel.load()
raw_tokens, raw_s = 0, 0.0
for request in REQUESTS:
    start = clock()
    out = list(generate_ids(code.model, code.prompt_ids(request), SamplingParams(200)))
    raw_s += clock() - start
    raw_tokens += len(out)
code_tokens, code_s = 0, 0.0
for request in REQUESTS * 2:
    start = clock()
    answer = write_code(code, request, CodeOptions(max_attempts=1))
    code_s += clock() - start
    code_tokens += answer.tokens
captioner = load_captioner(None)
texts = ["person, smiling, beach", "1 red circle center, white background",
         "2 blue squares top left, green background", "3 people, park, trees"]
cap_tokens, cap_s = 0, 0.0
for text in texts * 3:
    features = parse_features(text)
    allowed = features.vocabulary() | FUNCTION_WORDS
    start = clock()
    caption = captioner.generate(features.to_text(), allowed)
    cap_s += clock() - start
    cap_tokens += len(captioner.tokenizer.encode(caption)) + 1
print(json.dumps({"raw_tokens_per_cpu_s": raw_tokens / raw_s,
                  "code_tokens_per_cpu_s": code_tokens / code_s,
                  "caption_tokens_per_cpu_s": cap_tokens / cap_s}))
"""


def child(root: Path) -> dict[str, float]:
    """One measurement with the sources under ``root`` first on the path."""
    paths = [root, root / "plugins/enigma_code", root / "plugins/enigma_vision"]
    env = dict(os.environ, **{var: "1" for var in THREAD_VARS})
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in paths)
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(REQUESTS)],
        capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{root}: benchmark child failed: {proc.stderr.strip()[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Extract REV, alternate old/new children, print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("rev", help="the baseline git revision (e.g. main)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "archive", args.rev], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", folder], input=archive, check=True)
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for _ in range(max(1, args.rounds)):
            runs["old"].append(child(Path(folder)))
            runs["new"].append(child(ROOT))
    report: dict[str, object] = {"baseline": args.rev, "rounds": args.rounds}
    for key in runs["old"][0]:
        old = statistics.median(r[key] for r in runs["old"])
        new = statistics.median(r[key] for r in runs["new"])
        report[key] = {"old": round(old, 1), "new": round(new, 1), "ratio": round(new / old, 3)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
