"""``enigma classify`` and ``enigma route`` without importing typer or click (issue 21).

Building the typer app costs more than classifying (typer, click and every plugin's commands),
so the console entry point first tries this parser. It reads the same declarations as the
typer commands (:data:`enigma_core.cli.requests.OPTIONS` and the tasks' declared options) and
accepts only what click would accept with the same meaning: ``--opt value``, ``--opt=value``,
options anywhere, ``--`` ending them, unknown options kept as request text
(``ignore_unknown_options``), one request argument. Anything else (``--help``, a bad value, a
missing value, an extra argument, another command) returns None and the typer app handles the
whole command line, so help and error messages are typer's own. Exit statuses and the handling
of Ctrl-C, EOF and a closed stdout mirror typer's standalone mode.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

from enigma_core.cli import requests, state
from enigma_core.cli.task_options import (
    DeclaredOption,
    declared_options,
    resolve,
    route_options,
)

HELP_FLAGS = ("--help",)
"""Click's help option (typer keeps click's default name)."""
COMPLETION_VAR = "_ENIGMA_COMPLETE"
"""Set by a shell asking for completions: click answers those, so the fast path steps aside."""


class Param(NamedTuple):
    """One option as the parser sees it: where its value goes and how it converts."""

    flag: str
    param: str
    kind: str  # flag | path | float | int | str
    min: float | None = None
    max: float | None = None


def parameters(command: str, declared: list[DeclaredOption]) -> dict[str, Param]:
    """Every option of ``command`` by flag: its own, then those the tasks declare."""
    params = {o.flag: Param(o.flag, o.param, o.kind) for o in requests.OPTIONS[command]}
    for item in declared:
        option = item.option
        params[option.flag] = Param(option.flag, item.param, option.kind, option.min, option.max)
    return params


def _convert(param: Param, raw: str) -> tuple[bool, Any]:
    """(ok, value) as click converts ``raw`` for this option's type; not ok: click refuses it."""
    try:
        if param.kind == "path":
            # click.Path(readable=True): an existing path must be readable; kept as given.
            return (not os.path.exists(raw) or os.access(raw, os.R_OK)), Path(raw)
        if param.kind == "str":
            return True, raw
        value: float = float(raw) if param.kind == "float" else int(raw)
    except (ValueError, OSError):
        return False, None
    too_low = param.min is not None and value < param.min
    too_high = param.max is not None and value > param.max
    return not (too_low or too_high), value


def parse(args: list[str], params: dict[str, Param]) -> dict[str, Any] | None:
    """The values of ``args`` by parameter name (``text`` for the request), or None when the
    command line needs typer (help, or anything click would refuse)."""
    values: dict[str, Any] = {}
    positional: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--":
            positional.extend(rest)
            break
        if arg[:1] != "-" or len(arg) == 1:
            positional.append(arg)
            continue
        name, has_value, attached = arg.partition("=")
        if name in HELP_FLAGS:
            return None
        param = params.get(name)
        if param is None:  # unknown option: click keeps the whole argument as text
            positional.append(arg)
            continue
        if param.kind == "flag":
            if has_value:  # "--json=1": click says the option takes no value
                return None
            values[param.param] = True
            continue
        if not has_value:
            if not rest:
                return None
            attached = rest.pop(0)
        ok, value = _convert(param, attached)
        if not ok:
            return None
        values[param.param] = value
    if len(positional) > 1:
        return None
    values["text"] = positional[0] if positional else None
    return values


def run(argv: list[str]) -> None:
    """Run ``argv`` and exit when the fast path can; return (doing nothing) when typer must."""
    if not argv or argv[0] not in requests.COMMANDS or COMPLETION_VAR in os.environ:
        return
    declared = route_options(declared_options(state.plugin_manager()))
    values = parse(argv[1:], parameters(argv[0], declared))
    if values is None:
        return
    names = {item.param for item in declared}
    call = resolve(declared, {k: v for k, v in values.items() if k in names})
    own = {k: v for k, v in values.items() if k not in names}
    command = requests.COMMANDS[argv[0]]
    _standalone(lambda: command(**own, call=call))


def _standalone(command: Callable[[], int]) -> NoReturn:
    """Run ``command`` and exit as typer's standalone mode does (``typer.core._main``)."""
    try:
        code = command()
    except EOFError:
        sys.stderr.write("\nAborted!\n")
        sys.stderr.flush()
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        from click.utils import PacifyFlushWrapper  # only now: stdout was closed under us

        sys.stdout = PacifyFlushWrapper(sys.stdout)  # type: ignore[assignment]
        sys.stderr = PacifyFlushWrapper(sys.stderr)  # type: ignore[assignment]
        sys.exit(1)
    sys.exit(code)
