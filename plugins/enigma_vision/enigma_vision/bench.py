"""Times file → caption per image with one thread; run as a subprocess so the limit holds.

``python -m enigma_vision.bench N [MODEL_DIR]`` prints one JSON object; the CLI command starts
it with ``OMP_NUM_THREADS=1`` (and friends) set before numpy is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")  # fmt: skip


def _percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def run_bench(images: int, model_dir: str | None = None) -> dict[str, Any]:
    """Generate ``images`` procedural files, then time describe() on each (after a warm-up)."""
    from enigma_vision.api import default_captioner, describe
    from enigma_vision.model import load_captioner
    from enigma_vision.synth import write_dataset

    captioner = load_captioner(model_dir) if model_dir else default_captioner()
    with tempfile.TemporaryDirectory() as folder:
        write_dataset(folder, images, seed=99991)
        files = sorted(p for p in Path(folder).iterdir() if p.name.startswith("synth_"))
        describe(files[0], captioner)
        totals, features, captions, sources = [], [], [], Counter()
        for file in files:
            start = time.perf_counter()
            result = describe(file, captioner)
            totals.append((time.perf_counter() - start) * 1000)
            features.append(result.timings_ms["features"])
            captions.append(result.timings_ms["caption"])
            sources[result.source] += 1
    return {
        "sample_photos": _sample_photos(captioner),
        "images": len(totals),
        "threads": 1,
        "median_ms": _percentile(totals, 50),
        "p90_ms": _percentile(totals, 90),
        "mean_ms": sum(totals) / len(totals),
        "features_median_ms": _percentile(features, 50),
        "caption_median_ms": _percentile(captions, 50),
        "caption_sources": dict(sources),
        "model": captioner.info(),
    }


def sample_photo_paths() -> list[Path]:
    """Real photos and drawings bundled with matplotlib / scikit-image, when installed."""
    found: list[Path] = []
    try:
        import matplotlib

        root = Path(matplotlib.get_data_path()) / "sample_data"
        found += sorted([*root.glob("*.jpg"), *root.glob("*.png")])
    except ImportError:
        pass
    try:
        import skimage

        found += sorted((Path(skimage.__file__).parent / "data").glob("*.png"))[:12]
    except ImportError:
        pass
    return found


def _sample_photos(captioner: Any) -> list[dict[str, Any]]:
    """Caption each bundled sample photo: caption, source, guard verdict, shapes, time."""
    from enigma_vision.api import describe
    from enigma_vision.guard import problems

    rows = []
    for path in sample_photo_paths():
        start = time.perf_counter()
        result = describe(path, captioner)
        rows.append(
            {
                "file": path.name,
                "caption": result.caption,
                "source": result.source,
                "unsupported": problems(result.caption, result.features),
                "shapes": len(result.features.objects),
                "ms": round((time.perf_counter() - start) * 1000, 1),
            }
        )
    return rows


def run_bench_subprocess(images: int, model_dir: Path | None = None) -> dict[str, Any]:
    """Run :func:`run_bench` in a fresh interpreter limited to one thread."""
    if images < 1:
        raise EnigmaError(f"--images must be at least 1, got {images}")
    env = {**os.environ, **dict.fromkeys(THREAD_VARS, "1")}
    command = [sys.executable, "-m", "enigma_vision.bench", str(images)]
    if model_dir is not None:
        command.append(str(model_dir))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnigmaError(f"vision benchmark failed: {last}")
    return json.loads(done.stdout)


def main(argv: list[str]) -> int:
    """Entry point of the subprocess: ``N [MODEL_DIR]`` → one JSON line."""
    try:
        report = run_bench(int(argv[0]), argv[1] if len(argv) > 1 else None)
    except EnigmaError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
