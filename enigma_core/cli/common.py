"""Helpers shared by CLI commands: JSON output, reading request text (no typer: the fast path
for ``enigma classify``/``route`` uses them).

Requests are read with limits (:mod:`enigma_core.bounded`): one request from stdin is at most
1 MB, and a batch file is streamed one bounded line at a time, never read whole.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from enigma_core.bounded import MAX_REQUEST_BYTES, iter_lines, read_stream
from enigma_core.errors import EnigmaError
from enigma_core.jsonout import print_json

__all__ = ["err", "print_json", "read_batch", "read_request"]


def err(message: str) -> None:
    """A log line on stderr."""
    print(message, file=sys.stderr)


def _check_utf8(text: str, where: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EnigmaError(f"{where}: not valid UTF-8 (character {exc.start})") from None
    return text


def read_request(text: str | None) -> str:
    """The request from the argument, or from stdin when it is ``-`` (at most 1 MB); UTF-8."""
    if text is None:
        raise EnigmaError("missing request text (give TEXT, '-' for stdin, or --batch FILE)")
    if text == "-":
        raw = read_stream(sys.stdin.buffer, MAX_REQUEST_BYTES, "stdin")
        try:
            return raw.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError as exc:
            raise EnigmaError(f"stdin: not valid UTF-8 (byte {exc.start})") from None
    if len(text) > MAX_REQUEST_BYTES:
        raise EnigmaError("argument: request is longer than 1 MB")
    return _check_utf8(text, "argument")


def read_batch(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for each non-blank line of a batch file ('-' for stdin), streamed:
    one line in memory at a time, each at most 1 MB; errors name ``file:line``."""
    name = "stdin" if str(path) == "-" else str(path)
    if str(path) == "-":
        yield from _non_blank(iter_lines(sys.stdin.buffer, name))
        return
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise EnigmaError(f"{name}: cannot read batch file: {exc.strerror or exc}") from None
    with stream:
        try:
            yield from _non_blank(iter_lines(stream, name))
        except IsADirectoryError:
            raise EnigmaError(f"{name}: cannot read batch file: Is a directory") from None
        except OSError as exc:
            raise EnigmaError(f"{name}: cannot read batch file: {exc.strerror or exc}") from None


def _non_blank(lines: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """The lines that hold more than white space."""
    return ((number, text) for number, text in lines if text.strip())
