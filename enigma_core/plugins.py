"""Plugin discovery and the plugin manager: entry points loaded one by one, failures isolated.

Built by :func:`build_plugin_manager` (never at import time). pluggy calls every hook; hooks
about one task reach only the plugin that registered it (:meth:`EnigmaPluginManager.call_task`).
A plugin that fails to import, declares an incompatible API range, implements an unknown hook or
raises in a hook is recorded and skipped with one warning on stderr; ``ENIGMA_STRICT_PLUGINS=1``
re-raises instead.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import pluggy

from enigma_core import PLUGIN_API_VERSION, hookspecs
from enigma_core.compat import api_range_error
from enigma_core.entrypoints import entry_points
from enigma_core.errors import EnigmaError, PluginError
from enigma_core.interrupts import user_interrupted
from enigma_core.types import TaskSpec

ENTRY_POINT_GROUP = "enigma"
BUILTIN_NAME = "builtin"
TASK_HOOKS = frozenset(
    {"enigma_load_model", "enigma_model_info", "enigma_execute_task", "enigma_training_recipe"}
)
"""Hooks about one task: called only on the plugin that registered the task."""


@dataclass(frozen=True)
class PluginFailure:
    """One plugin hook that raised during one call (returned with that call's result)."""

    plugin: str
    hook: str
    message: str

    def __str__(self) -> str:
        return f"plugin {self.plugin!r} failed in {self.hook}: {self.message}"


@dataclass
class HookOutcome:
    """What one hook call returned, plus the failures of the plugins that were skipped."""

    value: Any
    failures: list[PluginFailure] = field(default_factory=list)


_failures: ContextVar[list[PluginFailure] | None] = ContextVar("enigma_failures", default=None)
"""The failure list of the hook call in progress in this thread/task (None outside a call)."""


@dataclass
class PluginRecord:
    """What the core knows about one plugin, whether it loaded or not."""

    name: str
    distribution: str | None = None
    version: str | None = None
    module: str = ""
    status: str = "ok"  # ok | error | disabled
    error: str | None = None
    tasks: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    builtin: bool = False
    source: str = "entry point"  # entry point | builtin | in-process | config

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``enigma plugins --json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "module": self.module,
            "status": self.status,
            "error": self.error,
            "tasks": list(self.tasks),
            "hooks": list(self.hooks),
            "builtin": self.builtin,
            "source": self.source,
        }


def _env_list(name: str) -> set[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return {item.strip() for item in value.split(",") if item.strip()}


def strict_plugins() -> bool:
    """True when ``ENIGMA_STRICT_PLUGINS`` asks for plugin errors to be raised, not skipped."""
    return os.environ.get("ENIGMA_STRICT_PLUGINS", "") not in ("", "0", "false", "no")


def _warn(message: str) -> None:
    print(f"enigma: warning: {message}", file=sys.stderr)


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` — how plugin failures are shown."""
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _contained(exc: BaseException) -> bool:
    """True when ``exc`` from plugin code is the plugin's failure, not the user's Ctrl-C."""
    if isinstance(exc, KeyboardInterrupt):
        return not user_interrupted()
    return isinstance(exc, (Exception, SystemExit))


def unknown_hook_message(name: str) -> str:
    """``unknown hook X (did you mean Y?)`` for a hook name no hookspec declares."""
    import difflib  # here: only a mistake needs it (start-up time)

    close = difflib.get_close_matches(name, hookspecs.HOOK_NAMES, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"implements unknown hook {name!r}{hint}"


class EnigmaPluginManager:
    """A pluggy manager plus the core's own records: plugin → distribution, version, tasks.

    Safe to share between threads once built: calls keep their failures in a context
    variable, never in shared state.
    """

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.tasks: dict[str, TaskSpec] = {}
        self.task_owner: dict[str, str] = {}
        self._warned: set[str] = set()
        self._lock = threading.Lock()
        self._subset_cache: dict[tuple[str, str], Any] = {}

    # -- loading -----------------------------------------------------------------------------
    def add_plugin(self, plugin: object, record: PluginRecord) -> bool:
        """Register one plugin object, check its hooks, collect its tasks; False if skipped."""
        self.records[record.name] = record
        plugin = _hashable(plugin)
        try:
            api_error = api_range_error(plugin, PLUGIN_API_VERSION)
            if api_error:
                raise PluginError(api_error)
            self.pm.register(plugin, name=record.name)
        except Exception as exc:
            self._fail(record, exc, "failed to load")
            return False
        with self._lock:
            self._subset_cache.clear()
        callers = self.pm.get_hookcallers(plugin) or []
        record.hooks = sorted(caller.name for caller in callers)
        unknown = [caller.name for caller in callers if not caller.has_spec()]
        unmarked = _unmarked_hooks(plugin, set(record.hooks))
        if unknown or unmarked:
            self.pm.unregister(plugin)
            problem = (
                unknown_hook_message(unknown[0])
                if unknown
                else f"defines {unmarked[0]!r} without @hookimpl (pluggy never calls it)"
            )
            self._fail(record, PluginError(problem), "is invalid")
            return False
        for caller in callers:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    self._guard(impl, caller.name)
        return self._collect_tasks(plugin, record)

    def _guard(self, impl: pluggy.HookImpl, hook_name: str) -> None:
        """Make one hook implementation report its failures instead of raising.

        Wrappers stay as written (pluggy drives them); a failing wrapper fails the whole call,
        which :meth:`call` reports. An :class:`EnigmaError` is a message for the user and
        passes through; strict mode re-raises everything.
        """
        if impl.hookwrapper or impl.wrapper:
            return
        original = impl.function
        plugin_name = impl.plugin_name

        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return original(*args, **kwargs)
            except EnigmaError:
                raise
            except BaseException as exc:
                if not _contained(exc) or strict_plugins():
                    raise
                self._record_failure(plugin_name, hook_name, exc)
                return None

        guarded.__wrapped__ = original  # type: ignore[attr-defined]
        impl.function = guarded

    def _record_failure(self, plugin: str, hook: str, exc: BaseException) -> None:
        failure = PluginFailure(plugin=plugin, hook=hook, message=one_line(exc))
        current = _failures.get()
        if current is not None:
            current.append(failure)
        record = self.records.get(plugin)
        if record is not None and record.error is None:
            record.error = f"{hook}: {failure.message}"
        self.warn_once(f"{plugin}:{hook}", f"{failure} (skipped)")

    def _collect_tasks(self, plugin: object, record: PluginRecord) -> bool:
        staged: list[TaskSpec] = []

        def register(task: TaskSpec) -> None:
            if not isinstance(task, TaskSpec):
                raise PluginError(f"plugin {record.name!r} registered {task!r}, not a TaskSpec")
            if task.name in self.tasks or any(t.name == task.name for t in staged):
                owner = self.task_owner.get(task.name, record.name)
                raise PluginError(
                    f"plugin {record.name!r} registers task {task.name!r}, "
                    f"already registered by plugin {owner!r}"
                )
            staged.append(task)

        others = [p for _, p in self.pm.list_name_plugin() if p is not plugin and p is not None]
        caller = self.pm.subset_hook_caller("enigma_register_tasks", remove_plugins=others)
        try:
            outcome = self._run(caller, "enigma_register_tasks", {"register": register})
            if outcome.failures:
                raise PluginError(outcome.failures[0].message)
        except Exception as exc:
            self.pm.unregister(plugin)
            with self._lock:
                self._subset_cache.clear()
            self._fail(record, exc, "raised while registering tasks")
            return False
        for task in staged:
            self.tasks[task.name] = task
            self.task_owner[task.name] = record.name
            record.tasks.append(task.name)
        return True

    def _fail(self, record: PluginRecord, exc: BaseException, what: str) -> None:
        record.status = "error"
        record.error = one_line(exc) if not isinstance(exc, PluginError) else str(exc)
        if strict_plugins():
            raise exc
        self.warn_once(record.name, f"plugin {record.name!r} {what}: {record.error} (skipped)")

    def warn_once(self, key: str, message: str) -> None:
        """Print a warning on stderr the first time ``key`` is seen."""
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        _warn(message)

    def load_entry_points(self) -> None:
        """Import each ``enigma`` entry point in turn, honouring the allow/block env lists."""
        allow = _env_list("ENIGMA_LOAD_PLUGINS")
        block = _env_list("ENIGMA_DISABLE_PLUGINS") or set()
        for ep in sorted(entry_points(ENTRY_POINT_GROUP), key=lambda e: e.name):
            record = PluginRecord(
                name=ep.name, distribution=ep.distribution, version=ep.version, module=ep.value
            )
            if ep.name in self.records:
                self.warn_once(
                    ep.name + "#dup", f"two plugins are named {ep.name!r}; kept the first"
                )
                continue
            if (allow is not None and ep.name not in allow) or ep.name in block:
                record.status = "disabled"
                self.records[ep.name] = record
                continue
            try:
                plugin = ep.load()
            except BaseException as exc:
                if not _contained(exc):
                    raise
                self.records[ep.name] = record
                self._fail(record, exc, "failed to import")
                continue
            self.add_plugin(plugin, record)

    # -- calling hooks -----------------------------------------------------------------------
    def _run(self, caller: Any, hook_name: str, kwargs: dict[str, Any]) -> HookOutcome:
        """One pluggy call with its own failure list (nested calls get their own)."""
        failures: list[PluginFailure] = []
        token = _failures.set(failures)
        try:
            value = caller(**kwargs)
        except EnigmaError:
            raise
        except BaseException as exc:
            if not _contained(exc) or strict_plugins():
                raise
            failure = PluginFailure(plugin="(wrapper)", hook=hook_name, message=one_line(exc))
            failures.append(failure)
            self.warn_once(f"wrapper:{hook_name}", f"{failure} (skipped)")
            value = None
        finally:
            _failures.reset(token)
        return HookOutcome(value=value, failures=failures)

    def call(self, hook_name: str, **kwargs: Any) -> HookOutcome:
        """Call a broadcast hook through pluggy; a raising plugin is skipped and reported."""
        if hook_name in TASK_HOOKS:
            raise PluginError(f"{hook_name} is about one task: use call_task")
        return self._run(getattr(self.pm.hook, hook_name), hook_name, kwargs)

    def call_task(self, hook_name: str, task_name: str, **kwargs: Any) -> HookOutcome:
        """Call a task hook on the plugin that registered ``task_name`` only."""
        owner = self.task_owner.get(task_name)
        if owner is None:
            return HookOutcome(value=None)
        return self._run(self._owner_caller(hook_name, owner), hook_name, kwargs)

    def _owner_caller(self, hook_name: str, owner: str) -> Any:
        key = (hook_name, owner)
        with self._lock:
            caller = self._subset_cache.get(key)
            if caller is None:
                plugin = self.pm.get_plugin(owner)
                others = [
                    p for _, p in self.pm.list_name_plugin() if p is not plugin and p is not None
                ]
                caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others)
                self._subset_cache[key] = caller
        return caller

    def implements(self, plugin_name: str, hook_name: str) -> bool:
        """True when the plugin ``plugin_name`` has an implementation of ``hook_name``."""
        record = self.records.get(plugin_name)
        return record is not None and record.status == "ok" and hook_name in record.hooks

    def owner_record(self, task: str) -> PluginRecord | None:
        """The record of the plugin that registered ``task``."""
        owner = self.task_owner.get(task)
        return self.records.get(owner) if owner else None


def _hashable(plugin: object) -> object:
    """``plugin`` itself, or a module holding its attributes when it cannot be hashed.

    pluggy keeps plugins in sets (task-scoped calls need that); a namespace object with
    ``__eq__`` (e.g. ``types.SimpleNamespace``) is copied into a module, hooks and all.
    """
    try:
        hash(plugin)
    except TypeError:
        proxy = types.ModuleType(str(getattr(plugin, "__name__", "enigma_plugin")))
        proxy.__dict__.update(vars(plugin))
        return proxy
    return plugin


def _unmarked_hooks(plugin: object, marked: set[str]) -> list[str]:
    """Functions named exactly like a hook but not decorated with ``@hookimpl``."""
    return [
        name
        for name in hookspecs.HOOK_NAMES
        if name not in marked and callable(getattr(plugin, name, None))
    ]


def build_plugin_manager(
    *, entry_points: bool = True, extra: list[tuple[str, object]] | None = None
) -> EnigmaPluginManager:
    """Build a plugin manager: the built-in fallbacks, installed entry points, then ``extra``.

    ``extra`` (name, plugin object) pairs let tests and embedders add plugins in-process.
    """
    from enigma_core import builtin

    manager = EnigmaPluginManager()
    manager.add_plugin(
        builtin,
        PluginRecord(
            name=BUILTIN_NAME,
            module=builtin.__name__,
            distribution="enigma-core",
            builtin=True,
            version=_core_version(),
            source="builtin",
        ),
    )
    if entry_points:
        manager.load_entry_points()
    for name, plugin in extra or []:
        manager.add_plugin(
            plugin,
            PluginRecord(name=name, module=getattr(plugin, "__name__", ""), source="in-process"),
        )
    return manager


def _core_version() -> str:
    from enigma_core import __version__

    return __version__
