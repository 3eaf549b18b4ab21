"""Plain data types shared by the core and plugins; importing this never imports torch."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class TaskOption:
    """A per-call option a task declares for ``enigma route``/``enigma classify``.

    The CLI adds ``flag`` to both commands; a given value reaches hooks as
    ``context.options[key]``. ``kind`` is ``float``, ``int``, ``str``, ``path`` or ``flag`` (an
    on/off switch: ``True`` when given, absent otherwise); ``model_dir`` marks an option whose
    value is this task's model directory for the call (``--model``). ``train`` also adds it to
    ``enigma train TASK`` for this task, where its value reaches the recipe's ``options``;
    ``route=False`` keeps it off route/classify (a training-only option, plugin API 1.3).
    """

    flag: str
    key: str
    help: str
    kind: str = "str"
    min: float | None = None
    max: float | None = None
    model_dir: bool = False
    train: bool = False
    route: bool = True

    def __post_init__(self) -> None:
        if not self.flag.startswith("--") or not self.key.isidentifier():
            raise ValueError(f"TaskOption {self.flag!r}: flag must start with '--', key be a name")
        if self.kind not in ("float", "int", "str", "path", "flag"):
            raise ValueError(
                f"TaskOption {self.flag!r}: kind must be float, int, str, path or flag"
            )
        if not self.route and not self.train:
            raise ValueError(f"TaskOption {self.flag!r}: route=False needs train=True")


@dataclass(frozen=True)
class TaskSpec:
    """What a plugin registers: a task, the intents it owns and how the router learns it.

    `name` is unique across plugins. `intents` are the labels the router may predict for this
    task (a task with no intents, like the router itself, is never routed to). `keywords` drive
    the fallback keyword router; `examples` are requests that teach the router model.
    """

    name: str
    intents: tuple[str, ...] = ()
    description: str = ""
    keywords: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()
    default_size: str = "nano"
    module_id: str = ""
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    is_default: bool = False
    classifies: bool = False
    """True for an intent classifier (the router): its model's ``labels`` are the intents it
    knows, compared with the installed ones to tell when it needs retraining."""
    options: tuple[TaskOption, ...] = ()
    """Per-call options of ``enigma route``/``classify`` this task reads (see TaskOption)."""
    fallback: str | None = None
    """A task (e.g. a model server declared in config) that answers instead when the router is
    unsure (confidence below ``escalate_below``) or this task answers ``status="no_answer"``."""
    escalate_below: float | None = None
    origin: str = ""
    """Where the task was declared when not in the plugin's code (e.g. ``config``)."""

    def __post_init__(self) -> None:
        for name in (
            "intents",
            "keywords",
            "examples",
            "provides",
            "requires",
            "optional",
            "options",
        ):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"TaskSpec.{name} must be a sequence of strings, not a string")
            object.__setattr__(self, name, tuple(value))
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"TaskSpec.name {self.name!r} must be a non-empty identifier")

    @property
    def examples_sha256(self) -> str:
        """sha256 of the example requests in order: the router records it at training, and
        staleness compares it to tell that an upgraded plugin changed what the router learns."""
        import hashlib

        return hashlib.sha256("\n".join(self.examples).encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (lists instead of tuples)."""
        return {
            k: [dict(o) if isinstance(o, dict) else o for o in v]
            if isinstance(v, (tuple, list))
            else v
            for k, v in asdict(self).items()
        }


@dataclass
class Classification:
    """The answer of an intent classifier: best intent, its confidence and the runners-up.

    `via` says who decided: `model` (router model), `keywords` (keyword fallback), `default`
    (nothing matched, or the model was unsure).
    """

    intent: str
    confidence: float
    via: str
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    known_intents: tuple[str, ...] | None = None
    """The intents the classifying model was trained on (None: not a trained model). The core
    sends installed intents outside this set to keyword matching until the next retrain."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "intent": self.intent,
            "confidence": round(float(self.confidence), 6),
            "via": self.via,
            "alternatives": [
                {"intent": i, "confidence": round(float(c), 6)} for i, c in self.alternatives
            ],
            **({"details": self.details} if self.details else {}),
        }


@dataclass
class TaskResult:
    """What executing a task produced: the text answer plus optional structured extras.

    ``status`` is ``ok``, or ``no_answer`` when the task could not produce an answer it stands
    behind (the engine then tries the task's ``fallback``, if any, and reports it otherwise).
    """

    output: str
    data: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"
