"""Train the real router recipe in its own process (used by the router's Ctrl-C resume test).

    python router_subprocess.py --data FILE --out OUT [--resume] [--slow S]

``--slow`` sleeps S seconds per step so the test can interrupt it mid-run; training results do
not depend on it. One torch thread, so the result is bit-identical to an in-process run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError

HYPER = {"epochs": 10, "batch_size": 32}
"""Shared with the test so both runs train the same thing."""


def train(data: Path, out: Path, resume: bool, slow: float = 0.0, every: int = 4) -> Any:
    """One router training run with checkpoints every ``every`` steps; returns the outcome."""
    from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe

    from enigma_core.training.loop import TrainArgs, run_training

    recipe = make_router_recipe(None, hyper=DEFAULT_HYPER.replace(**HYPER))
    if slow:
        loss = recipe.loss

        def slow_loss(model: Any, batch: Any) -> Any:
            """The router loss after a pause, so the test can interrupt mid-run."""
            time.sleep(slow)
            return loss(model, batch)  # type: ignore[misc]

        recipe.loss = slow_loss
    args = TrainArgs(
        out=out,
        data=(data,),
        resume=resume,
        progress=False,
        checkpoint_every=every,
        checkpoint_seconds=0,
        threads=1,
        seed=1,
    )
    return run_training(recipe, args)


def main() -> int:
    """Parse options, train, print one summary line; EnigmaError -> exit 1."""
    p = argparse.ArgumentParser()
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--slow", type=float, default=0.0)
    a = p.parse_args()
    try:
        outcome = train(a.data, a.out, a.resume, a.slow)
    except EnigmaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"done {outcome.steps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
