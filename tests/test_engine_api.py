"""The Python API: EnigmaEngine routing, lazy thread-safe loading, module view, config."""

from __future__ import annotations

import json
import threading
import time
import types
from pathlib import Path

import pytest

from enigma_core import EnigmaEngine
from enigma_core.config import load_config
from enigma_core.errors import EnigmaError, PluginError
from enigma_core.hookspecs import hookimpl
from enigma_core.plugins import build_plugin_manager
from enigma_core.training.recipe import TrainingRecipe
from enigma_core.types import Classification, TaskResult, TaskSpec


def _plugin(name: str, **hooks: object) -> types.SimpleNamespace:
    """A plugin object built from hook functions (how an embedder registers one in-process)."""
    return types.SimpleNamespace(__name__=name, **hooks)


class SlowModelPlugin:
    """A real plugin whose model takes a while to load, counting loads."""

    def __init__(self) -> None:
        self.loads = 0

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="slow", intents=("slow",), keywords=("slowly",)))

    @hookimpl
    def enigma_load_model(self, task, model_dir, context):
        self.loads += 1
        time.sleep(0.2)
        return {"weights": [1, 2, 3]}

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        model = context.model("slow")
        context.emit("part1 ")
        context.emit("part2")
        return TaskResult(output="part1 part2", data={"n": len(model["weights"])})


def _engine(*plugins: tuple[str, object], use_routing: bool = True) -> EnigmaEngine:
    manager = build_plugin_manager(entry_points=False, extra=list(plugins))
    return EnigmaEngine(use_routing=use_routing, plugin_manager=manager)


def test_two_threads_load_the_model_once() -> None:
    plugin = SlowModelPlugin()
    engine = _engine(("slow", plugin))
    results: list[object] = []
    threads = [
        threading.Thread(target=lambda: results.append(engine.load("slow"))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert plugin.loads == 1
    assert all(r is results[0] for r in results)
    assert engine.loaded() == ["slow"]
    assert engine.unload("slow") is True
    assert engine.loaded() == [] and engine.unload("slow") is False
    engine.load("slow")
    assert plugin.loads == 2


def test_route_streams_and_reports_timings() -> None:
    engine = _engine(("slow", SlowModelPlugin()))
    pieces: list[str] = []
    result = engine.route("do it slowly please", emit=pieces.append)
    assert pieces == ["part1 ", "part2"]
    assert result.task == "slow" and result.plugin == "slow"
    assert result.classification.via == "keywords"
    assert result.data == {"n": 3}
    assert set(result.timings_ms) == {"classify", "execute"}
    assert json.loads(json.dumps(result.to_dict()))["intent"] == "slow"


def test_generate_uses_default_task_unless_routing() -> None:
    plugin = SlowModelPlugin()
    assert _engine(("slow", plugin), use_routing=True).generate("go slowly") == "part1 part2"
    answer = _engine(("slow", SlowModelPlugin()), use_routing=False).generate("go slowly")
    assert "no chat model" in answer  # the built-in default task answered, not the slow one


def test_model_classifier_wins_and_oos_goes_to_default() -> None:
    def classify(text, context):
        if "unsure" in text:
            return Classification("oos", 0.2, "model", [("oos", 0.2)])
        return Classification("slow", 0.97, "model", [("slow", 0.97)])

    engine = _engine(
        ("slow", SlowModelPlugin()),
        ("clf", _plugin("clf", enigma_classify_intent=hookimpl(classify))),
    )
    assert engine.classify("anything").via == "model"
    routed = engine.route("I am unsure")
    assert routed.task == "chat" and routed.classification.via == "default"
    assert routed.classification.details["routed_from"] == "oos"


def test_model_unaware_of_new_intent_falls_back_to_keywords() -> None:
    def classify(text, context):
        return Classification("chat", 0.9, "model", known_intents=("chat",))

    engine = _engine(
        ("slow", SlowModelPlugin()),
        ("clf", _plugin("clf", enigma_classify_intent=hookimpl(classify))),
    )
    result = engine.classify("run this slowly")
    assert result.intent == "slow" and result.via == "keywords"
    assert engine.classify("hello").intent == "chat"


def test_duplicate_task_names_are_refused() -> None:
    def register(register):
        register(TaskSpec(name="chat", intents=("chat",)))

    manager = build_plugin_manager(
        entry_points=False,
        extra=[("dup", _plugin("dup", enigma_register_tasks=hookimpl(register)))],
    )
    record = manager.records["dup"]
    assert record.status == "error"
    assert "already registered by plugin 'builtin'" in record.error
    assert manager.task_owner["chat"] == "builtin"


def test_strict_plugins_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    def register(register):
        register(TaskSpec(name="chat", intents=("chat",)))

    monkeypatch.setenv("ENIGMA_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError):
        build_plugin_manager(
            entry_points=False,
            extra=[("dup", _plugin("dup", enigma_register_tasks=hookimpl(register)))],
        )


def test_incompatible_api_range_is_skipped_with_reason() -> None:
    plugin = _plugin("future", ENIGMA_PLUGIN_API=">=2,<3")
    manager = build_plugin_manager(entry_points=False, extra=[("future", plugin)])
    assert manager.records["future"].status == "error"
    assert "needs enigma plugin API >=2,<3" in manager.records["future"].error


def test_installed_plugins_module_view() -> None:
    engine = EnigmaEngine()
    modules = {m.id: m for m in engine.modules()}
    router = modules["tool_router"]
    assert router.provides == ["intent_classification", "specialized_routing", "model_routing"]
    assert router.requires == ["tokenizer"] and router.loaded is False
    assert {"chat", "code", "vision", "router"} <= set(engine.tasks)


def test_unknown_task_errors() -> None:
    engine = _engine()
    with pytest.raises(EnigmaError, match="no installed plugin registers task 'nope'"):
        engine.load("nope")
    with pytest.raises(EnigmaError, match="empty request"):
        engine.route("   ")


def test_config_relative_model_path_and_fields(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = {
        "enabled": False,
        "shared_tokenizer": None,
        "models": {"router": {"path": "models/router", "size": "nano", "description": "r"}},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("ENIGMA_HOME", str(tmp_path))
    config = load_config()
    assert config.enabled is False
    assert config.model_path("router") == tmp_path / "models" / "router"
    assert config.to_dict()["models"]["router"]["size"] == "nano"
    (tmp_path / "config.json").write_text('{"models": {"router": 3}}')
    with pytest.raises(EnigmaError, match=r"models\.router"):
        load_config()


class RouterInfoPlugin:
    """A router whose metadata knows only 'chat': installing 'echo' makes it stale."""

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="router", classifies=True))

    @hookimpl
    def enigma_model_info(self, task, model_dir, context):
        return {"path": "/nowhere/router", "labels": ["chat", "image", "oos"]}


class EchoRecipePlugin:
    """A task with a training recipe (and no other hooks)."""

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="echo", intents=("echo",), keywords=("echo",)))

    @hookimpl
    def enigma_training_recipe(self, task, context):
        return TrainingRecipe(task=task, load_examples=lambda paths, tok: [])


def test_model_info_drives_router_staleness_and_recipes_come_from_their_plugin() -> None:
    manager = build_plugin_manager(
        entry_points=False, extra=[("info", RouterInfoPlugin()), ("echo", EchoRecipePlugin())]
    )
    engine = EnigmaEngine(plugin_manager=manager)
    status = engine.router_status()
    assert status["model"] is True and status["stale"] is True
    assert status["unknown_intents"] == ["echo"] and "enigma train router" in status["hint"]
    assert status["extra_labels"] == []  # 'image' is a first-party intent, known on purpose
    assert engine.training_recipe("echo").task == "echo"
    with pytest.raises(EnigmaError, match="no installed plugin trains task 'nope'"):
        engine.training_recipe("nope")


def test_regex_keywords() -> None:
    def register(register):
        register(TaskSpec(name="calc", intents=("calc",), keywords=(r"re:\d\s*[-/]\s*\d",)))

    engine = _engine(("calc", _plugin("calc", enigma_register_tasks=hookimpl(register))))
    assert engine.classify("what is 10 - 3").intent == "calc"
    assert engine.classify("a well-known fact").intent != "calc"


def test_explicit_intent_marker_wins() -> None:
    engine = _engine(("slow", SlowModelPlugin()))
    result = engine.classify("[E:slow] whatever this says")
    assert (result.intent, result.via, result.confidence) == ("slow", "explicit", 1.0)
    assert engine.classify("[E:nosuch] hello").via != "explicit"
