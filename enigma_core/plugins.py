"""Plugin discovery and the plugin manager: entry points loaded one by one, failures isolated.

Built by :func:`build_plugin_manager` (never at import time). A plugin that fails to import,
declares an incompatible API range, or raises in a hook is recorded and skipped with one
warning on stderr; ``ENIGMA_STRICT_PLUGINS=1`` re-raises instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from enigma_core import PLUGIN_API_VERSION, hookspecs
from enigma_core.compat import api_range_error
from enigma_core.errors import EnigmaError, PluginError
from enigma_core.types import TaskSpec

ENTRY_POINT_GROUP = "enigma"
BUILTIN_NAME = "builtin"


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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0] if text else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class EnigmaPluginManager:
    """A pluggy manager plus the core's own records: plugin → distribution, version, tasks."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self.tasks: dict[str, TaskSpec] = {}
        self.task_owner: dict[str, str] = {}
        self._warned: set[str] = set()
        self.last_failures: list[tuple[str, str]] = []

    # -- loading -----------------------------------------------------------------------------
    def add_plugin(self, plugin: object, record: PluginRecord) -> bool:
        """Register one plugin object, then collect its tasks; False if it was skipped."""
        self.records[record.name] = record
        try:
            api_error = api_range_error(plugin, PLUGIN_API_VERSION)
            if api_error:
                raise PluginError(api_error)
            self.pm.register(plugin, name=record.name)
        except Exception as exc:
            self._fail(record, exc, "failed to load")
            return False
        record.hooks = sorted(
            {impl.function.__name__ for impl in self._impls_of(record.name)}
            | {caller.name for caller in self.pm.get_hookcallers(plugin) or []}
        )
        return self._collect_tasks(plugin, record)

    def _impls_of(self, name: str) -> list[pluggy.HookImpl]:
        impls = []
        for caller in self.pm.get_hookcallers(self.pm.get_plugin(name)) or []:
            impls.extend(i for i in caller.get_hookimpls() if i.plugin_name == name)
        return impls

    def _collect_tasks(self, plugin: object, record: PluginRecord) -> bool:
        impls = [
            impl
            for impl in self.pm.hook.enigma_register_tasks.get_hookimpls()
            if impl.plugin is plugin
        ]
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

        try:
            for impl in impls:
                impl.function(register=register)
        except Exception as exc:
            self.pm.unregister(plugin)
            self._fail(record, exc, "raised while registering tasks")
            return False
        for task in staged:
            self.tasks[task.name] = task
            self.task_owner[task.name] = record.name
            record.tasks.append(task.name)
        return True

    def _fail(self, record: PluginRecord, exc: BaseException, what: str) -> None:
        record.status = "error"
        record.error = _one_line(exc)
        if strict_plugins():
            raise exc
        self.warn_once(record.name, f"plugin {record.name!r} {what}: {record.error} (skipped)")

    def warn_once(self, key: str, message: str) -> None:
        """Print a warning on stderr the first time ``key`` is seen."""
        if key not in self._warned:
            self._warned.add(key)
            _warn(message)

    def load_entry_points(self) -> None:
        """Import each ``enigma`` entry point in turn, honouring the allow/block env lists."""
        allow = _env_list("ENIGMA_LOAD_PLUGINS")
        block = _env_list("ENIGMA_DISABLE_PLUGINS") or set()
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                name=ep.name,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
                module=ep.value,
            )
            if ep.name in self.records:
                record.status, record.error = "error", "duplicate plugin name; skipped"
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
            except Exception as exc:
                self.records[ep.name] = record
                self._fail(record, exc, "failed to import")
                continue
            self.add_plugin(plugin, record)

    # -- calling hooks -----------------------------------------------------------------------
    def call_first(self, hook_name: str, **kwargs: Any) -> Any:
        """Call ``hook_name`` implementations in pluggy's order; first non-None result wins.

        Unlike a plain pluggy call, a plugin that raises (other than an EnigmaError meant for
        the user) is reported and skipped, so one broken plugin never breaks routing.
        """
        hook = getattr(self.pm.hook, hook_name)
        self.last_failures = []
        for impl in reversed(hook.get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames}
            try:
                result = impl.function(**args)
            except EnigmaError:
                raise
            except Exception as exc:
                if strict_plugins():
                    raise
                self.last_failures.append((impl.plugin_name, _one_line(exc)))
                record = self.records.get(impl.plugin_name)
                if record is not None and record.error is None:
                    record.error = f"{hook_name}: {_one_line(exc)}"
                self.warn_once(
                    f"{impl.plugin_name}:{hook_name}",
                    f"plugin {impl.plugin_name!r} raised in {hook_name}: "
                    f"{_one_line(exc)} (skipped)",
                )
                continue
            if result is not None:
                return result
        return None

    def call_each(self, hook_name: str, **kwargs: Any) -> None:
        """Call every implementation of a hook, isolating failures like :meth:`call_first`."""
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames}
            try:
                impl.function(**args)
            except Exception as exc:
                if strict_plugins():
                    raise
                self.warn_once(
                    f"{impl.plugin_name}:{hook_name}",
                    f"plugin {impl.plugin_name!r} raised in {hook_name}: "
                    f"{_one_line(exc)} (skipped)",
                )

    def owner_record(self, task: str) -> PluginRecord | None:
        """The record of the plugin that registered ``task``."""
        owner = self.task_owner.get(task)
        return self.records.get(owner) if owner else None


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
        ),
    )
    if entry_points:
        manager.load_entry_points()
    for name, plugin in extra or []:
        manager.add_plugin(plugin, PluginRecord(name=name, module=getattr(plugin, "__name__", "")))
    return manager


def _core_version() -> str:
    from enigma_core import __version__

    return __version__


HookCall = Callable[..., Any]
