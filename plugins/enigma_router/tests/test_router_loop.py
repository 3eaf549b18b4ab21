"""The router's side of the learning loop: explanations, new intents before retraining, review
labels in training, the route-diff gate, and drift between the router and the plugins.

Two real routers trained on the repository's default data through the real engine context:
one before a ``reminders`` plugin is installed, one after (its 20 examples learned). The plugin
is registered in-process, as an embedder does; everything else is the installed set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SEED = REPO / "data" / "specialized" / "router_training.txt"
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"
NEW = REPO / "bench" / "router" / "new_intent"
ENIGMA = str(Path(sys.executable).with_name("enigma"))


def _lines(path: Path) -> tuple[str, ...]:
    return tuple(x for x in path.read_text(encoding="utf-8").splitlines() if x.strip())


def reminders(examples: tuple[str, ...]) -> types.SimpleNamespace:
    """An in-process plugin owning intent ``reminder`` with ``examples``."""
    from enigma_core.hookspecs import hookimpl
    from enigma_core.types import TaskSpec

    def register(register):  # type: ignore[no-untyped-def]
        spec = TaskSpec(
            name="reminders", intents=("reminder",), keywords=("remind",), examples=examples
        )
        register(spec)

    return types.SimpleNamespace(__name__="reminders", enigma_register_tasks=hookimpl(register))


def engine(model: Path | None, plugin: object | None = None):  # type: ignore[no-untyped-def]
    from enigma_core import EnigmaEngine
    from enigma_core.plugins import build_plugin_manager

    extra = [("reminders", plugin)] if plugin is not None else []
    manager = build_plugin_manager(extra=extra)
    return EnigmaEngine(use_routing=True, plugin_manager=manager, router_model=model, log=False)


def train(out: Path, plugin: object | None) -> Path:
    from enigma_router.recipe import make_router_recipe

    from enigma_core.training.run import TrainArgs, run_training

    recipe = make_router_recipe(engine(None, plugin).context(), seed_data=SEED)
    args = TrainArgs(out=out, progress=False, threads=1, checkpoint_every=0, checkpoint_seconds=0)
    run_training(recipe, args)
    return out


@pytest.fixture(scope="module")
def routers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``before``: trained without the plugin; ``after``: retrained with it installed."""
    if not SEED.is_file():
        pytest.skip(f"{SEED} not found")
    tmp = tmp_path_factory.mktemp("loop")
    examples = _lines(NEW / "reminder_examples.txt")
    return {
        "before": train(tmp / "before", None),
        "after": train(tmp / "after", reminders(examples)),
        "examples": examples,
        "tmp": tmp,
    }


def run(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENIGMA_HOME": str(home), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([ENIGMA, *args], capture_output=True, text=True, env=env, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


# -- explain -----------------------------------------------------------------------------------
def test_explain_lists_nearest_training_examples(routers: dict, tmp_path: Path) -> None:
    model = str(routers["before"])
    text = "write a python script to rename files by date"  # a training example
    done = run("classify", "--model", model, "--explain", "--json", text, home=tmp_path)
    explain = json.loads(done.stdout)["details"]["explain"]
    near = explain["nearest"]
    assert len(near) == 5 and near[0]["text"] == text and near[0]["intent"] == "code"
    assert near[0]["similarity"] >= 0.999
    sims = [n["similarity"] for n in near]
    assert sims == sorted(sims, reverse=True)
    plain = run("classify", "--model", model, "--explain", text, home=tmp_path).stdout
    assert plain.splitlines()[0].startswith("code\t") and f"code         {text}" in plain
    bare = json.loads(run("classify", "--model", model, "--json", text, home=tmp_path).stdout)
    assert "explain" not in bare.get("details", {})


def test_explain_through_context_options(routers: dict) -> None:
    eng = engine(routers["before"])
    c = eng.classify("draw a red fox in the snow", {"explain": True})
    assert c.intent == "image" and c.details["explain"]["nearest"][0]["intent"] == "image"


# -- new intents before retraining -------------------------------------------------------------
def test_new_intent_is_matched_by_its_examples_before_retraining(routers: dict) -> None:
    held = _lines(NEW / "reminder_heldout.txt")
    eng = engine(routers["before"], reminders(routers["examples"]))
    got = [eng.classify(t) for t in held]
    hits = [c for c in got if c.intent == "reminder"]
    assert len(hits) >= 0.7 * len(held), [c.intent for c in got]
    by_examples = [c for c in hits if c.via == "model"]
    assert by_examples and all(c.details.get("new_intent") for c in by_examples)
    assert "reminder" in (by_examples[0].known_intents or ())
    # keywords alone (how the core handled an unknown intent): "wake me at 5 am sharp" is lost
    old = [eng.classify(t, {"new_intents": False}).intent for t in held]
    assert sum(i == "reminder" for i in old) < len(hits)
    assert eng.classify("wake me at 5 am sharp").intent == "reminder"
    assert eng.classify("wake me at 5 am sharp", {"new_intents": False}).intent != "reminder"
    # the other intents keep their routes
    from enigma_router.evaluate import load_labelled

    texts, gold = load_labelled(HELDOUT)
    right = sum(eng.classify(t).intent == g for t, g in zip(texts, gold, strict=True))
    assert right / len(texts) >= 0.94


# -- review labels are trained on --------------------------------------------------------------
def test_train_includes_router_feedback_and_reports_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    labels = [
        {"text": "flip a coin for me", "intent": "chat", "decision": 1, "ts": 1.0},
        {"text": "refactor this loop into a comprehension", "intent": "code", "decision": 2},
    ]
    (home / "data" / "router_feedback.jsonl").write_text(
        "".join(json.dumps(x) + "\n" for x in labels), encoding="utf-8"
    )
    out = tmp_path / "router"
    done = run("train", "router", "--out", str(out), "--epochs", "2", home=home)
    assert "router feedback: 2 labelled request(s)" in done.stderr
    meta = json.loads((out / "config.json").read_text())
    assert meta["router"]["feedback"]["examples"] == 2
    assert meta["data"]["n_train"] + meta["data"]["n_valid"] == 1003 + 12 + 2


# -- route-diff gate ---------------------------------------------------------------------------
def test_route_diff_gate_fails_on_a_worse_router(routers: dict, tmp_path: Path) -> None:
    worse = tmp_path / "worse"
    small = tmp_path / "small.txt"
    small.write_text("\n\n".join(SEED.read_text().split("\n\n")[::12]), encoding="utf-8")
    run(
        "train", "router", "--data", str(small), "--epochs", "2", "--out", str(worse), home=tmp_path
    )
    args = ["eval", "router", "--model", str(routers["before"]), "--data", str(HELDOUT)]
    gate = run(*args, "--compare", str(worse), "--max-drop", "1", home=tmp_path, check=False)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "routes changed" in gate.stdout and "gate FAILED" in gate.stdout
    assert " -> " in gate.stdout and "accuracy per intent" in gate.stdout
    data = json.loads(
        run(*args, "--compare", str(worse), "--max-drop", "100", "--json", home=tmp_path).stdout
    )
    assert data["passed"] and data["accuracy_b"] < data["accuracy_a"]
    assert data["changed"] and {"a", "b", "a_confidence", "b_confidence"} <= set(data["changed"][0])
    same = run(*args, "--compare", str(routers["before"]), home=tmp_path)
    assert "0 of 206 routes changed" in same.stdout and "gate passed" in same.stdout


# -- drift between the router and the installed plugins ----------------------------------------
def test_router_records_where_intents_came_from(routers: dict) -> None:
    router = json.loads((routers["after"] / "config.json").read_text())["router"]
    assert router["intent_sources"]["reminder"] == "reminders"
    assert router["intent_sources"]["code"] == "code"
    assert len(router["example_hashes"]["reminders"]) == 64


def test_changed_examples_make_the_router_stale(routers: dict) -> None:
    same = engine(routers["after"], reminders(routers["examples"])).router_status()
    assert same["stale"] is False and same["changed_examples"] == []
    upgraded = reminders((*routers["examples"], "remind me to stand up every hour"))
    status = engine(routers["after"], upgraded).router_status()
    assert status["stale"] is True and status["changed_examples"] == ["reminders"]
    assert "example requests changed for: reminders" in status["hint"]


def test_orphaned_intent_names_the_plugin_it_came_from(routers: dict) -> None:
    eng = engine(routers["after"])  # the reminders plugin was uninstalled
    status = eng.router_status()
    assert status["stale"] is True and status["orphaned_intents"] == {"reminder": "reminders"}
    assert "from plugin 'reminders'" in status["hint"]
    result = eng.route("remind me to call the dentist tomorrow at 9")
    assert result.task == "chat"
    assert "plugin 'reminders'" in result.classification.details["reason"]
