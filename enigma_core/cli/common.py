"""Helpers shared by CLI commands: options, JSON output, reading request text."""

from __future__ import annotations

import sys
from pathlib import Path

from enigma_core.commands import JsonOpt, print_json
from enigma_core.errors import EnigmaError

__all__ = ["JsonOpt", "err", "print_json", "read_batch", "read_request"]


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
    """The request from the argument, or from stdin when it is ``-``; UTF-8 checked."""
    if text is None:
        raise EnigmaError("missing request text (give TEXT, '-' for stdin, or --batch FILE)")
    if text == "-":
        raw = sys.stdin.buffer.read()
        try:
            return raw.decode("utf-8").rstrip("\n")
        except UnicodeDecodeError as exc:
            raise EnigmaError(f"stdin: not valid UTF-8 (byte {exc.start})") from None
    return _check_utf8(text, "argument")


def read_batch(path: Path) -> list[tuple[int, str]]:
    """(line number, text) for each non-blank line of a batch file ('-' for stdin)."""
    name = "stdin" if str(path) == "-" else str(path)
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    except OSError as exc:
        raise EnigmaError(f"{name}: cannot read batch file: {exc.strerror or exc}") from None
    lines: list[tuple[int, str]] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            text = line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            raise EnigmaError(f"{name}:{number}: not valid UTF-8 (byte {exc.start})") from None
        if text.strip():
            lines.append((number, text))
    return lines
