"""EnigmaEngine.classify_many (issue 13 leftover): the same decisions as classify, one hook
context per batch, the optional batched hook; route's on_decision hook; the server's batches."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from enigma_core import EnigmaEngine
from enigma_core.errors import EnigmaError
from enigma_core.hookspecs import hookimpl
from enigma_core.plugins import build_plugin_manager
from enigma_core.types import Classification, TaskResult, TaskSpec

REPO = Path(__file__).resolve().parents[1]


class Counting:
    """A classifier plugin with both hooks, counting calls; the batch hook may defer."""

    def __init__(self, batch: bool) -> None:
        self.batch = batch
        self.one: list[str] = []
        self.many: list[list[str]] = []
        self.contexts: set[int] = set()

    def _decide(self, text: str) -> Classification:
        if "unsure" in text:
            return Classification("oos", 0.3, "model", [("chat", 0.3)], known_intents=("chat",))
        intent = "echo" if "echo" in text else "chat"
        return Classification(intent, 0.9, "model", [], known_intents=("chat", "echo"))

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="echo", intents=("echo",), keywords=("repeat",)))

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        return TaskResult(output=f"echo: {request}")

    @hookimpl
    def enigma_classify_intent(self, text, context):
        self.one.append(text)
        self.contexts.add(id(context))
        return self._decide(text)

    @hookimpl
    def enigma_classify_intents(self, texts, context):
        self.many.append(list(texts))
        self.contexts.add(id(context))
        return [self._decide(t) for t in texts] if self.batch else None


def _engine(plugin: object, **kwargs: object) -> EnigmaEngine:
    manager = build_plugin_manager(entry_points=False, extra=[("counting", plugin)])
    return EnigmaEngine(use_routing=True, plugin_manager=manager, **kwargs)


TEXTS = ["hello", "echo this", "[E:echo] marked", "I am unsure, repeat it", "I am unsure"]


@pytest.mark.parametrize("batch", [True, False])
def test_same_decisions_as_classify_one_by_one(batch: bool) -> None:
    plugin = Counting(batch)
    engine = _engine(plugin, log=False)
    single = [engine.classify(t).to_dict() for t in TEXTS]
    plugin.one.clear()
    plugin.contexts.clear()
    many = engine.classify_many(TEXTS)
    assert [c.to_dict() for c in many] == single
    assert [c.via for c in many] == ["model", "model", "explicit", "keywords", "model"]
    unmarked = [t for t in TEXTS if not t.startswith("[E:")]
    assert plugin.many == [unmarked]  # the explicit marker never reaches a classifier
    assert plugin.one == ([] if batch else unmarked)  # deferring: one hook call per text
    assert len(plugin.contexts) == 1  # one context for the whole batch


def test_one_text_and_no_text() -> None:
    plugin = Counting(batch=True)
    engine = _engine(plugin, log=False)
    assert engine.classify_many([]) == []
    assert engine.classify_many(["echo"])[0].intent == "echo"
    assert plugin.many == [] and plugin.one == ["echo"]  # a batch of one: the one-text hook


def test_a_bad_text_refuses_the_batch_before_any_is_classified() -> None:
    plugin = Counting(batch=True)
    engine = _engine(plugin, log=False)
    with pytest.raises(EnigmaError, match="empty request"):
        engine.classify_many(["hello", "   "])
    with pytest.raises(EnigmaError, match="request must be text"):
        engine.classify_many(["hello", 3])  # type: ignore[list-item]
    assert plugin.one == [] and plugin.many == []


def test_each_decision_is_logged() -> None:
    from enigma_core.decisions.writer import flush_all

    engine = _engine(Counting(batch=True))
    engine.classify_many(["hello", "echo that", "I am unsure"])
    flush_all()
    conn = sqlite3.connect(Path(os.environ["ENIGMA_HOME"]) / "logs.db")
    try:
        rows = conn.execute("SELECT kind, intent, source FROM decisions").fetchall()
    finally:
        conn.close()
    assert sorted(rows) == [("classify", i, "api") for i in ("chat", "echo", "oos")]


def test_route_tells_on_decision_before_the_task_runs() -> None:
    seen: list[tuple[str, str]] = []

    class Echo(Counting):
        @hookimpl
        def enigma_execute_task(self, task, request, context):
            seen.append(("execute", request))
            return TaskResult(output="ok")

    engine = _engine(Echo(batch=True), log=False)
    result = engine.route("echo me", on_decision=lambda c: seen.append(("decided", c.intent)))
    assert seen == [("decided", "echo"), ("execute", "echo me")]
    assert result.task == "echo"


def test_the_router_batch_gives_what_it_gives_one_by_one() -> None:
    pytest.importorskip("enigma_router")
    engine = EnigmaEngine(use_routing=True, log=False)
    lines = (REPO / "data" / "specialized" / "router_heldout.txt").read_text().splitlines()
    texts = [line.split("\t")[-1].strip() for line in lines if line.strip()][:120]
    texts = [t for t in texts if t and not t.startswith("#")]
    for options in ({}, {"oos_threshold": 0.99}, {"explain": True}):
        single = [engine.classify(t, options) for t in texts]
        many = engine.classify_many(texts, options)
        for a, b in zip(many, single, strict=True):
            assert (a.intent, a.via, a.details.keys()) == (b.intent, b.via, b.details.keys())
            assert [i for i, _ in a.alternatives] == [i for i, _ in b.alternatives]
            assert a.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_server_batches_fail_only_the_bad_request() -> None:
    from enigma_core.serve.settings import ServeSettings
    from enigma_core.serve.state import ServerState, classify_jobs

    plugin = Counting(batch=True)
    state = ServerState(ServeSettings(), _engine(plugin, log=False))
    try:
        jobs = [(["hello"], {}), (["echo it", "unsure"], {}), (["x" * 30_000], {})]
        jobs.append((["echo"], {"oos_threshold": 0.5}))
        out = classify_jobs(state, jobs)
        assert [ok for ok, _ in out] == [True, True, False, True]
        assert [c.intent for _, c in out[1][1]] == ["echo", "oos"]
        assert "too long" in str(out[2][1])
        assert out[3][1][0][0] == "echo"
        # the first group's call was refused (checks come first), then each request alone
        assert plugin.many == [["echo it", "unsure"]]
        samples = state.metrics.classify_seconds.collect()[0].samples
        count = [s.value for s in samples if s.name.endswith("_count")]
        assert count == [4.0]  # observed per text classified
    finally:
        state.shutdown()


def test_plugin_api_version_announces_the_batch_hook() -> None:
    from enigma_core import PLUGIN_API_VERSION
    from enigma_core.hookspecs import HOOK_NAMES

    version = tuple(int(part) for part in PLUGIN_API_VERSION.split("."))
    assert "enigma_classify_intents" in HOOK_NAMES and version >= (1, 2)


def test_a_training_only_option_needs_train_and_stays_off_route() -> None:
    """``TaskOption(route=False)`` (API 1.3) must go on ``enigma train``; route_options drops it."""
    from enigma_core.cli.task_options import DeclaredOption, route_options, train_options
    from enigma_core.types import TaskOption

    with pytest.raises(ValueError, match="route=False needs train=True"):
        TaskOption("--x", "x", "help", kind="flag", route=False)
    only_train = TaskOption("--x", "x", "help", kind="flag", train=True, route=False)
    both = TaskOption("--y", "y", "help", kind="float", train=True)
    declared = [DeclaredOption(task="t", option=only_train), DeclaredOption(task="t", option=both)]
    assert [d.option.flag for d in route_options(declared)] == ["--y"]
    assert [d.option.flag for d in train_options(declared)] == ["--x", "--y"]
