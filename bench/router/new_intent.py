"""A new intent before and after retraining: keywords only vs nearest neighbours vs a retrain.

A plugin ``reminders`` (registered in-process, as an embedder would) brings intent ``reminder``
with the 20 example requests of ``new_intent/reminder_examples.txt`` and the keywords ``remind``,
``alarm``, ``timer``. The router (``--model``, default: the shipped one) has never seen it.
Three ways to route the 40 held-out phrasings of ``new_intent/reminder_heldout.txt`` (plus the
206 of ``data/specialized/router_heldout.txt``, to see what the new intent takes from others):

1. keywords: how the core routed an intent unknown to the model before (no neighbours);
2. neighbours: the router matches the task's examples (``newintents.py``), no retraining;
3. retrained: ``enigma train router`` with the plugin installed (its examples join the data).

Usage: ``python bench/router/new_intent.py [--model DIR] [--json]`` (1 thread, ~10 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import types
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KEYWORDS = ("remind", "alarm", "timer")


def reminders_plugin(examples: tuple[str, ...]) -> types.SimpleNamespace:
    """The in-process plugin owning intent ``reminder`` (tasks only: routing is what we test)."""
    from enigma_core.hookspecs import hookimpl
    from enigma_core.types import TaskSpec

    def register(register):  # type: ignore[no-untyped-def]
        register(
            TaskSpec(name="reminders", intents=("reminder",), keywords=KEYWORDS, examples=examples)
        )

    return types.SimpleNamespace(__name__="reminders", enigma_register_tasks=hookimpl(register))


def engine(model: Path | None, examples: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A routing engine with every installed plugin plus ``reminders``."""
    from enigma_core import EnigmaEngine
    from enigma_core.plugins import build_plugin_manager

    manager = build_plugin_manager(extra=[("reminders", reminders_plugin(examples))])
    return EnigmaEngine(use_routing=True, plugin_manager=manager, router_model=model, log=False)


def score(eng, texts: list[str], gold: list[str], keywords_only: bool = False) -> dict:  # type: ignore[no-untyped-def]
    """Accuracy of the engine's decisions (``keywords_only``: the core's old path for an
    intent the model does not know: model answer unless keywords name the new intent)."""
    right = 0
    times = []
    for text, want in zip(texts, gold, strict=True):
        start = time.perf_counter()
        c = eng.classify(text, {"new_intents": False}) if keywords_only else eng.classify(text)
        times.append(time.perf_counter() - start)
        right += c.intent == want
    times.sort()
    return {
        "accuracy": round(right / len(texts), 4),
        "p50_ms": round(1000 * times[len(times) // 2], 3),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print them (see module doc)."""
    from enigma_router.evaluate import load_labelled
    from enigma_router.recipe import make_router_recipe

    from enigma_core.training.run import TrainArgs, run_training

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    examples = tuple(
        line
        for line in (HERE / "new_intent" / "reminder_examples.txt").read_text().splitlines()
        if line.strip()
    )
    new = [
        line
        for line in (HERE / "new_intent" / "reminder_heldout.txt").read_text().splitlines()
        if line.strip()
    ]
    old_texts, old_gold = load_labelled(REPO / "data" / "specialized" / "router_heldout.txt")
    sets = {
        "reminder (40 new phrasings)": (new, ["reminder"] * len(new)),
        "other intents (206 held-out)": (old_texts, old_gold),
    }
    before = engine(args.model, examples)
    results: dict = {"examples": len(examples)}
    for name, keywords_only in (("keywords only", True), ("nearest neighbours", False)):
        results[name] = {k: score(before, t, g, keywords_only) for k, (t, g) in sets.items()}
    with tempfile.TemporaryDirectory(prefix="enigma-new-intent-") as tmp:
        os.environ["ENIGMA_HOME"] = str(Path(tmp) / "home")
        out = Path(tmp) / "router"
        start = time.perf_counter()
        run_training(
            make_router_recipe(before.context()),
            TrainArgs(
                out=out, progress=False, threads=1, seed=0, checkpoint_every=0, checkpoint_seconds=0
            ),
        )
        results["retrain_seconds"] = round(time.perf_counter() - start, 2)
        after = engine(out, examples)
        results["retrained"] = {k: score(after, t, g) for k, (t, g) in sets.items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("| routing of the new intent | " + " | ".join(sets) + " |")
    print("|---|" + "---:|" * len(sets))
    for name in ("keywords only", "nearest neighbours", "retrained"):
        row = results[name]
        cells = " | ".join(
            f"{100 * row[k]['accuracy']:.1f} % ({row[k]['p50_ms']:.2f} ms p50)" for k in sets
        )
        print(f"| {name} | {cells} |")
    print(f"\nretraining took {results['retrain_seconds']} s (in-process, 1 thread)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
