"""The default router: ``enigma train router`` without ``--data`` learns the seed file plus every
installed plugin's example requests, records plugin versions, and routes held-out phrasings."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "data" / "specialized" / "router_training.txt"
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"


@pytest.fixture(scope="module")
def default_router(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Train the default router through the real engine context (seed data + plugin examples)."""
    if not SEED.is_file():
        pytest.skip(f"{SEED} not found")
    from enigma_router.recipe import make_router_recipe

    from enigma_core.engine import EnigmaEngine
    from enigma_core.training.run import TrainArgs, run_training

    context = EnigmaEngine().context()
    out = tmp_path_factory.mktemp("default-router") / "router"
    recipe = make_router_recipe(context, seed_data=SEED)
    outcome = run_training(
        recipe,
        TrainArgs(out=out, progress=False, threads=1, checkpoint_every=0, checkpoint_seconds=0),
    )
    return {"out": out, "context": context, "outcome": outcome}


def test_learns_seed_data_and_plugin_examples(default_router: dict) -> None:
    meta = json.loads((default_router["out"] / "config.json").read_text())
    router = meta["router"]
    tasks = default_router["context"].tasks.values()
    registered = sum(len(t.examples) for t in tasks if t.intents)
    assert router["plugin_examples"] == registered
    assert {"chat", "code", "image", "vision"} <= set(meta["labels"])
    assert "router" in router["plugins"] and all(
        isinstance(v, str) for v in router["plugins"].values()
    )


def test_held_out_phrasings_are_routed(default_router: dict) -> None:
    if not HELDOUT.is_file():
        pytest.skip(f"{HELDOUT} not found")
    from enigma_router.evaluate import evaluate_file
    from enigma_router.inference import RouterModel

    report, _ = evaluate_file(RouterModel.load(default_router["out"]), HELDOUT)
    assert report["accuracy"] > 0.85, report["accuracy"]


def test_routing_functions_give_classifications_without_torch(default_router: dict) -> None:
    import subprocess

    code = (
        "import sys, json\n"
        "from enigma_router.routing import load_router, classify, model_info\n"
        f"m = load_router({str(default_router['out'])!r})\n"
        "c = classify(m, 'draw a red fox in the snow')\n"
        f"info = model_info({str(default_router['out'])!r})\n"
        "print(json.dumps({'intent': c.intent, 'via': c.via, 'known': list(c.known_intents),"
        " 'labels': info['labels'], 'torch': 'torch' in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    assert data["intent"] == "image" and data["via"] == "model"
    assert set(data["known"]) == set(data["labels"]) - {"oos"}
    assert data["torch"] is False


def test_oos_knobs_can_be_overridden_per_call_from_the_cli(default_router: dict) -> None:
    import subprocess

    exe = Path(sys.executable).with_name("enigma")
    base = [str(exe), "classify", "--model", str(default_router["out"]), "--json"]
    text = "tell me about the weather in paris"  # chat, but not with certainty

    def run(*extra: str) -> dict:
        done = subprocess.run([*base, *extra, text], capture_output=True, text=True, check=True)
        return json.loads(done.stdout)

    plain = run()
    assert plain["intent"] == "chat" and plain["confidence"] < 0.999
    strict = run("--oos-threshold", "0.999")
    assert strict["intent"] == "oos" and strict["details"]["calibration"]["threshold"] == 0.999
    assert "unsure" in strict["details"]["reason"] and strict["alternatives"][0]["intent"] == "chat"
    assert run("--oos-margin", "0.999")["intent"] == "oos"
    bad = subprocess.run([*base, "--oos-threshold", "2", text], capture_output=True, text=True)
    assert bad.returncode != 0 and "--oos-threshold" in bad.stderr
