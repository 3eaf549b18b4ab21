#!/usr/bin/env python3
"""A tour of enigma's Python API: routing, the router model, training, and the plugin view.

Run it in a venv where enigma-core (and any plugins you like) are installed:

    python examples/specialized_routing_example.py            # routing, router, plugins
    python examples/specialized_routing_example.py --train    # also trains a 1-epoch router

Every part works with whatever is installed: a missing plugin or an untrained router model is
reported in one line, never a traceback. The test suite runs this file, so it stays current.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from enigma_core import EnigmaEngine
from enigma_core.errors import EnigmaError

REQUESTS = (
    "hello there!",
    "what is 17% of 240",
    "write a function that reverses a string",
    "describe a photo of a dog playing in the snow",
    "draw me a cat wearing a hat",
)


def section(title: str) -> None:
    """Print a section heading."""
    print(f"\n== {title} ==")


def basic_routing(engine: EnigmaEngine) -> None:
    """``generate`` (the one-call API), then ``route`` and ``classify`` for the details."""
    section("1. basic routing: EnigmaEngine(use_routing=True).generate(prompt)")
    print(f"  generate('hello there!') -> {engine.generate('hello there!').splitlines()[0]}")

    print("\n.route(text, options=...): intent, how it was decided, the task and its answer")
    for text in REQUESTS:
        try:  # options are per-call switches for the task (here: keep generations short)
            result = engine.route(text, options={"max_new_tokens": 64, "max_attempts": 1})
        except EnigmaError as exc:  # e.g. a specialist whose model is not trained yet
            print(f"  {text!r}\n      error: {exc}")
            continue
        c = result.classification
        answer = result.output.strip().splitlines()[0] if result.output.strip() else ""
        print(f"  {text!r}\n      {c.intent} {c.confidence:.2f} via {c.via} -> {result.task}")
        print(f"      {answer[:100]}")
    if "math" not in engine.tasks:
        print("  tip: pip install ./examples/enigma_math and '17% of 240' gets an exact answer")

    print("\n.classify(text): the intent only, no task is run")
    for text in REQUESTS:
        c = engine.classify(text)
        others = ", ".join(f"{i} {p:.2f}" for i, p in c.alternatives) or "-"
        print(f"  {c.intent:<8} {c.confidence:.2f} via {c.via:<8} (also: {others})  {text!r}")


def direct_router_access(engine: EnigmaEngine) -> None:
    """Load the router model directly when one exists; say what to do when it doesn't."""
    section("2. direct router access: engine.load('router')")
    if "router" not in engine.tasks:
        print("  enigma-router is not installed: routing uses keywords.")
        print("  install it with: pip install ./plugins/enigma_router")
        return
    status = engine.router_status()
    if not status.get("model"):
        print("  no router model trained yet: routing uses keywords (train one: see part 3).")
        return
    try:
        router = engine.load("router")
    except EnigmaError as exc:
        print(f"  the router model could not be loaded: {exc}")
        return
    print(f"  loaded {type(router).__name__} from {status.get('path')}")
    labels = getattr(router, "labels", None)
    if labels is not None:
        print(f"  labels: {', '.join(map(str, labels))}")
    if status.get("stale"):
        print(f"  note: {status['hint']}")
    print(f"  loaded models: {engine.loaded()}; unload -> {engine.unload('router')}")


def training_workflow(engine: EnigmaEngine, train: bool) -> None:
    """The commands that train each specialist; with ``--train``, a 1-epoch router for real."""
    section("3. training workflow")
    specialists = [name for name in engine.tasks if name not in ("chat", "router")]
    print("  enigma tokenizer info           # the one shared tokenizer every model uses")
    for name in specialists:
        print(f"  enigma train {name:<18} # the {name} plugin's recipe and default data")
    print("  enigma train router             # learns every installed intent from the plugins'")
    print("                                  # examples; re-run after adding/removing a plugin")
    print('  enigma route "what is 17% of 240" --json')
    if not train:
        print("  (run with --train to train a tiny router model now)")
        return
    try:
        from enigma_core.training.run import TrainArgs, run_training

        recipe = engine.training_recipe("router")
        with tempfile.TemporaryDirectory() as tmp:
            args = TrainArgs(out=Path(tmp) / "router", epochs=1, size="nano", threads=1)
            outcome = run_training(recipe, args, tokenizer=engine.tokenizer())
            print(
                f"  trained {outcome.task} in {outcome.train_seconds:.1f} s: "
                f"{outcome.metric}={outcome.best_value}"
            )
    except (EnigmaError, ImportError) as exc:
        print(f"  cannot train here: {exc}")


def plugin_view(engine: EnigmaEngine) -> None:
    """What is installed: one module entry per task, one record per plugin."""
    section("4. modules and plugins: engine.modules(), engine.plugin_records()")
    for module in engine.modules():
        provides = ",".join(module.provides) or "-"
        requires = ",".join(module.requires) or "-"
        print(
            f"  module {module.id:<16} task={module.task:<8} plugin={module.plugin or '-':<8} "
            f"provides={provides} requires={requires}"
        )
    for record in engine.plugin_records():
        status = record.status if record.status != "error" else f"error: {record.error}"
        print(
            f"  plugin {record.name:<12} {record.distribution or '-'} {record.version or ''}"
            f"  tasks={','.join(record.tasks) or '-'}  {status}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the four parts of the tour; exit 0 unless enigma itself is broken."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", action="store_true", help="train a 1-epoch router model")
    args = parser.parse_args(argv)
    try:
        engine = EnigmaEngine(use_routing=True)
        basic_routing(engine)
        direct_router_access(engine)
        training_workflow(engine, args.train)
        plugin_view(engine)
    except EnigmaError as exc:
        print(f"enigma: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
