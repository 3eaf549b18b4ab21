"""The typer-free fast path of ``enigma classify``/``route`` (issue 21) against the typer app.

Each command line runs twice in fresh processes of this repo's venv (its plugins installed):
once through the entry point as the console script runs it, once with the fast path off. The
exit status, stdout and stderr must match, and the fast path must really have answered
(click never imported) where it should, or have handed over to typer where it must.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from enigma_core.cli import fastpath, requests

pytest.importorskip("enigma_router")

RUNNER = """
import sys
from enigma_core.cli.main import run
try:
    run(sys.argv[2:], fast=sys.argv[1] == "fast")
finally:
    sys.stderr.write("\\n#click=" + str("click" in sys.modules))
"""


def _run(mode: str, args: list[str], stdin: bytes = b"") -> tuple[int, str, str, bool]:
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, mode, *args],
        input=stdin,
        capture_output=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=120,
        check=False,
    )
    err, _, marker = done.stderr.decode().rpartition("\n#click=")
    return done.returncode, done.stdout.decode(), err, marker == "True"


def _same(args: list[str], *, fast: bool, stdin: bytes = b"") -> tuple[int, str, str]:
    """Run both ways; assert identical results and which path answered; return the result."""
    code, out, err, click_fast = _run("fast", args, stdin)
    ref_code, ref_out, ref_err, click_ref = _run("typer", args, stdin)
    if args[0] == "route" and "--json" in args:
        out, ref_out = _no_timings(out), _no_timings(ref_out)
    assert (code, out, err) == (ref_code, ref_out, ref_err), args
    assert click_ref, "the reference run must go through typer"
    assert click_fast is not fast, f"{args}: fast path {'skipped' if fast else 'answered'}"
    return code, out, err


def _no_timings(stdout: str) -> str:
    """``route --json`` lines without their timings (they differ from run to run)."""
    rows = []
    for line in stdout.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            rows.append(line)
            continue
        row.pop("timings_ms", None)
        rows.append(row)
    return json.dumps(rows)


ANSWERED = [
    ["classify", "write a function that reverses a string"],
    ["classify", "--json", "hello there"],
    ["classify", "hello there", "--json"],
    ["classify", "-40 C to F"],
    ["classify", "--", "-40 C to F"],
    ["classify", "--json", "--", "--json"],
    ["classify", "--no-such-option"],
    ["classify", "--no-such=1"],
    ["classify", "--oos-threshold", "1.0", "--json", "hello there"],
    ["classify", "--oos-threshold=0.5", "hello there"],
    ["classify", "--oos-threshold", "1", "--oos-threshold", "0", "hello there"],
    ["classify", "--oos-budget", "nan", "hello there"],
    ["classify", "--explain", "hello there"],
    ["classify", "--model", "/nonexistent/router", "hello there"],
    ["classify"],
    ["classify", ""],
    ["classify", "[E:code] anything"],
    ["route", "--json", "hello there"],
    ["route", "hello there"],
    ["route", "--show-sources", "--json", "hello there"],
    ["route", "--json", "--oos-threshold", "1", "hello there"],
]


@pytest.mark.parametrize("args", ANSWERED, ids=" ".join)
def test_fast_path_answers_as_typer_does(args: list[str]) -> None:
    _same(args, fast=True)


HANDED_OVER = [
    ["classify", "--help"],
    ["route", "hello", "--help"],
    ["classify", "--oos-threshold", "5", "hi"],
    ["classify", "--oos-threshold", "high", "hi"],
    ["classify", "hi", "--oos-threshold"],
    ["classify", "--json=yes", "hi"],
    ["classify", "two", "requests"],
    ["classify", "--no-such-option", "hi"],
    ["route", "--show-sources=1", "hi"],
]


@pytest.mark.parametrize("args", HANDED_OVER, ids=" ".join)
def test_help_and_refused_command_lines_go_to_typer(args: list[str]) -> None:
    code, _out, err = _same(args, fast=False)
    assert code in (0, 2), err


def test_stdin_and_batch_files(tmp_path: Path) -> None:
    _same(["classify", "-"], fast=True, stdin=b"draw me a cat\n")
    batch = tmp_path / "batch.txt"
    batch.write_text("hello there\n\nwrite a function\n" + "x" * 30_000 + "\n", encoding="utf-8")
    code, out, err = _same(["classify", "--batch", str(batch)], fast=True)
    assert code == 1 and "1 line(s) failed" in err and len(out.splitlines()) == 3
    chat = tmp_path / "chat.txt"  # route runs the tasks: only the instant chat task here
    chat.write_text("hello there\n" + "x" * 30_000 + "\nhi!\n", encoding="utf-8")
    _same(["route", f"--batch={chat}", "--json"], fast=True)
    _same(["classify", "--batch", str(tmp_path / "missing.txt")], fast=True)
    _same(["classify", "--batch", str(tmp_path)], fast=True)


def test_declarations_agree_with_the_typer_commands() -> None:
    """Every option typer builds for route/classify is one the fast parser knows, same kind,
    same range, same parameter; the one argument is the request; unknown options are kept."""
    import click
    import typer

    from enigma_core.cli import state
    from enigma_core.cli.main import build_app
    from enigma_core.cli.task_options import declared_options, route_options

    group = typer.main.get_command(build_app())
    declared = route_options(declared_options(state.plugin_manager()))  # as fastpath.run
    assert declared, "the router plugin declares options: the check would be empty"
    kinds = {click.types.FloatParamType: "float", click.types.IntParamType: "int"}
    for name in requests.COMMANDS:
        command = group.commands[name]  # type: ignore[attr-defined]
        ctx = command.make_context(name, ["x"])
        assert ctx.ignore_unknown_options and ctx.allow_interspersed_args
        assert ctx.help_option_names == list(fastpath.HELP_FLAGS)
        expected = fastpath.parameters(name, declared)
        seen = {}
        for param in command.params:
            if isinstance(param, click.Argument):
                assert (param.name, param.nargs, param.required) == ("text", 1, False)
                continue
            assert not param.secondary_opts and not param.multiple and not param.envvar
            (flag,) = param.opts
            if param.is_flag:
                kind = "flag"
            elif isinstance(param.type, click.Path):
                assert param.type.readable and not param.type.exists
                assert not param.type.allow_dash and not param.type.resolve_path
                kind = "path"
            elif isinstance(param.type, click.types.StringParamType):
                kind = "str"
            else:
                kind = next(k for t, k in kinds.items() if isinstance(param.type, t))
            low = getattr(param.type, "min", None)
            high = getattr(param.type, "max", None)
            assert not getattr(param.type, "min_open", False)
            assert not getattr(param.type, "max_open", False)
            assert not getattr(param.type, "clamp", False)
            seen[flag] = fastpath.Param(flag, param.name or "", kind, low, high)
        assert seen == expected, name


def test_parser_follows_click_on_its_own() -> None:
    """Cases a subprocess pair cannot reach cheaply: values that look like options, '-'."""
    params = fastpath.parameters("classify", [])
    assert fastpath.parse(["--batch", "--json"], params) == {
        "batch": Path("--json"),
        "text": None,
    }
    assert fastpath.parse(["-", "--json"], params) == {"json_out": True, "text": "-"}
    assert fastpath.parse(["--", "a", "--", "b"], params) is None
    assert fastpath.parse(["--batch="], params) == {"batch": Path(""), "text": None}


def test_a_closed_stdout_ends_both_paths_alike(tmp_path: Path) -> None:
    """``enigma classify --batch FILE | head -1``: exit 1, nothing on stderr, either way."""
    batch = tmp_path / "many.txt"
    batch.write_text("".join(f"hello there number {i}\n" for i in range(2000)), encoding="utf-8")
    outcomes = []
    for mode in ("fast", "typer"):
        proc = subprocess.Popen(
            [sys.executable, "-c", RUNNER, mode, "classify", "--batch", str(batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith(b"{")
        proc.stdout.close()  # as `head -1` does
        err = proc.stderr.read().decode()
        outcomes.append((proc.wait(timeout=120), err.rpartition("\n#click=")[0]))
    assert outcomes[0] == outcomes[1] == (1, "")
