"""Build the sandbox's private root inside fresh namespaces (the ``unshare`` backend).

Runs as the first thing in the sandboxed Python, which ``unshare --user --map-root-user
--mount --pid --fork --net --ipc --uts`` started as root of a new user namespace (an
unprivileged user outside). It does what bubblewrap does for the other backend: a tmpfs root
holding read-only binds of ``/usr`` and the Python prefix, a minimal ``/dev``, a fresh
``/proc`` of the new pid namespace (its ``sys``/``sysrq-trigger``/``irq``/``bus`` read-only),
a size-limited tmpfs ``/tmp`` as the only writable place; ``pivot_root`` to it, the old root
detached; then every capability dropped and ``no_new_privs`` set. Standard library only: the
parent passes this file's source in the payload (see ``sandbox_child.main``).
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
# statvfs f_flag bit -> mount flag; a bind remount inside a user namespace must keep them.
_KEEP = {
    1: MS_RDONLY,
    2: MS_NOSUID,
    4: MS_NODEV,
    8: MS_NOEXEC,
    1024: MS_NOATIME,
    2048: MS_NODIRATIME,
    4096: MS_RELATIME,
}
_PIVOT_ROOT = {
    "x86_64": 155,
    "aarch64": 41,
    "riscv64": 41,
    "ppc64le": 203,
    "s390x": 217,
    "armv7l": 218,
    "i686": 217,
}
_PR_CAPBSET_DROP, _PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT = 24, 38, 47
DEVICES = ("null", "zero", "full", "random", "urandom")
NEW_ROOT = "/tmp"  # a mount point that exists everywhere; the mount is private to this sandbox

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    """Raise OSError naming the step when a libc call failed."""
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"sandbox jail: {what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    """mount(2) through libc."""
    _check(
        _libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data or None)),
        f"mount {target}",
    )


def _bytes(text: str | None) -> bytes | None:
    """A C string argument (None stays NULL)."""
    return text.encode() if text is not None else None


def _mounts_under(path: str) -> list[str]:
    """Mount points at or below ``path`` (from /proc/self/mountinfo), parents first."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path or point.startswith(path.rstrip("/") + "/"):
                found.append(point)
    return sorted(found, key=len)


def _bind_readonly(source: str, target: str) -> None:
    """Recursive bind of ``source`` on ``target``, every mount in it made read-only."""
    _mount(source, target, None, MS_BIND | MS_REC)
    for point in _mounts_under(target):
        keep = 0
        flags = os.statvfs(point).f_flag
        for bit, mflag in _KEEP.items():
            if flags & bit:
                keep |= mflag
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | keep)


def _populate(root: str, binds: list[str], tmp_bytes: int) -> None:
    """Directories, read-only binds, devices, proc and /tmp under the new ``root``."""
    for path in binds:
        os.makedirs(root + path, exist_ok=True)
        _bind_readonly(path, root + path)
    for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(link):
            os.symlink(os.readlink(link), root + link)
        elif os.path.isdir(link) and not any(link.startswith(b) for b in binds):
            os.makedirs(root + link)
            _bind_readonly(link, root + link)
    os.makedirs(root + "/dev")
    for name in DEVICES:
        open(root + "/dev/" + name, "w").close()
        _mount("/dev/" + name, root + "/dev/" + name, None, MS_BIND)
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{fd}", root + "/dev/" + name)
    os.symlink("/proc/self/fd", root + "/dev/fd")
    os.makedirs(root + "/proc")
    _mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for sub in ("sys", "sysrq-trigger", "irq", "bus"):
        if os.path.exists(root + "/proc/" + sub):
            _bind_readonly(root + "/proc/" + sub, root + "/proc/" + sub)
    os.makedirs(root + "/tmp")
    _mount(
        "tmpfs",
        root + "/tmp",
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={tmp_bytes},nr_inodes=4096,mode=0755",
    )


def _pivot(root: str) -> None:
    """Make ``root`` the filesystem root and detach the old one completely."""
    number = _PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(f"sandbox jail: pivot_root number unknown on {os.uname().machine}")
    os.chdir(root)
    _check(_libc.syscall(number, b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_privileges(last_cap: int) -> None:
    """No capability left (bounding, ambient, effective, permitted), and no_new_privs."""
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    for cap in range(last_cap + 1):
        _check(_libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")
    _libc.prctl(_PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL; absent before 4.3
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(("CapEff:", "CapPrm:", "CapBnd:")) and int(line.split()[1], 16):
                raise OSError(f"sandbox jail: capabilities remain ({line.strip()})")


def enter_jail(config: dict[str, Any]) -> None:
    """Build the private root from ``config`` (``binds``, ``tmp_bytes``), enter it, drop caps."""
    with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as f:
        last_cap = int(f.read())
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", NEW_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=512,mode=0755")
    _populate(NEW_ROOT, list(config["binds"]), int(config["tmp_bytes"]))
    _pivot(NEW_ROOT)
    os.chdir("/tmp")
    drop_privileges(last_cap)
