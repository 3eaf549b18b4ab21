"""The ``enigma`` CLI: builds the typer app, lets plugins add commands, maps errors to exit codes.

Known errors (:class:`EnigmaError`) print one line on stderr and exit 1; ``ENIGMA_DEBUG=1``
shows the traceback instead. ``enigma classify``/``route`` usually take the fast path
(:mod:`enigma_core.cli.fastpath`), which answers without importing typer; so typer is imported
only when the app is built.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from enigma_core import __version__
from enigma_core.cli import state
from enigma_core.cli.requests import CONTEXT_SETTINGS
from enigma_core.cli.task_options import (
    declared_options,
    route_options,
    train_options,
    with_task_options,
)
from enigma_core.errors import EnigmaError
from enigma_core.interrupts import install_sigint_handler

if TYPE_CHECKING:
    import typer


def _version(value: bool) -> None:
    if value:
        import typer

        sys.stdout.write(f"enigma {__version__}\n")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The full CLI: core commands plus whatever installed plugins register."""
    import typer

    from enigma_core.cli import config_cmd, plugins_cmd, route_cmd
    from enigma_core.commands import CommandGroups

    # Plain help text (rich_markup_mode=None); typer would still escape "[required]" for rich
    # and print a literal "\\[required]" unless told rich is not used.
    typer.core.HAS_RICH = False
    app = typer.Typer(
        name="enigma",
        help="Run a team of small specialist models locally; a tiny router picks one per request.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
        rich_markup_mode=None,
    )

    @app.callback()
    def main(
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True, help="Show the version."
        ),
    ) -> None:
        """enigma: route each request to the small specialist model that owns it."""

    declared = declared_options(state.plugin_manager())
    app.command("route", context_settings=dict(CONTEXT_SETTINGS))(
        with_task_options(route_cmd.route, route_options(declared))
    )
    app.command("classify", context_settings=dict(CONTEXT_SETTINGS))(
        with_task_options(route_cmd.classify, route_options(declared))
    )
    app.add_typer(plugins_cmd.app, name="plugins")
    app.add_typer(config_cmd.app, name="config")
    _add_core_commands(app)
    from enigma_core.cli import train_cmd

    app.command("train")(with_task_options(train_cmd.train, train_options(declared)))
    groups = CommandGroups(
        root=app,
        data=typer.Typer(
            help="Build training data (commands added by plugins).", no_args_is_help=True
        ),
        eval=typer.Typer(
            help="Evaluate a trained model (commands added by plugins).", no_args_is_help=True
        ),
        bench=typer.Typer(
            help="Benchmark speed and accuracy (commands added by plugins).", no_args_is_help=True
        ),
        config=config_cmd.app,
    )
    state.plugin_manager().call("enigma_register_commands", groups=groups)
    app.add_typer(groups.data, name="data")
    app.add_typer(groups.eval, name="eval")
    app.add_typer(groups.bench, name="bench")
    return app


def _add_core_commands(app: typer.Typer) -> None:
    """Commands implemented in their own core modules (tokenizer, sizes, scaffolding...)."""
    import importlib

    for module_name, attr, name, kind in CORE_COMMANDS:
        module = importlib.import_module(f"enigma_core.cli.{module_name}")
        target = getattr(module, attr)
        if kind == "group":
            app.add_typer(target, name=name)
        else:
            app.command(name)(target)


CORE_COMMANDS: list[tuple[str, str, str, str]] = [
    ("sizes_cmd", "sizes", "sizes", "command"),
    ("tokenizer_cmd", "app", "tokenizer", "group"),
    ("new_plugin_cmd", "new_plugin", "new-plugin", "command"),
    ("logs_cmd", "app", "logs", "group"),
    ("review_cmd", "app", "review", "group"),
    ("promote_cmd", "promote", "promote", "command"),
    ("serve_cmd", "serve", "serve", "command"),
]


def _debug() -> bool:
    return os.environ.get("ENIGMA_DEBUG", "") not in ("", "0", "false", "no")


def run(argv: list[str] | None = None, *, fast: bool = True) -> None:
    """Console-script entry point: run the CLI and turn known errors into one line + exit 1.

    ``fast=False`` skips the fast path (tests compare the two on the same command lines).
    """
    install_sigint_handler()
    try:
        if fast:
            from enigma_core.cli import fastpath

            fastpath.run(sys.argv[1:] if argv is None else list(argv))  # exits if it ran
        app = build_app()
        app(args=argv, prog_name="enigma")
    except EnigmaError as exc:
        if _debug():
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"enigma: error: {message}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("enigma: interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)
    except Exception as exc:
        if _debug():
            raise
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"enigma: internal error: {type(exc).__name__}: {detail}"
            " (set ENIGMA_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        sys.exit(2)
