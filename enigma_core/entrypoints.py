"""Plugin entry points found without importing :mod:`importlib.metadata` (issue 21).

Importing ``importlib.metadata`` pulls in the ``email`` package, ``zipfile``, ``csv`` and more:
as much CPU as half of ``import numpy``, on every ``enigma`` command. For the common layout
(``*.dist-info`` directories in plain ``sys.path`` directories) this module reads the same files
the same way: distributions in ``sys.path`` order, the first of each normalised name kept, the
``entry_points.txt`` sections parsed as ``importlib.metadata`` parses them, ``Name`` and
``Version`` read from the ``METADATA`` headers. Anything else (a zip or egg on the path, a
legacy ``.egg-info``, another distribution finder, an unusual file) and the scan returns None:
the caller then asks ``importlib.metadata`` itself.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable
from typing import Any, NamedTuple

_NAME_CHARS = re.compile(r"[-_.]+")
_SIMPLE_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")
_OBJECT_REF = re.compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"
)
"""importlib.metadata's ``EntryPoint.pattern``: ``module:attr.attr [extras]``."""


class _Unusual(Exception):
    """Something this scan does not handle exactly as importlib.metadata would."""


class FoundEntryPoint(NamedTuple):
    """One entry point: ``name = value`` in ``group``, from distribution ``distribution``
    (a named tuple: every command builds this class, and a dataclass costs 7x more to build)."""

    name: str
    value: str
    group: str
    distribution: str | None
    version: str | None

    def load(self) -> Any:
        """Import the module and return the object the value names (``module:attr.attr``)."""
        match = _OBJECT_REF.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r}: not a module:attr reference")
        target: Any = importlib.import_module(match.group("module"))
        for attr in filter(None, (match.group("attr") or "").split(".")):
            target = getattr(target, attr)
        return target


def _normalize(name: str) -> str:
    """importlib.metadata's ``Prepared.normalize``: PEP 503 name with underscores."""
    return _NAME_CHARS.sub("-", name).lower().replace("-", "_")


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Unusual(path) from exc


def _headers(text: str) -> dict[str, str]:
    """``Name`` and ``Version`` from a METADATA file's header block (simple values only)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if line[:1] in (" ", "\t"):  # a continued header: leave it to the email parser
            raise _Unusual("folded header")
        key, sep, value = line.partition(":")
        key = key.capitalize()  # the email parser's header names ignore case
        if sep and key in ("Name", "Version"):
            value = value.strip()
            if key in found or not _SIMPLE_VALUE.fullmatch(value):
                raise _Unusual(f"{key}: {value!r}")
            found[key] = value
    return found


def _entries(text: str, group: str) -> Iterable[tuple[str, str]]:
    """(name, value) of ``group`` in an ``entry_points.txt`` (importlib.metadata's parser)."""
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
            continue
        if section is None:
            continue
        if "=" not in line:
            raise _Unusual(f"entry point line {line!r}")
        name, _, value = line.partition("=")
        if section == group:
            if not _OBJECT_REF.match(value.strip()):
                raise _Unusual(f"entry point value {value!r}")
            yield name.strip(), value.strip()


def _distributions(path: list[str]) -> Iterable[str]:
    """Every ``*.dist-info`` directory on ``path``, in the order importlib.metadata sees them."""
    for root in path:
        if not isinstance(root, str):
            raise _Unusual(repr(root))
        where = root or "."
        if not os.path.isdir(where):
            if os.path.exists(where):  # a zip or egg file: importlib.metadata reads those
                raise _Unusual(where)
            continue
        if os.path.basename(root).lower().endswith(".egg"):
            raise _Unusual(root)
        try:
            children = os.listdir(where)
        except OSError:
            continue
        infos: dict[str, list[str]] = {}
        for child in children:
            low = child.lower()
            if low.endswith(".egg-info"):
                raise _Unusual(child)
            if low.endswith(".dist-info"):
                if not child.endswith(".dist-info"):  # importlib.metadata reads its METADATA
                    raise _Unusual(child)
                name = _normalize(low.rpartition(".")[0].partition("-")[0])
                infos.setdefault(name, []).append(os.path.join(root, child))
        for found in infos.values():
            yield from found


def _other_finders() -> bool:
    """True when a meta-path finder other than the standard PathFinder finds distributions."""
    from importlib.machinery import PathFinder

    return any(
        finder is not PathFinder and getattr(finder, "find_distributions", None) is not None
        for finder in sys.meta_path
    )


def scan(group: str, path: list[str] | None = None) -> list[FoundEntryPoint] | None:
    """The entry points of ``group`` on ``path`` (default ``sys.path``); None: ask
    importlib.metadata (a layout this scan does not handle)."""
    try:
        if path is None and _other_finders():
            return None
        seen: set[str] = set()
        out: list[FoundEntryPoint] = []
        for info in _distributions(sys.path if path is None else path):
            stem = os.path.splitext(os.path.basename(info))[0].partition("-")[0]
            key = _normalize(stem)
            if key in seen:
                continue
            seen.add(key)
            text = _read(os.path.join(info, "entry_points.txt"))
            entries = list(_entries(text, group)) if text else []
            if not entries:
                continue
            meta = _read(os.path.join(info, "METADATA"))
            if meta is None:
                raise _Unusual(f"{info}: no METADATA")
            headers = _headers(meta)
            for name, value in entries:
                out.append(
                    FoundEntryPoint(name, value, group, headers.get("Name"), headers.get("Version"))
                )
        return out
    except _Unusual:
        return None


def entry_points(group: str) -> list[FoundEntryPoint]:
    """The entry points of ``group``: :func:`scan`, or importlib.metadata where it cannot."""
    found = scan(group)
    if found is not None:
        return found
    from importlib import metadata

    out = []
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        out.append(
            FoundEntryPoint(
                ep.name,
                ep.value,
                group,
                dist.metadata["Name"] if dist is not None else None,
                dist.version if dist is not None else None,
            )
        )
    return out
