"""The OS isolation that runs sandboxed code: bubblewrap, else ``unshare``; their command lines.

Both give the child new user, pid, network, mount, IPC and UTS namespaces, a root of its own
that holds only read-only ``/usr`` and the Python prefix, a minimal ``/dev``, a fresh ``/proc``
and a size-limited tmpfs ``/tmp`` (the only writable place), no capabilities and an empty
environment. When enigma runs as root, the sandbox is started as ``nobody`` first, so that its
files and ``/proc/sys`` checks are never those of the real root. ``none`` (only with
``--unsafe-no-isolation``) is a plain ``python -I -S`` child: limits, but no boundary.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import sys
from dataclasses import dataclass
from typing import Any

BACKENDS = ("bwrap", "unshare")
UNSAFE = "none"
_ROOT_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class Isolation:
    """A backend (``bwrap``, ``unshare`` or ``none``), its tool and the interpreter inside."""

    name: str
    tool: str
    python: str
    binds: tuple[str, ...]

    @property
    def isolated(self) -> bool:
        """False only for the unsafe ``none`` backend."""
        return self.name != UNSAFE

    def describe(self) -> str:
        """``bwrap (python /usr/bin/python3.11)``: what ran the code, for reports."""
        return f"{self.name} (python {self.python})"

    def argv(self, program: str, tmp_bytes: int) -> list[str]:
        """The command line that runs ``python -I -S -c program`` inside this isolation."""
        python = [self.python, "-I", "-S", "-c", program]
        if self.name == "bwrap":
            return [self.tool, *_bwrap_options(self.binds, tmp_bytes), *python]
        if self.name == "unshare":
            return [
                self.tool,
                "--user",
                "--map-root-user",
                "--mount",
                "--pid",
                "--fork",
                "--kill-child=SIGKILL",
                "--net",
                "--ipc",
                "--uts",
                "--",
                *python,
            ]
        return python

    def popen(self) -> dict[str, Any]:
        """Popen keywords: an empty environment; as root, the sandbox starts as nobody."""
        options: dict[str, Any] = {"env": {}}
        if self.isolated and os.geteuid() == 0:
            uid, gid = unprivileged_ids()
            options.update(user=uid, group=gid, extra_groups=[])
        return options

    def jail(self, tmp_bytes: int) -> dict[str, Any] | None:
        """What the child must build itself (``unshare`` only): binds and the /tmp size."""
        if self.name != "unshare":
            return None
        return {"binds": list(self.binds), "tmp_bytes": tmp_bytes}


def _bwrap_options(binds: tuple[str, ...], tmp_bytes: int) -> list[str]:
    """bubblewrap flags for the layout described in the module docstring."""
    options = [
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ]
    for path in binds:
        options += ["--ro-bind", path, path]
    for link in _ROOT_LINKS:
        if os.path.islink(link):
            options += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link) and not _under(link, binds):
            options += ["--ro-bind", link, link]
    options += ["--dev", "/dev", "--remount-ro", "/dev", "--proc", "/proc"]
    options += ["--size", str(tmp_bytes), "--tmpfs", "/tmp", "--remount-ro", "/"]
    return [*options, "--chdir", "/tmp"]


def _under(path: str, roots: tuple[str, ...]) -> bool:
    """True when ``path`` is one of ``roots`` or inside one."""
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def unprivileged_ids() -> tuple[int, int]:
    """uid and gid of ``nobody``/``nogroup`` (65534 where the names are unknown)."""
    try:
        uid = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        uid = 65534
    for name in ("nogroup", "nobody"):
        try:
            return uid, grp.getgrnam(name).gr_gid
        except KeyError:
            continue
    return uid, 65534


def interpreters() -> list[tuple[str, tuple[str, ...]]]:
    """Pythons the sandbox may run, best first, each with the paths it needs bound.

    First the interpreter behind this one (a venv's base); then the system ``python3``, for
    when the first lives where the sandbox's user cannot read (``/root/.pyenv``, say).
    """
    found: list[tuple[str, tuple[str, ...]]] = []
    base = os.path.realpath(getattr(sys, "_base_executable", "") or sys.executable)
    prefix = os.path.realpath(sys.base_prefix)
    binds: tuple[str, ...] = ("/usr",)
    for extra in (prefix, os.path.dirname(base)):
        if not _under(extra, binds):
            binds += (extra,)
    found.append((base, binds))
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system and os.path.realpath(system) != base:
        found.append((os.path.realpath(system), ("/usr",)))
    return found


def candidates() -> list[Isolation]:
    """Every (backend, interpreter) pair whose tool is installed, in order of preference."""
    out = []
    for name in BACKENDS:
        tool = shutil.which(name)
        if tool:
            out += [Isolation(name, tool, python, binds) for python, binds in interpreters()]
    return out


def unsafe() -> Isolation:
    """The ``none`` backend: this Python's interpreter, no namespaces."""
    python, binds = interpreters()[0]
    return Isolation(UNSAFE, "", python, binds)
