"""EnigmaEngine: the Python API — classify a request, route it to its task, run it.

Models load lazily (first use), are cached, and load once even when threads race.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.catalog import KNOWN_INTENTS, missing_plugin_message
from enigma_core.config import Config, load_config
from enigma_core.context import FileAccess, TaskContext
from enigma_core.decisions.logger import DecisionLogger
from enigma_core.errors import EnigmaError, TaskFailed
from enigma_core.home import models_dir
from enigma_core.keywords import KeywordClassifier
from enigma_core.plugins import (
    EnigmaPluginManager,
    PluginFailure,
    PluginRecord,
    build_plugin_manager,
)
from enigma_core.results import (  # re-exported: part of the engine's API
    MAX_REQUEST_CHARS,
    ModuleInfo,
    RouteResult,
    _stamp,
    validate_request,
)
from enigma_core.types import Classification, TaskResult, TaskSpec

__all__ = ["MAX_REQUEST_CHARS", "EnigmaEngine", "ModuleInfo", "RouteResult", "validate_request"]

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer
    from enigma_core.training.recipe import TrainingRecipe

EXPLICIT_MARKER = re.compile(r"^\s*\[E:(\w+)\]")
"""A request that starts with the seed's ``[E:intent]`` marker names its intent itself."""
OOS_INTENTS = ("oos", "out_of_scope")


class EnigmaEngine:
    """Classify, route and run requests across the installed specialist plugins.

    ``use_routing=False`` (the seed's default) makes :meth:`generate` run the default task;
    ``True`` classifies first. ``model_dirs`` overrides task model directories for this engine
    (``router_model`` is shorthand for every intent-classifier task's). Every decision goes to
    the decision log (``source`` says who asked; ``log=False`` or ``log.enabled: false`` turns
    it off); ``shadow_router`` classifies each request with a second router model off the
    request path and logs its answer too. One engine is safe to share between threads: each
    call carries its own context and its own plugin failures. A change to the config file
    (``enigma router promote``) is picked up within a second, without a restart.
    """

    def __init__(
        self,
        use_routing: bool = False,
        *,
        config: Config | None = None,
        plugin_manager: EnigmaPluginManager | None = None,
        router_model: str | Path | None = None,
        model_dirs: dict[str, str | Path] | None = None,
        source: str = "api",
        log: bool = True,
        shadow_router: str | Path | None = None,
    ) -> None:
        self.use_routing = use_routing
        self._own_config = config is None
        self.config = config if config is not None else load_config()
        self._config_stamp = _stamp(self.config.source)
        self._config_checked = time.monotonic()
        self.plugins = plugin_manager if plugin_manager is not None else build_plugin_manager()
        self.model_dirs: dict[str, Path] = {k: Path(v) for k, v in (model_dirs or {}).items()}
        if router_model is not None:
            for task in self.classifier_tasks():
                self.model_dirs.setdefault(task.name, Path(router_model))
        self._models: dict[str, Any] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._tokenizer: SharedTokenizer | None = None
        self._keywords: KeywordClassifier | None = None
        self.decisions = DecisionLogger(self, source) if log else None
        if shadow_router is not None:
            if self.decisions is None:
                raise EnigmaError("a shadow router needs the decision log (log=True)")
            from enigma_core.decisions.shadow import ShadowRouter

            self.decisions.shadow = ShadowRouter(self, Path(shadow_router))

    # -- registry views ----------------------------------------------------------------------
    @property
    def tasks(self) -> dict[str, TaskSpec]:
        """Registered tasks by name."""
        return self.plugins.tasks

    def plugin_records(self) -> list[PluginRecord]:
        """Every discovered plugin, loaded or not."""
        return list(self.plugins.records.values())

    def modules(self) -> list[ModuleInfo]:
        """One module entry per task: id, provides, requires, optional, loaded."""
        return [
            ModuleInfo(
                id=task.module_id or task.name,
                task=task.name,
                plugin=self.plugins.task_owner.get(task.name),
                provides=list(task.provides),
                requires=list(task.requires),
                optional=list(task.optional),
                loaded=task.name in self._models,
            )
            for task in self.tasks.values()
        ]

    def context(
        self,
        options: dict[str, Any] | None = None,
        emit: Callable[[str], None] | None = None,
        *,
        messages: list[dict[str, Any]] | None = None,
        images: list[Any] | None = None,
        files: FileAccess | None = None,
    ) -> TaskContext:
        """A hook context bound to this engine (one per call: nothing in it is shared)."""
        return TaskContext(
            engine=self,
            options=dict(options or {}),
            emit_fn=emit,
            messages=list(messages or []),
            images=list(images or []),
            files=files if files is not None else FileAccess.user(),
        )

    def default_task(self) -> TaskSpec:
        """The task that gets unsure, unmatched and out-of-scope requests."""
        task = self.tasks.get(self.config.default_task)
        if task is not None:
            return task
        for task in self.tasks.values():
            if task.is_default:
                return task
        raise EnigmaError(
            f"default task {self.config.default_task!r} is not registered by any plugin"
        )

    def intent_owner(self, intent: str) -> TaskSpec | None:
        """The task that owns ``intent``, if an installed plugin registered one."""
        for task in self.tasks.values():
            if intent in task.intents:
                return task
        return None

    def classifier_tasks(self) -> list[TaskSpec]:
        """Tasks that classify intents (their model's labels are the intents they know)."""
        return [task for task in self.tasks.values() if task.classifies]

    def installed_intents(self) -> list[str]:
        """Every intent some installed task owns, in registration order."""
        return [i for task in self.tasks.values() for i in task.intents]

    # -- models ------------------------------------------------------------------------------
    def model_dir(self, name: str) -> Path | None:
        """Where the model of task ``name`` lives; None means the plugin's shipped default.

        Order: this engine's ``model_dirs`` override (``--model``), the config's
        ``models.<name>.path``, then a model trained by ``enigma train`` into
        ``<ENIGMA_HOME>/models/<name>``.
        """
        if name in self.model_dirs:
            return self.model_dirs[name]
        configured = self.config.model_path(name)
        if configured is not None:
            return configured
        trained = models_dir() / name
        return trained if (trained / "config.json").is_file() else None

    def _lock_for(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def load(self, name: str) -> Any:
        """The model of task ``name``: loaded by its plugin on first use, then cached."""
        if name in self._models:
            return self._models[name]
        task = self.tasks.get(name)
        if task is None:
            raise EnigmaError(f"no installed plugin registers task {name!r}")
        with self._lock_for(name):
            if name in self._models:
                return self._models[name]
            outcome = self.plugins.call_task(
                "enigma_load_model",
                name,
                task=task,
                model_dir=self.model_dir(name),
                context=self.context(),
            )
            if outcome.value is None:
                raise self._no_answer(name, "load a model for", outcome.failures)
            self._models[name] = outcome.value
            return outcome.value

    def _no_answer(self, task: str, what: str, failures: list[PluginFailure]) -> TaskFailed:
        """The one-line error when a task's owner gave no answer: its failure, or why not."""
        owner = self.plugins.task_owner.get(task)
        for failure in failures:
            message = f"plugin {failure.plugin!r} failed to {what} task {task!r}: {failure.message}"
            return TaskFailed(message, failure.plugin, task)
        return TaskFailed(
            f"plugin {owner!r} registers task {task!r} but did not {what} it", owner, task
        )

    def model_info(self, name: str) -> dict[str, Any] | None:
        """Metadata of task ``name``'s model from its owner (never loads weights); None: none."""
        task = self.tasks.get(name)
        if task is None:
            return None
        outcome = self.plugins.call_task(
            "enigma_model_info",
            name,
            task=task,
            model_dir=self.model_dir(name),
            context=self.context(),
        )
        return outcome.value

    def unload(self, name: str) -> bool:
        """Drop the cached model of ``name`` (closing it); True if one was loaded.

        Closing happens under the task's lock, so a load racing this unload always starts
        after the old model is closed: at most one live model per task.
        """
        with self._lock_for(name):
            model = self._models.pop(name, None)
            if model is None:
                return False
            close = getattr(model, "close", None)
            if callable(close):
                close()
            del model
        return True

    def is_loaded(self, name: str) -> bool:
        """True when task ``name``'s model is in memory (no file is touched)."""
        return name in self._models

    def loaded(self) -> list[str]:
        """Names of the models currently in memory."""
        return list(self._models)

    def tokenizer(self) -> SharedTokenizer:
        """The shared tokenizer: the configured file, or the one shipped with enigma-core."""
        if self._tokenizer is None:
            with self._lock_for("#tokenizer"):
                if self._tokenizer is None:
                    from enigma_core.tokenizer import SharedTokenizer, load_default

                    path = self.config.shared_tokenizer
                    self._tokenizer = (
                        SharedTokenizer.load(Path(path).expanduser()) if path else load_default()
                    )
        return self._tokenizer

    def training_recipe(self, task: str) -> TrainingRecipe:
        """The recipe of the plugin that trains ``task``; a clear error when none does."""
        if task not in self.tasks:
            if task in KNOWN_INTENTS:
                raise EnigmaError(missing_plugin_message(task))
            raise EnigmaError(f"no installed plugin trains task {task!r}; see `enigma plugins`")
        outcome = self.plugins.call_task(
            "enigma_training_recipe", task, task=task, context=self.context()
        )
        if outcome.value is not None:
            return outcome.value
        if outcome.failures:
            raise self._no_answer(task, "make a training recipe for", outcome.failures)
        owner = self.plugins.task_owner.get(task)
        raise EnigmaError(f"task {task!r} (plugin {owner!r}) has no training recipe")

    # -- classification and routing ----------------------------------------------------------
    def keyword_classifier(self) -> KeywordClassifier:
        """Keywords of every installed task plus known intents of plugins not installed."""
        if self._keywords is None:
            table: dict[str, list[str]] = {}
            # The default task goes last so that it loses ties to any specialist.
            ordered = sorted(self.tasks.values(), key=lambda t: t.is_default)
            for task in ordered:
                for intent in task.intents:
                    table.setdefault(intent, []).extend(task.keywords)
            for intent, known in KNOWN_INTENTS.items():
                if intent not in table:
                    table[intent] = list(known.keywords)
            self._keywords = KeywordClassifier(table)
        return self._keywords

    def classify(self, text: str, options: dict[str, Any] | None = None) -> Classification:
        """Decide the intent of ``text``: router model if available, else keywords (logged)."""
        start = time.perf_counter()
        result = self._classify(text, options)
        if self.decisions is not None:
            self.decisions.classified(text, result, (time.perf_counter() - start) * 1000)
        return result

    def classify_many(
        self, texts: Sequence[str], options: dict[str, Any] | None = None
    ) -> list[Classification]:
        """:meth:`classify` each of ``texts``, in order, each decision logged.

        The same decisions as one call per text (confidences may differ in the last float
        bits), with the per-call set-up paid once: request checks first (one bad text refuses
        the batch before any is classified), one config check, one default-task look-up, one
        hook context, and one ``enigma_classify_intents`` call when a plugin classifies
        batches (the router runs one vectorised forward pass); else one hook call per text.
        """
        for text in texts:
            validate_request(text)
        if not texts:
            return []
        start = time.perf_counter()
        self._maybe_reload_config()
        default = self._default_intent()
        context = self.context(options)
        found = [self._explicit(text) for text in texts]
        models: list[Classification | None] = [None] * len(texts)
        if self.config.enabled:
            todo = [i for i, c in enumerate(found) if c is None]
            batch = None
            if len(todo) > 1:
                batch = self.plugins.call(
                    "enigma_classify_intents", texts=[texts[i] for i in todo], context=context
                ).value
            if batch is not None and len(batch) == len(todo):
                for i, result in zip(todo, batch, strict=True):
                    models[i] = result
            else:
                for i in todo:
                    models[i] = self._model_result(texts[i], context)
        out = [
            c if c is not None else self._settle(text, model, default)
            for text, c, model in zip(texts, found, models, strict=True)
        ]
        if self.decisions is not None:
            share = (time.perf_counter() - start) * 1000 / len(texts)
            for text, result in zip(texts, out, strict=True):
                self.decisions.classified(text, result, share)
        return out

    def _classify(self, text: str, options: dict[str, Any] | None) -> Classification:
        """The decision itself: explicit marker, then the model, then keywords."""
        validate_request(text)
        self._maybe_reload_config()
        default = self._default_intent()
        explicit = self._explicit(text)
        if explicit is not None:
            return explicit
        model = self._model_result(text, self.context(options)) if self.config.enabled else None
        return self._settle(text, model, default)

    def _default_intent(self) -> str:
        """The intent unsure and unmatched requests get (the default task's first)."""
        intents = self.default_task().intents
        return intents[0] if intents else "chat"

    def _explicit(self, text: str) -> Classification | None:
        """The intent a request names itself (``[E:intent]``), if some plugin knows it."""
        explicit = EXPLICIT_MARKER.match(text)
        if explicit and (
            self.intent_owner(explicit.group(1)) or explicit.group(1) in KNOWN_INTENTS
        ):
            return Classification(intent=explicit.group(1), confidence=1.0, via="explicit")
        return None

    def _model_result(self, text: str, context: TaskContext) -> Classification | None:
        """The classifier plugin's answer for one text (None: no model; keywords decide)."""
        return self.plugins.call("enigma_classify_intent", text=text, context=context).value

    def _settle(self, text: str, result: Classification | None, default: str) -> Classification:
        """The model's answer, or keywords where it has none, is unsure or lacks an intent."""
        if result is None:
            return self.keyword_classifier().classify(text, default=default)
        if result.intent in OOS_INTENTS:
            by_keywords = self.keyword_classifier().classify(text, default=default)
            if by_keywords.via == "keywords" and by_keywords.intent != default:
                by_keywords.details = {
                    "reason": "router unsure (out of scope); matched by keywords",
                    "model_intent": result.intent,
                    "model_confidence": round(float(result.confidence), 6),
                }
                return by_keywords
            return result
        known = result.known_intents
        if known is not None:
            unknown = [i for i in self.installed_intents() if i not in set(known)]
            if unknown:
                by_keywords = self.keyword_classifier().classify(text, default=default)
                if by_keywords.via == "keywords" and by_keywords.intent in unknown:
                    by_keywords.details = {
                        "reason": "intent unknown to the router model; matched by keywords",
                        "model_intent": result.intent,
                    }
                    return by_keywords
        return result

    def router_status(self) -> dict[str, Any]:
        """Whether the router model knows exactly the installed intents (else: retrain)."""
        from enigma_core.staleness import router_status

        return router_status(self)

    def route(
        self,
        text: str,
        *,
        emit: Callable[[str], None] | None = None,
        options: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        images: list[Any] | None = None,
        files: FileAccess | None = None,
        on_decision: Callable[[Classification], None] | None = None,
    ) -> RouteResult:
        """Classify ``text``, pick the task owning its intent and run it.

        ``messages`` (the whole conversation), ``images`` (decoded attachments) and ``files``
        (which paths in the text may be read) reach the task through its :class:`TaskContext`.
        ``on_decision`` is called with the classification as soon as it is made, before any
        task runs (a server sends its routing headers then); route may still adjust it
        (``via``, ``details``) as it picks the task.
        """
        start = time.perf_counter()
        classification = self._classify(text, options)
        classified = time.perf_counter()
        if on_decision is not None:
            on_decision(classification)
        intent = classification.intent
        task = None if intent in OOS_INTENTS else self.intent_owner(intent)
        if intent in OOS_INTENTS:
            classification.details.setdefault("reason", "router unsure (out of scope)")
            classification.details["routed_from"] = intent
            classification.via = "default"
        if (
            task is None
            and intent not in OOS_INTENTS
            and classification.via != "default"
            and (intent in KNOWN_INTENTS)
        ):
            missing = RouteResult(
                text=text,
                classification=classification,
                task=None,
                plugin=None,
                output=missing_plugin_message(intent),
                status="missing_plugin",
                timings_ms={"classify": (classified - start) * 1000, "execute": 0.0},
            )
            if self.decisions is not None:
                self.decisions.routed(missing)
            return missing
        if task is None:
            task = self.default_task()
            if classification.via != "default":
                classification.details["routed_from"] = intent
                classification.via = "default"
                if intent not in OOS_INTENTS:
                    classification.details["reason"] = self._orphan_reason(intent)
        extras: dict[str, Any] = {
            "emit": emit,
            "options": options,
            "messages": messages,
            "images": images,
            "files": files,
        }
        try:
            task, result = self._execute_with_cascade(task, text, classification, extras)
        except EnigmaError:
            if self.decisions is not None:
                ms = (classified - start) * 1000
                self.decisions.failed(text, classification, ms, task.name)
            raise
        done = time.perf_counter()
        routed = RouteResult(
            text=text,
            classification=classification,
            task=task.name,
            plugin=self.plugins.task_owner.get(task.name),
            output=result.output,
            data=result.data,
            status=result.status,
            timings_ms={
                "classify": (classified - start) * 1000,
                "execute": (done - classified) * 1000,
            },
        )
        if self.decisions is not None:
            self.decisions.routed(routed)
        return routed

    def _execute_with_cascade(
        self, task: TaskSpec, text: str, c: Classification, extras: dict[str, Any]
    ) -> tuple[TaskSpec, TaskResult]:
        """Run ``task``, or its ``fallback`` when the router was unsure or the task could not
        answer; the classification's ``via``/``details.cascade`` say when that happened."""
        rule = self.config.cascades.get(task.name)  # the config's cascade wins over the plugin's
        target = rule.fallback if rule else task.fallback
        below = rule.escalate_below if rule else task.escalate_below
        reason = None
        if target and c.details.get("routed_from") in OOS_INTENTS:
            reason = "router unsure (out of scope)"
        elif target and below is not None and c.via == "model" and c.confidence < below:
            reason = f"confidence {c.confidence:.2f} below {below:g}"
        if reason is None:
            result = self.execute(task, text, **extras)
            if result.status != "no_answer" or not target:
                return task, result
            reason = f"{task.name} could not answer"
        fallback = self.tasks.get(target or "")
        if fallback is None:
            where = "config 'cascade." + task.name + ".fallback'" if rule else f"task {task.name!r}"
            raise EnigmaError(
                f"{where} names fallback {target!r}, which no installed plugin registers"
            )
        c.details["cascade"] = {"from": task.name, "to": fallback.name, "reason": reason}
        c.via = "cascade"
        return fallback, self.execute(fallback, text, **extras)

    def _orphan_reason(self, intent: str) -> str:
        """Why a known-to-the-router intent went to the default task: nobody owns it now."""
        origin = ""
        for task in self.classifier_tasks():
            sources = (self.model_info(task.name) or {}).get("intent_sources") or {}
            if intent in sources:
                origin = f" (it came from plugin {sources[intent]!r}; reinstall it or retrain)"
        return f"the router knows intent {intent!r} but no installed plugin owns it{origin}"

    # -- config changes while running ----------------------------------------------------------
    def reload_config(self) -> None:
        """Re-read the config file and forget loaded classifier models (they may have moved)."""
        self.config = load_config(self.config.source)
        self._config_stamp = _stamp(self.config.source)
        for task in self.classifier_tasks():
            self.unload(task.name)
        if self.decisions is not None:
            self.decisions.forget_models()

    def _maybe_reload_config(self) -> None:
        """At most once a second, notice that the config file changed (e.g. a promote)."""
        if not self._own_config or time.monotonic() - self._config_checked < 1.0:
            return
        self._config_checked = time.monotonic()
        if _stamp(self.config.source) != self._config_stamp:
            try:
                self.reload_config()
            except EnigmaError as exc:  # a broken edit keeps the running config
                self.plugins.warn_once(f"config:{exc}", f"config not reloaded: {exc}")
                self._config_stamp = _stamp(self.config.source)

    def execute(
        self,
        task: TaskSpec | str,
        text: str,
        *,
        emit: Callable[[str], None] | None = None,
        options: dict[str, Any] | None = None,
        messages: list[dict[str, Any]] | None = None,
        images: list[Any] | None = None,
        files: FileAccess | None = None,
    ) -> TaskResult:
        """Run one task directly (no classification); extras as in :meth:`route`."""
        validate_request(text)
        spec = self.tasks.get(task) if isinstance(task, str) else task
        if spec is None:
            raise EnigmaError(f"no installed plugin registers task {task!r}")
        outcome = self.plugins.call_task(
            "enigma_execute_task",
            spec.name,
            task=spec,
            request=text,
            context=self.context(options, emit, messages=messages, images=images, files=files),
        )
        answer = outcome.value
        if answer is None:
            raise self._no_answer(spec.name, "run", outcome.failures)
        return answer if isinstance(answer, TaskResult) else TaskResult(output=str(answer))

    def generate(self, prompt: str) -> str:
        """The seed's API: route (when ``use_routing``) or run the default task; return text."""
        if self.use_routing:
            return self.route(prompt).output
        return self.execute(self.default_task(), prompt).output
