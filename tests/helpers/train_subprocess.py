"""Run one small training in its own process (used by the Ctrl-C / kill -9 resume tests).

    python train_subprocess.py --workdir DIR --out OUT [--resume] [--slow S] [--every N]

``--slow`` sleeps S seconds per step so the test can interrupt it mid-run; training results do
not depend on it. Uses one torch thread so the result is bit-identical to in-process runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tiny_data

from enigma_core.errors import EnigmaError
from enigma_core.tokenizer import SharedTokenizer


def main() -> int:
    """Parse options, train, print one summary line; EnigmaError -> exit 1."""
    p = argparse.ArgumentParser()
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--slow", type=float, default=0.0)
    p.add_argument("--every", type=int, default=2)
    a = p.parse_args()

    from enigma_core.training import heads
    from enigma_core.training.run import TrainArgs, run_training

    recipe = tiny_data.lm_recipe(**tiny_data.KILL_TEST_HYPER)
    if a.slow:

        def slow_loss(model, batch):  # type: ignore[no-untyped-def]
            """The LM loss after a pause, so the test can interrupt mid-run."""
            time.sleep(a.slow)
            return heads.lm_loss(model, batch)

        recipe.loss = slow_loss
    args = TrainArgs(
        out=a.out,
        data=(a.workdir / "qa_train.txt",),
        resume=a.resume,
        progress=False,
        checkpoint_every=a.every,
        threads=1,
        seed=3,
    )
    tok = SharedTokenizer.load(a.workdir / "tok.model")
    try:
        outcome = run_training(recipe, args, tokenizer=tok)
    except EnigmaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"done {outcome.steps} {outcome.best_value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
