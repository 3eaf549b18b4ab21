"""Vision benchmark: held-out procedural accuracy (model and template) plus file → caption speed.

Run from the repository root: ``python bench/vision/run.py [--images 500] [--seed 1234]``.
Writes ``bench/results/vision.json`` (git-ignored) and prints a short summary.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from enigma_vision.api import default_captioner
from enigma_vision.bench import run_bench_subprocess
from enigma_vision.evaluate import evaluate_dir
from enigma_vision.model import Captioner
from enigma_vision.synth import write_dataset

from enigma_core.atomic import atomic_write_json


def main() -> None:
    """Generate a held-out set, score both caption paths, time the default path."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--speed-images", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(folder, args.images, seed=args.seed)
        model = default_captioner()
        report = {
            "held_out": {"images": args.images, "seed": args.seed},
            "model": evaluate_dir(folder, model) if model.has_model else None,
            "model_info": model.info(),
            "template": evaluate_dir(folder, Captioner()),
            "speed": run_bench_subprocess(args.speed_images),
        }
    out = Path("bench/results/vision.json")
    atomic_write_json(out, report)
    for name in ("model", "template"):
        if report[name]:
            cap = report[name]["caption"]
            print(
                f"{name:>8}: attribute accuracy {cap['attribute_accuracy']:.3f}, "
                f"hallucination {cap['hallucination_rate']:.3f}, BLEU {report[name]['bleu']:.1f}, "
                f"sources {report[name]['caption_sources']}"
            )
    speed = report["speed"]
    print(f"   speed: median {speed['median_ms']:.1f} ms, p90 {speed['p90_ms']:.1f} ms (1 thread)")
    print(json.dumps({"written": str(out)}))


if __name__ == "__main__":
    main()
