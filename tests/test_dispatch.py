"""One dispatch path: task hooks reach only their owner, pluggy calls every hook (wrappers too),
failures travel with their call, and one engine is safe to share between threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from enigma_core import EnigmaEngine
from enigma_core.errors import EnigmaError
from enigma_core.hookspecs import hookimpl
from enigma_core.plugins import build_plugin_manager
from enigma_core.types import Classification, TaskResult, TaskSpec


class CountingModel:
    """A model that tells its plugin when it is closed (unloaded)."""

    def __init__(self, owner: CountingPlugin) -> None:
        self.owner = owner

    def close(self) -> None:
        with self.owner.lock:
            self.owner.live -= 1


class CountingPlugin:
    """Task 'count': counts loads and checks that two models are never live at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loads = 0
        self.live = 0
        self.violations: list[str] = []

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="count", intents=("count",), keywords=("count",)))

    @hookimpl
    def enigma_load_model(self, task, model_dir, context):
        with self.lock:
            self.loads += 1
            self.live += 1
            if self.live != 1:
                self.violations.append(f"{self.live} live models after load {self.loads}")
        return CountingModel(self)

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        context.model("count")
        return TaskResult(output=f"count:{request}")


class GreedyPlugin:
    """Answers every task it is asked about, as a plugin that forgot a task-name check would."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="greedy", intents=("greedy",), keywords=("greedy",)))

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        self.asked.append(task.name)
        return TaskResult(output=f"greedy answered {task.name}")

    @hookimpl
    def enigma_load_model(self, task, model_dir, context):
        self.asked.append(task.name)
        return "greedy model"

    @hookimpl
    def enigma_model_info(self, task, model_dir, context):
        self.asked.append(task.name)
        return {"path": "greedy"}


class BoomPlugin:
    """Task 'boom' always raises, with the request in its message."""

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="boom", intents=("boom",), keywords=("boom",)))

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        raise ValueError(f"exploded on {request!r}")


def _engine(*plugins: tuple[str, object]) -> EnigmaEngine:
    return EnigmaEngine(
        use_routing=True, plugin_manager=build_plugin_manager(entry_points=False, extra=[*plugins])
    )


def test_task_hooks_reach_only_the_owner() -> None:
    greedy = GreedyPlugin()
    engine = _engine(("count", CountingPlugin()), ("greedy", greedy))
    result = engine.route("count the sheep")
    assert (result.task, result.plugin, result.output) == (
        "count",
        "count",
        "count:count the sheep",
    )
    assert engine.route("hello").plugin == "builtin"
    assert engine.model_info("count") is None
    assert greedy.asked == []  # never asked about tasks it does not own
    assert engine.route("be greedy").output == "greedy answered greedy"
    assert greedy.asked == ["greedy"]


def _plugin_class(name: str, **hooks: Any) -> object:
    return type(name, (), hooks)()


def test_misspelled_hook_is_a_plugin_error_naming_the_real_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def enigma_execute_tasks(task, request, context):
        return "never called"

    def register(register):
        register(TaskSpec(name="typo", intents=("typo",)))

    plugin = _plugin_class(
        "Typo",
        enigma_register_tasks=staticmethod(hookimpl(register)),
        enigma_execute_tasks=staticmethod(hookimpl(enigma_execute_tasks)),
    )
    manager = build_plugin_manager(entry_points=False, extra=[("typo", plugin)])
    record = manager.records["typo"]
    assert record.status == "error"
    assert "'enigma_execute_tasks'" in record.error and "'enigma_execute_task'" in record.error
    assert "typo" not in manager.tasks
    monkeypatch.setenv("ENIGMA_STRICT_PLUGINS", "1")
    with pytest.raises(EnigmaError, match="did you mean 'enigma_execute_task'"):
        build_plugin_manager(entry_points=False, extra=[("typo", plugin)])


def test_hook_without_hookimpl_marker_is_reported() -> None:
    def register(register):
        register(TaskSpec(name="plain", intents=("plain",)))

    plugin = _plugin_class(
        "Plain",
        enigma_register_tasks=staticmethod(hookimpl(register)),
        enigma_execute_task=staticmethod(lambda task, request, context: "unmarked"),
    )
    record = build_plugin_manager(entry_points=False, extra=[("plain", plugin)]).records["plain"]
    assert record.status == "error" and "without @hookimpl" in record.error


class WrapperPlugin:
    """A standard pluggy wrapper around classification: sees and tags every result."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    @hookimpl(wrapper=True)
    def enigma_classify_intent(self, text, context) -> Iterator[None]:
        result = yield
        self.seen.append(result.intent if result is not None else "none")
        if result is not None:
            result.details["wrapped"] = True
        return result


class ModelClassifier:
    @hookimpl
    def enigma_classify_intent(self, text, context):
        return Classification("count", 0.9, "model")


def test_wrapper_hooks_work() -> None:
    wrapper = WrapperPlugin()
    engine = _engine(("count", CountingPlugin()), ("clf", ModelClassifier()), ("wrap", wrapper))
    result = engine.route("anything")
    assert result.task == "count" and result.classification.details["wrapped"] is True
    assert wrapper.seen == ["count"]
    assert engine.plugins.records["wrap"].status == "ok"


class ExitingPlugin:
    """Hooks that raise SystemExit: contained as this plugin's failure."""

    @hookimpl
    def enigma_register_tasks(self, register):
        register(TaskSpec(name="quit", intents=("quit",), keywords=("quit",)))

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        raise SystemExit(3)

    @hookimpl
    def enigma_classify_intent(self, text, context):
        raise SystemExit("classifier wants out")


def test_system_exit_in_a_hook_is_contained() -> None:
    engine = _engine(("quit", ExitingPlugin()), ("count", CountingPlugin()))
    assert engine.route("count me").output == "count:count me"  # the classifier was skipped
    with pytest.raises(EnigmaError, match=r"plugin 'quit' failed to run task 'quit': SystemExit"):
        engine.route("quit now")


def test_each_call_gets_its_own_failures_under_threads() -> None:
    engine = _engine(("boom", BoomPlugin()), ("count", CountingPlugin()))

    def one(i: int) -> str:
        text = f"boom {i}" if i % 2 else f"count {i}"
        try:
            return engine.route(text).output
        except EnigmaError as exc:
            return str(exc)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(400)))
    for i, answer in enumerate(answers):
        if i % 2:
            assert answer == (
                f"plugin 'boom' failed to run task 'boom': ValueError: exploded on 'boom {i}'"
            )
        else:
            assert answer == f"count:count {i}"


TEXTS = (
    "count the sheep",
    "hello there",
    "boom goes the request",
    "be greedy",
    "write a function that reverses a string",
    "describe photo.jpg",
    "zzz qqq",
)


def _answer(engine: EnigmaEngine, op: str, text: str) -> Any:
    """What one call returns, in a comparable form (errors included)."""
    try:
        if op == "route":
            r = engine.route(text)
            c = r.classification
            return (c.intent, c.via, round(c.confidence, 6), r.task, r.status, r.output)
        if op == "classify":
            c = engine.classify(text)
            return (c.intent, c.via, round(c.confidence, 6), tuple(c.alternatives))
    except EnigmaError as exc:
        return ("error", str(exc))
    if op.startswith("load:"):
        engine.load(op[5:])
    elif op.startswith("unload:"):
        engine.unload(op[7:])
    return None


def _ops(thread: int, n: int) -> list[tuple[str, str]]:
    kinds = ("route", "classify", "route", "load:count", "unload:count", "load:router", "route")
    out = []
    for j in range(n):
        k = (thread * 7 + j) % len(kinds)
        if kinds[k] == "unload:router" or (j % 97 == 0 and thread % 2):
            out.append(("unload:router", ""))
        else:
            out.append((kinds[k], TEXTS[(thread + j * 3) % len(TEXTS)]))
    return out


def test_one_engine_shared_by_16_threads_answers_as_a_serial_run() -> None:
    """16 threads x 2,000 mixed route/classify/load/unload calls on one engine."""
    from enigma_router import plugin as router_plugin

    def make() -> tuple[EnigmaEngine, CountingPlugin]:
        counting = CountingPlugin()
        engine = _engine(
            ("router", router_plugin),
            ("count", counting),
            ("greedy", GreedyPlugin()),
            ("boom", BoomPlugin()),
        )
        return engine, counting

    serial_engine, _ = make()
    expected = {
        (op, text): _answer(serial_engine, op, text)
        for op in ("route", "classify")
        for text in TEXTS
    }
    assert expected[("route", "count the sheep")][3:] == ("count", "ok", "count:count the sheep")

    engine, counting = make()
    barrier = threading.Barrier(16)
    mismatches: list[str] = []
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        try:
            barrier.wait()
            for op, text in _ops(thread, 2000):
                got = _answer(engine, op, text)
                if op in ("route", "classify") and got != expected[(op, text)]:
                    mismatches.append(f"{op} {text!r}: {got} != {expected[(op, text)]}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and mismatches[:3] == []
    assert counting.violations == []
    assert counting.live == (1 if "count" in engine.loaded() else 0)
    assert counting.loads >= 2  # the load/unload cycle really ran


class CascadePlugin:
    """A local task that is unsure of itself, and a 'server' task it falls back to."""

    @hookimpl
    def enigma_register_tasks(self, register):
        register(
            TaskSpec(
                name="local",
                intents=("local",),
                keywords=("local",),
                fallback="server",
                escalate_below=0.5,
            )
        )
        register(TaskSpec(name="server", description="a model server"))

    @hookimpl
    def enigma_execute_task(self, task, request, context):
        if task.name == "server":
            return TaskResult(output=f"server answered {request!r}")
        if "impossible" in request:
            return TaskResult(output="", status="no_answer")
        return TaskResult(output="local answer")


class UnsureClassifier:
    @hookimpl
    def enigma_classify_intent(self, text, context):
        return Classification("local", 0.3 if "unsure" in text else 0.9, "model")


def test_cascade_to_the_fallback_when_unsure_or_unanswered() -> None:
    engine = _engine(("cascade", CascadePlugin()), ("clf", UnsureClassifier()))
    sure = engine.route("local please")
    assert (sure.task, sure.output, sure.classification.via) == ("local", "local answer", "model")
    unsure = engine.route("unsure local")
    assert unsure.task == "server" and unsure.classification.via == "cascade"
    assert unsure.classification.details["cascade"]["reason"] == "confidence 0.30 below 0.5"
    stuck = engine.route("an impossible local request")
    assert stuck.task == "server" and stuck.status == "ok"
    assert stuck.classification.details["cascade"]["reason"] == "local could not answer"


def test_chat_forwards_the_conversation_to_its_backend() -> None:
    from enigma_core.config import Config

    seen: list[list[dict]] = []

    class Server:
        @hookimpl
        def enigma_register_tasks(self, register):
            register(TaskSpec(name="server"))

        @hookimpl
        def enigma_execute_task(self, task, request, context):
            seen.append(context.messages)
            return f"server: {request}"

    manager = build_plugin_manager(entry_points=False, extra=[("server", Server())])
    engine = EnigmaEngine(
        use_routing=True, plugin_manager=manager, config=Config(raw={"chat": {"backend": "server"}})
    )
    conversation = [{"role": "user", "content": "hi"}, {"role": "user", "content": "hello"}]
    result = engine.route("hello", messages=conversation)
    assert (result.task, result.output) == ("chat", "server: hello")
    assert seen == [conversation]
