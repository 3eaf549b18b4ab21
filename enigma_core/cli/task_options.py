"""Per-call options that tasks declare (``TaskSpec.options``), added to route and classify.

The core knows no classifier by name: the router plugin declares ``--model``,
``--oos-threshold``, ``--oos-budget``, ``--explain``... and this module turns them into typer
options (a ``flag`` kind is an on/off switch; options marked ``train`` also go on ``enigma train``).
The same declarations drive the typer-free parser of :mod:`enigma_core.cli.fastpath`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

if TYPE_CHECKING:
    from enigma_core.plugins import EnigmaPluginManager
    from enigma_core.types import TaskOption

_TYPES: dict[str, type] = {"float": float, "int": int, "str": str, "path": Path, "flag": bool}


@dataclass(frozen=True)
class DeclaredOption:
    """One task option with the task that declared it and its Python parameter name."""

    task: str
    option: TaskOption

    @property
    def param(self) -> str:
        """The keyword the typer callback receives this option's value under."""
        return f"task_opt_{self.option.key}"


@dataclass
class CallOptions:
    """What the declared options resolved to for one call."""

    options: dict[str, Any]
    model_dirs: dict[str, Path]
    owners: dict[str, str] = field(default_factory=dict)
    """Flag of each given option -> the task that declared it."""


def declared_options(manager: EnigmaPluginManager) -> list[DeclaredOption]:
    """Every task's options, first declaration of a flag or key wins (later ones are warned)."""
    out: list[DeclaredOption] = []
    flags: dict[str, str] = {}
    for name, task in manager.tasks.items():
        for option in task.options:
            taken = flags.get(option.flag) or flags.get("key:" + option.key)
            if taken is not None:
                manager.warn_once(
                    f"option:{option.flag}:{name}",
                    f"task {name!r} declares {option.flag}, already declared by task {taken!r}"
                    " (ignored)",
                )
                continue
            flags[option.flag] = flags["key:" + option.key] = name
            out.append(DeclaredOption(task=name, option=option))
    return out


def resolve(declared: list[DeclaredOption], values: dict[str, Any]) -> CallOptions:
    """Split the given values into ``context.options`` entries and model-directory overrides."""
    result = CallOptions(options={}, model_dirs={})
    for item in declared:
        value = values.get(item.param)
        if value is None or (item.option.kind == "flag" and not value):
            continue
        result.owners[item.option.flag] = item.task
        if item.option.model_dir:
            result.model_dirs[item.task] = Path(value)
        else:
            result.options[item.option.key] = value
    return result


def _parameter(item: DeclaredOption) -> inspect.Parameter:
    """The typer parameter of one declared option (a flag is a plain ``--name`` switch)."""
    import typer  # here, not at the top: the fast path (cli/fastpath.py) runs without typer

    option = item.option
    help_text = f"{option.help} [{item.task}]"
    if option.kind == "flag":
        return inspect.Parameter(
            item.param,
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option(option.flag, help=help_text)],
        )
    return inspect.Parameter(
        item.param,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            _TYPES[option.kind] | None,
            typer.Option(
                option.flag, help=help_text, min=option.min, max=option.max, show_default=False
            ),
        ],
    )


def route_options(declared: list[DeclaredOption]) -> list[DeclaredOption]:
    """The declared options of ``enigma route``/``classify`` (all but training-only ones)."""
    return [item for item in declared if item.option.route]


def train_options(declared: list[DeclaredOption]) -> list[DeclaredOption]:
    """The declared options that ``enigma train`` takes too (``TaskOption.train``)."""
    return [item for item in declared if item.option.train]


def with_task_options(
    command: Callable[..., None], declared: list[DeclaredOption]
) -> Callable[..., None]:
    """``command`` with one typer option per declared task option.

    ``command`` takes a keyword ``call: CallOptions`` that the wrapper fills in; typer sees the
    command's own parameters plus the declared options (through ``__signature__``).
    """
    hints = get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=hints[p.name])
        for p in inspect.signature(command).parameters.values()
        if p.name != "call"
    ]
    extra = [_parameter(item) for item in declared]
    names = {item.param for item in declared}

    def wrapper(**kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
        command(**kwargs, call=resolve(declared, values))

    wrapper.__name__ = command.__name__
    wrapper.__doc__ = command.__doc__
    wrapper.__signature__ = inspect.Signature(own + extra)  # type: ignore[attr-defined]
    return wrapper
