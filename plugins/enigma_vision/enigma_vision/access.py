"""Which files a request may make the vision task open, and opening them safely.

The policy is the task context's :class:`~enigma_core.context.FileAccess`: the local user's own
files (never devices, FIFOs, sockets, ``/proc``, ``/sys`` or ``/dev``), no files at all (a path is
just text), or only regular files inside one folder (resolved: symlinks cannot escape it).
Absent, forbidden and unreadable files all get the same one-line message, so errors never tell
which paths (or PIDs) exist, and a name is shown as written (``~`` is not expanded in messages).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from enigma_core.context import FileAccess
from enigma_core.errors import EnigmaError

FORBIDDEN = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Trees never read, whatever the policy (kernel and device files)."""
_SHOWN_CHARS = 200


def shown(name: str) -> str:
    """``name`` safe for a one-line message: control characters replaced, length capped."""
    text = "".join(ch if ch.isprintable() else "?" for ch in name)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def unavailable(name: str) -> EnigmaError:
    """The one error for a file that is absent, not allowed or not readable."""
    return EnigmaError(f"{shown(name)}: no such image file (or not allowed)")


def _candidate(name: str, files: FileAccess) -> Path:
    """The path ``name`` means under ``files`` (``~`` expanded only for the local user)."""
    text = name[len("file://") :] if name.lower().startswith("file://") else name
    if files.root is None:
        return Path(os.path.expanduser(text))
    return files.root / text  # an absolute name stays absolute, then must resolve inside root


def _forbidden(path: Path) -> bool:
    """True for a path in (or equal to) one of the :data:`FORBIDDEN` trees."""
    return any(path == tree or path.is_relative_to(tree) for tree in FORBIDDEN)


def locate(name: str, files: FileAccess) -> tuple[Path, os.stat_result] | None:
    """The resolved path and status of the regular file ``name`` if ``files`` lets the task
    open it, else None. Opens nothing; never raises for a bad name."""
    if not files.allowed or not name or "\x00" in name:
        return None
    try:
        path = _candidate(name, files)
        written = path if path.is_absolute() else Path.cwd() / path  # ".." kept: /proc/x/../..
        literal = Path(os.path.abspath(path))
        real = Path(os.path.realpath(path))
        if _forbidden(written) or _forbidden(literal) or _forbidden(real):
            return None
        if files.root is not None and not real.is_relative_to(files.root):
            return None
        status = os.stat(real)
    except (OSError, ValueError, RuntimeError):
        return None
    return (real, status) if stat.S_ISREG(status.st_mode) else None


def exists(name: str, files: FileAccess) -> bool:
    """True when ``name`` is a regular file the task may open (used to find paths in text)."""
    return locate(name, files) is not None


def open_image_file(name: str, files: FileAccess) -> BinaryIO:
    """Open the file ``name`` for reading under ``files``, or raise :func:`unavailable`.

    The descriptor is checked again after opening (same inode, still a regular file), so a
    file swapped for a FIFO, device or symlink in between is refused, and never blocks.
    """
    found = locate(name, files)
    if found is None:
        raise unavailable(name)
    real, before = found
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    flags |= getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError:
        raise unavailable(name) from None
    after = os.fstat(fd)
    if not stat.S_ISREG(after.st_mode) or (after.st_dev, after.st_ino) != (
        before.st_dev,
        before.st_ino,
    ):
        os.close(fd)
        raise unavailable(name)
    return os.fdopen(fd, "rb")
