"""Reproduce the code plugin's reported figures: speed (``enigma bench code``) and quality
(``enigma eval code``), saved as JSON under ``bench/results/`` and printed as a table.

Usage: ``python bench/code/run.py [--model DIR] [--limit N]`` from the repository root.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def enigma(*args: str) -> dict[str, object]:
    """Run an ``enigma`` subcommand with ``--json`` and return its JSON output."""
    cmd = [str(Path(sys.executable).parent / "enigma"), *args, "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure, save and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None, help="model directory (default: shipped)")
    parser.add_argument("--limit", type=int, default=200, help="held-out prompts to generate")
    args = parser.parse_args()
    model = ["--model", args.model] if args.model else []
    speed = enigma("bench", "code", *model)
    quality = enigma("eval", "code", *model, "--limit", str(args.limit))
    result = {
        "machine": platform.processor() or platform.machine(),
        "speed": speed,
        "quality": quality,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out = ROOT / "bench" / "results" / "code.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    h, s = quality["heldout"], quality["suite"]
    rows = [
        ("held-out perplexity", h["perplexity"]),
        ("held-out answers that parse", f"{h['parse_rate']:.1%} of {h['generated']}"),
        ("  ... on the first attempt", f"{h['first_attempt_parse_rate']:.1%}"),
        ("held-out exact match", f"{h['exact_match']:.1%}"),
        ("suite pass@1", f"{s['pass_at_1']:.1%} of {s['tasks']}"),
        ("decode tokens/s (1 thread, batch 1)", speed["decode_tokens_per_s"]),
        ("end-to-end tokens/s", speed["end_to_end_tokens_per_s"]),
        ("first token (ms)", speed["first_token_ms"]),
    ]
    print("| figure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    print(f"\nsaved {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
