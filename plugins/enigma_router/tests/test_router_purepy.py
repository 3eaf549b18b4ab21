"""The numpy-free forward pass (``purepy.py``) gives the numpy path's answers (issue 21).

Same intent, same alternatives in the same order, probabilities and unknown scores within float32
rounding, on the shipped router over the held-out file and on a router trained here on a
banking77 sample (its stored examples make the unknown score and the rejection budget live;
skipped without ``<repo>/../shared/benchmarks``). A real ``enigma classify`` process never
imports numpy, and a fresh process switches to the numpy model exactly when it should.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BENCH = REPO.parent / "shared" / "benchmarks" / "banking77"
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"
DEFAULT = REPO / "plugins" / "enigma_router" / "enigma_router" / "default_model"
ENIGMA = str(Path(sys.executable).with_name("enigma"))
TOLERANCE = 1e-5
ODD_TEXTS = [
    "",
    "   ",
    "?!",
    "Ünïcödé wörds, ça va? 東京 へ 行く",
    "a a a a a the the the",
    "-40 C to F",
    "x" * 300,
    "draw me a cat\nwith a hat\ttoday",
]


def _texts(path: Path) -> list[str]:
    from enigma_router.evaluate import load_labelled

    return load_labelled(path)[0]


@pytest.fixture(scope="module")
def banking(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A router on 12 banking77 intents x 40 examples plus a learned ``oos`` label, budget 0.1."""
    if not (BENCH / "train.jsonl").is_file():
        pytest.skip(f"benchmarks not found at {BENCH}")
    from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe

    from enigma_core.training.run import TrainArgs, run_training

    rows = [json.loads(line) for line in (BENCH / "train.jsonl").open(encoding="utf-8")]
    intents = sorted({r["intent"] for r in rows})
    inside, outside = set(intents[::6][:12]), set(intents[1::6][:10])
    seen: dict[str, int] = {}
    kept = []
    for r in rows:
        label = r["intent"] if r["intent"] in inside else "oos"
        if r["intent"] not in inside | outside or seen.get(label, 0) >= 40:
            continue
        seen[label] = seen.get(label, 0) + 1
        kept.append({"text": r["text"], "intent": label})
    tmp = tmp_path_factory.mktemp("purepy")
    train = tmp / "train.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    out = tmp / "model"
    run_training(
        make_router_recipe(None, hyper=DEFAULT_HYPER.replace(epochs=4)),
        TrainArgs(
            out=out,
            data=(train,),
            progress=False,
            threads=1,
            checkpoint_every=0,
            checkpoint_seconds=0,
        ),
    )
    test = [json.loads(line)["text"] for line in (BENCH / "test.jsonl").open(encoding="utf-8")]
    return {"out": out, "texts": test[::5]}


def _same(pure: object, full: object, texts: list[str], budgets: tuple) -> int:
    """Compare ``classify`` and ``scored`` of both over ``texts``; the number of checks."""
    checks = 0
    for budget in budgets:
        for text in texts:
            a = pure.classify(text, 3, budget)  # type: ignore[attr-defined]
            b = full.classify(text, 3, budget)  # type: ignore[attr-defined]
            assert a[0] == b[0], (text, budget, a, b)
            assert [x for x, _ in a[2]] == [x for x, _ in b[2]], (text, budget, a, b)
            assert abs(a[1] - b[1]) <= TOLERANCE, (text, a, b)
            for (_, p), (_, q) in zip(a[2], b[2], strict=True):
                assert abs(p - q) <= TOLERANCE, (text, a, b)
            pa, sa, la = pure.scored(pure.bag_sum(text), budget)  # type: ignore[attr-defined]
            pb, sb, lb = full.scored(full.bag_sum(text), budget)  # type: ignore[attr-defined]
            assert max(abs(x - float(y)) for x, y in zip(pa, pb, strict=True)) <= TOLERANCE
            assert (sa is None) == (sb is None) and la == lb
            if sa is not None:
                assert abs(sa - float(sb)) <= TOLERANCE, (text, sa, sb)
            checks += 1
    return checks


def test_hashing_twin_matches_features() -> None:
    """Word and char n-gram keys of the pure twin are those of ``features.py``."""
    from enigma_router import features, purepy

    for spec in (features.FeatureSpec(), features.FeatureSpec(word_n=3, boundaries=False)):
        hasher = features.Hasher(spec)
        for text in [*_texts(HELDOUT)[:200], *ODD_TEXTS]:
            words = features.tokens(text, spec.lowercase)
            assert purepy.tokens(text, spec.lowercase) == words
            assert purepy.word_keys(words, spec.word_n, spec.boundaries) == hasher.word_keys(words)
            for word in words:
                assert purepy.char_keys(word, spec.char_min, spec.char_max) == (
                    features.char_keys(word, spec)
                )


def test_threshold_twin_matches_unknown() -> None:
    """The budget look-up without numpy reads the same curve point as ``unknown.py``'s."""
    from enigma_router import purepy, unknown

    rng = __import__("random").Random(0)
    scores = [rng.random() for _ in range(300)]
    import numpy as np

    curve = unknown.fit_curve(np.array(scores), np.ones(300, bool), None)
    for budget in [0.0, 1e-9, 0.005, 0.0049999, 0.01, 0.1, 0.123, 0.5, 0.7, 1.0, -1.0]:
        assert purepy.threshold_for(curve, budget) == unknown.threshold_for(curve, budget)
    assert purepy.threshold_for([], 0.1) == unknown.threshold_for([], 0.1)


def test_default_router_same_answers_on_heldout() -> None:
    """The shipped router: every held-out request, odd inputs, several budgets and knobs."""
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import _load_pure

    texts = [*_texts(HELDOUT), *ODD_TEXTS]
    checks = _same(_load_pure(DEFAULT), RouterModel.load(DEFAULT), texts, (None, 0.0, 0.2))
    assert checks == 3 * len(texts) > 600
    knobs = {"threshold": 0.9, "margin": 0.3, "temperature": 2.0}
    assert _same(_load_pure(DEFAULT, **knobs), RouterModel.load(DEFAULT, **knobs), texts, (None,))


def test_banking77_router_same_answers_and_unknown_scores(banking: dict) -> None:
    """Unknown scores and budgets live, a learned ``oos`` label: same decisions, same scores."""
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import _load_pure

    pure, full = _load_pure(banking["out"]), RouterModel.load(banking["out"])
    assert pure.has_examples and pure.oos_index >= 0
    assert full.calibration.unknown_threshold is not None
    texts = [*banking["texts"], *ODD_TEXTS]
    _same(pure, full, texts, (None, 0.0, 0.05, 0.3))
    decisions = {pure.classify(t)[0] for t in texts}
    assert "oos" in decisions and len(decisions) > 5  # both rules were exercised


def test_routing_classify_same_classification(banking: dict) -> None:
    """``routing.classify`` through a :class:`LazyRouter` forced pure, and the numpy model."""
    from enigma_router import routing
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import LazyRouter, _load_pure

    lazy = LazyRouter(_load_pure(banking["out"]))
    full = RouterModel.load(banking["out"])
    for text in banking["texts"][:150]:
        for budget in (None, 0.3):
            a = routing.classify(lazy.pure, text, budget=budget)
            b = routing.classify(full, text, budget=budget)
            assert (a.intent, [i for i, _ in a.alternatives]) == (
                b.intent,
                [i for i, _ in b.alternatives],
            )
            assert abs(a.confidence - b.confidence) <= TOLERANCE
            assert a.details.get("reason") == b.details.get("reason")
            assert a.details.get("calibration") == b.details.get("calibration")
    assert lazy.is_pure
    explained = routing.classify(lazy, banking["texts"][0], explain=True)  # needs numpy
    assert explained.details["explain"]["nearest"] and not lazy.is_pure
    assert lazy.bag_sums(["hello"]).shape == (1, full.width)  # forwarded to the numpy model


SWITCH_SCRIPT = """
import json, sys
from enigma_router import purepy, routing
model = routing.load_router(sys.argv[1])
out = {"lazy": isinstance(model, purepy.LazyRouter), "steps": []}
texts = json.loads(sys.argv[2])
for i, text in enumerate(texts):
    if i == len(texts) - 2:
        model.builder.join()  # started by the second request
    c = routing.classify(model, text)
    out["steps"].append([c.intent, c.confidence, model.is_pure, "numpy" in sys.modules])
print(json.dumps(out))
"""


def test_fresh_process_answers_without_numpy_then_switches() -> None:
    """In a process without numpy: the first request imports nothing, the second starts the
    numpy model's build in a background thread, answers go on in pure Python until it is done
    and from the numpy model afterwards; every answer is the numpy model's."""
    from enigma_router.inference import RouterModel

    texts = _texts(HELDOUT)[:6]
    done = subprocess.run(
        [sys.executable, "-c", SWITCH_SCRIPT, str(DEFAULT), json.dumps(texts)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    out = json.loads(done.stdout)
    assert out["lazy"]
    steps = out["steps"]
    assert steps[0][2:] == [True, False]  # pure, numpy not imported
    assert steps[1][2] is True  # pure while the build starts
    assert [s[2:] for s in steps[-2:]] == [[False, True]] * 2  # the numpy model once built
    full = RouterModel.load(DEFAULT)
    for text, (intent, confidence, _, _) in zip(texts, steps, strict=True):
        label, p, _ = full.classify(text)
        assert intent == label and abs(confidence - p) <= TOLERANCE


NO_NUMPY = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("numpy imported: %s\\n" % ("numpy" in sys.modules)))
from enigma_core.cli.main import run
sys.argv[0] = "enigma"
run()
"""


@pytest.mark.parametrize(
    "args",
    [
        ["classify", "draw me a cat wearing a hat"],
        ["classify", "--json", "hello there"],
        ["classify", "--oos-budget", "0.2", "what is in photo.png?"],
        ["route", "--json", "hello there"],
    ],
)
def test_cli_single_request_imports_no_numpy(args: list[str]) -> None:
    """``enigma classify``/``route`` of one request: no numpy, same output as the numpy path."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", NO_NUMPY, *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "numpy imported: False" in done.stderr
    if args[0] == "classify" and "--json" in args:
        from enigma_core.engine import EnigmaEngine

        got = json.loads(done.stdout)
        want = EnigmaEngine().classify(args[-1]).to_dict()
        assert got["intent"] == want["intent"]
        assert abs(got["confidence"] - want["confidence"]) <= TOLERANCE
