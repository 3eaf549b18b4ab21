"""Reads with a size limit, so that no input file or stream can exhaust memory.

``read_file`` is for files that must be parsed whole (config, tokenizer): regular files only,
refused above the limit before anything is parsed. ``iter_lines`` streams a text source line
by line (batch files, stdin, FIFOs), each line bounded. Errors are one-line
:class:`EnigmaError` messages naming the file and, for lines, the line number.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from enigma_core.errors import EnigmaError

MAX_REQUEST_BYTES = 1 << 20  # one request: a stdin request or one line of a batch file
_CHUNK = 1 << 16


def describe_size(limit: int) -> str:
    """``1 MB`` / ``64 KB`` / ``512 bytes``: a limit as people read it."""
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def read_file(path: Path, limit: int, what: str) -> bytes:
    """The bytes of regular file ``path`` if it holds at most ``limit`` bytes.

    Devices, FIFOs and directories are refused without reading (``/dev/zero`` never ends);
    ``what`` names the file in messages ("config", "tokenizer").
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise EnigmaError(f"{path}: {what} file not found") from None
    except OSError as exc:
        raise EnigmaError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise EnigmaError(f"{path}: {what} is not a regular file")
        if info.st_size > limit:
            raise EnigmaError(f"{path}: {what} is larger than {describe_size(limit)}")
        try:
            data = f.read(limit + 1)
        except OSError as exc:
            raise EnigmaError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > limit:  # it grew after the stat
        raise EnigmaError(f"{path}: {what} is larger than {describe_size(limit)}")
    return data


def read_stream(stream: BinaryIO, limit: int, name: str, what: str = "request") -> bytes:
    """At most ``limit`` bytes of ``stream`` to its end; a longer stream is refused."""
    data = bytearray()
    while len(data) <= limit:
        chunk = stream.read(min(_CHUNK, limit + 1 - len(data)))
        if not chunk:
            return bytes(data)
        data += chunk
    raise EnigmaError(f"{name}: {what} is longer than {describe_size(limit)}")


def iter_lines(
    stream: BinaryIO, name: str, max_line: int = MAX_REQUEST_BYTES
) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line of ``stream``, decoded as UTF-8, ``\\r\\n`` allowed.

    Never holds more than one line: a line over ``max_line`` bytes stops the stream with an
    error naming it (so ``/dev/zero`` ends after ``max_line`` bytes, not all of memory).
    """
    number = 0
    while True:
        line = stream.readline(max_line + 2)  # room for the longest line and its "\r\n"
        if not line:
            return
        number += 1
        body = line[:-1] if line.endswith(b"\n") else line
        if len(body.rstrip(b"\r")) > max_line:
            raise EnigmaError(f"{name}:{number}: line is longer than {describe_size(max_line)}")
        try:
            text = body.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            raise EnigmaError(f"{name}:{number}: not valid UTF-8 (byte {exc.start})") from None
        yield number, text
