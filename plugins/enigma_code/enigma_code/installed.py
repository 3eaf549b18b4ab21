"""Functions this Python already has: builtins, ``str``/``list``/``dict`` methods and stdlib
functions, found by name and docstring like any library entry; and the self-contained
functions of the permissively licensed third-party packages installed here.

Each becomes a library entry (:class:`~enigma_code.candidates.Borrowed`, ``wraps`` set) whose
code is a thin wrapper that calls the installed function (``import math`` /
``def gcd(a, b): return math.gcd(a, b)``), so it runs in the sandbox like any draft and is
shown with its import line. Parameters come from :func:`inspect.signature`, else from the
signature line a builtin's docstring starts with; a ``*args`` function gets the two
parameters most such calls take. Nothing is downloaded: only what imports here is listed.

Installed third-party distributions (:func:`installed_packages`) are read, never imported: their
``METADATA`` licence must be MIT, BSD, Apache or PSF, and their ``.py`` files are mined like the
pinned PyPI wheels (:func:`enigma_code.candidates.borrow_file`: self-contained copies, since the
sandbox sees no site-packages), shown as "installed here" with their import line. The result is
kept in the user cache folder (``~/.cache/enigma/code_installed-KEY.jsonl``), KEY naming the
set of installed distributions, so every ENIGMA_HOME of one environment shares one scan.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import importlib.metadata
import inspect
import keyword
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from enigma_code.candidates import (
    Borrowed,
    borrow_files,
    read_library,
    write_library,
)
from enigma_code.phrasing import summary_of, to_request
from enigma_code.pypi import PERMISSIVE, STDLIB_LICENCE, licence_family
from enigma_core.errors import EnigmaError

MODULES = (
    "builtins",
    "math",
    "statistics",
    "string",
    "itertools",
    "functools",
    "textwrap",
    "calendar",
    "heapq",
    "bisect",
    "os.path",
    "fnmatch",
    "difflib",
    "html",
    "unicodedata",
    "keyword",
    "json",
)
"""Standard-library modules whose public functions are offered (general-purpose utilities;
nothing that needs a network, a terminal or randomness, nothing that touches files)."""
ONLY: dict[str, frozenset[str]] = {
    "os.path": frozenset(
        ["basename", "dirname", "join", "split", "splitext", "normpath", "commonprefix", "isabs"]
    ),
}
"""Modules of which only these names are offered: ``os.path``'s string functions, not its
file-system queries (``exists``, ``getmtime``, ``expanduser``...)."""
TYPES: dict[str, tuple[type, str]] = {
    "str": (str, "s"),
    "list": (list, "items"),
    "dict": (dict, "d"),
}
"""Types whose public methods are offered as ``def upper(s): return s.upper()``."""
_SKIP = frozenset(
    [
        "breakpoint",
        "compile",
        "eval",
        "exec",
        "exit",
        "quit",
        "help",
        "input",
        "open",
        "print",
        "__import__",
        "globals",
        "locals",
        "vars",
        "dir",
        "id",
        "hash",
        "copyright",
        "credits",
        "license",
        "delattr",
        "setattr",
        "getattr",
        "hasattr",
        "super",
        "memoryview",
        "object",
        "type",
        "classmethod",
        "staticmethod",
        "property",
        "aiter",
        "anext",
        "iter",
        "next",
        "callable",
        "isinstance",
        "issubclass",
    ]
)
_DOC_SIGNATURE = re.compile(r"^\s*(?:[A-Za-z_.]+\.)?(\w+)\(([^)]*)\)")
_IDENT = re.compile(r"^[A-Za-z_]\w*$")


def _doc_params(name: str, doc: str) -> tuple[list[str], bool] | None:
    """Required positional parameters from a docstring's first signature line
    (``max(iterable, *[, default=obj, key=func]) -> value``, ``S.count(sub[, start[, end]])``):
    the plain names before any ``[`` or ``*``; plus whether it takes ``*args``."""
    match = _DOC_SIGNATURE.match(doc)
    if match is None or match.group(1) != name:
        return None
    inner = match.group(2)
    varargs = False
    head = inner.split("[", 1)[0]
    params = []
    for part in head.split(","):
        part = part.strip()
        if not part or part == "/" or part.startswith("*"):
            if part.startswith("*") and part.lstrip("*"):
                varargs = True
            if part.startswith("*"):
                break
            continue
        if "=" in part:
            break
        if not _IDENT.match(part):
            return None
        params.append(part)
    return params, varargs


def parameters(obj: Callable[..., object], name: str, doc: str) -> tuple[list[str], bool] | None:
    """(required positional parameter names, takes ``*args``), or None when it cannot be
    called with positional arguments alone (a required keyword-only parameter)."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return _doc_params(name, doc)
    params: list[str] = []
    varargs = False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            varargs = True
        elif p.kind is p.KEYWORD_ONLY and p.default is p.empty:
            return None
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            params.append(p.name)
    return params, varargs


def _summary(doc: str) -> str:
    """The docstring's request form ("returns the median of numeric data"), skipping the
    signature lines builtins start with; ``""`` when there is no sentence."""
    lines = doc.strip().splitlines()
    while lines and (_DOC_SIGNATURE.match(lines[0]) or not lines[0].strip()):
        lines = lines[1:]
    text = "\n".join(lines)
    request = to_request(text, 0, False)
    if request:
        return request.split(" that ", 1)[-1]
    return summary_of(text).lower()


def _names(params: list[str], varargs: bool) -> list[str]:
    """Parameter names for the wrapper (Python keywords and clashes renamed; ``*args`` -> two)."""
    out = [p if not keyword.iskeyword(p) else p + "_" for p in params]
    if varargs:  # gcd(*integers) -> gcd(a, b); join(a, *p) -> join(a, b)
        out += [n for n in ("a", "b", "c") if n not in out][: max(2 - len(out), 0)]
    return out


def _entry(module: str, name: str, obj: Callable[..., object], version: str) -> Borrowed | None:
    """The library entry of one stdlib function or builtin."""
    doc = inspect.getdoc(obj) or ""
    summary = _summary(doc)
    found = parameters(obj, name, doc)
    if not summary or found is None:
        return None
    params = _names(*found)
    args = ", ".join(params)
    call = f"{name}({args})" if module == "builtins" else f"{module}.{name}({args})"
    qualified = f"{module}.{name}({args})"
    if inspect.isclass(obj):  # an iterator class (itertools.accumulate, reversed): a list
        call, qualified = f"list({call})", f"list({qualified})"
    code = f"import {module}\n\n\ndef {name}({args}):\n    return {qualified}\n"
    real = getattr(obj, "__module__", None) or module  # os.path.splitext: posixpath
    real = real.lstrip("_")  # bisect_left lives in _bisect: the bisect module's
    return Borrowed(
        name, summary, code, module, "python", version, STDLIB_LICENCE, real, 0, call=call
    )


IN_PLACE = frozenset(["append", "extend", "insert", "remove", "reverse", "sort", "clear", "update"])
"""``list``/``dict`` methods that change the object and return None: their wrapper returns the
changed object; every other method's wrapper returns what the method returns (``pop``)."""


def _method(type_name: str, name: str, obj: Callable[..., object], version: str) -> Borrowed | None:
    """The library entry of one ``str``/``list``/``dict`` method: ``def upper(s): ...``."""
    self_name = TYPES[type_name][1]
    doc = inspect.getdoc(obj) or ""
    summary = _summary(doc)
    found = parameters(obj, name, doc)
    if not summary or found is None:
        return None
    params, varargs = found
    params = [p for p in params if p != "self"]
    if varargs:
        return None
    params = [self_name, *(p if p != self_name else p + "2" for p in _names(params, False))]
    rest = ", ".join(params[1:])
    call = f"{self_name}.{name}({rest})"
    if name in IN_PLACE and type_name != "str" and not rest and name not in ("reverse", "sort"):
        return None  # dict.update() / list.extend() with nothing to add: no function
    body = None if name in IN_PLACE and type_name != "str" else call
    if body is None:  # an in-place list/dict method: return the changed object
        code = f"def {name}({', '.join(params)}):\n    {call}\n    return {self_name}\n"
    else:
        code = f"def {name}({', '.join(params)}):\n    return {body}\n"
    return Borrowed(
        name,
        summary,
        code,
        type_name,
        "python",
        version,
        STDLIB_LICENCE,
        type_name,
        0,
        call=call,
    )


def _public(namespace: dict[str, object]) -> Iterator[tuple[str, object]]:
    """Public routines of a module or type namespace, sorted by name; iterator classes
    (``itertools.accumulate``, ``reversed``) count as functions returning a list."""
    for name in sorted(namespace):
        obj = namespace[name]
        if name.startswith("_") or name in _SKIP or not callable(obj):
            continue
        if inspect.isroutine(obj) or (inspect.isclass(obj) and hasattr(obj, "__next__")):
            yield name, obj


@functools.lru_cache(maxsize=1)
def installed_functions() -> tuple[Borrowed, ...]:
    """Every builtin, ``str``/``list``/``dict`` method and public function of :data:`MODULES`
    that imports here and has a usable docstring and positional signature (~ms, once)."""
    version = ".".join(map(str, sys.version_info[:3]))
    out: list[Borrowed] = []
    seen: set[int] = set()  # a function re-exported by a later module (statistics.sqrt) once
    for module in MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        allowed = ONLY.get(module)
        for name, obj in _public(vars(mod)):
            if id(obj) in seen or (allowed is not None and name not in allowed):
                continue
            seen.add(id(obj))
            item = _entry(module, name, obj, version)  # type: ignore[arg-type]
            if item is not None:
                out.append(item)
    for type_name, (kind, _) in TYPES.items():
        for name, obj in _public(dict(vars(kind))):
            if isinstance(obj, classmethod | staticmethod) or type(obj).__name__ == (
                "classmethod_descriptor"
            ):
                continue  # dict.fromkeys makes a new dict: not a method of the one passed
            item = _method(type_name, name, obj, version)  # type: ignore[arg-type]
            if item is not None:
                out.append(item)
    return tuple(out)


MAX_PACKAGE_FILES = 200
"""A distribution with more ``.py`` files than this (a framework, not a utility library) is
not mined: its functions would drown the small utilities in the ranking and take long to read."""
SCAN_FORMAT = 2
"""Changes when what the scan keeps changes, so an older cached scan is not read."""
SKIP_DISTRIBUTIONS = frozenset(["pip", "setuptools", "wheel", "pkg-resources"])
_META_SUFFIXES = (".dist-info", ".egg-info", ".egg-link")


def installed_packages() -> list[tuple[str, str, str, Path, list[Path]]]:
    """(name, version, licence family, base folder, ``.py`` files) of every distribution
    installed here whose METADATA states a permissive licence and that has at most
    :data:`MAX_PACKAGE_FILES` Python files (enigma's own plugins and core excluded)."""
    found = []
    seen: set[str] = set()
    for dist in importlib.metadata.distributions():
        try:  # a distribution with unreadable metadata is skipped, never an error
            row = _package(dist, seen)
        except Exception:
            continue
        if row is not None:
            found.append(row)
    return sorted(found, key=lambda row: row[0].lower())


def _package(
    dist: importlib.metadata.Distribution, seen: set[str]
) -> tuple[str, str, str, Path, list[Path]] | None:
    """One row of :func:`installed_packages`, or None when the distribution is not mined."""
    name = (dist.metadata.get("Name") or "").strip()
    key = name.lower().replace("_", "-")
    if not name or key in seen or key in SKIP_DISTRIBUTIONS or key.startswith("enigma"):
        return None
    seen.add(key)
    licence = licence_family(dist.read_text("METADATA") or "")
    if licence not in PERMISSIVE:
        return None
    files = [
        f
        for f in dist.files or ()
        if f.suffix == ".py" and ".." not in f.parts and not Path(str(f)).is_absolute()
    ]
    if not files or len(files) > MAX_PACKAGE_FILES:
        return None
    base = Path(str(dist.locate_file("")))
    return name, dist.version, licence, base, [base / str(f) for f in files]


def _fingerprint() -> str:
    """What the cached scan depends on: the ``*.dist-info`` / ``*.egg-info`` entries (name
    and version) of every folder on ``sys.path`` (a directory listing each, no metadata read)."""
    entries = [sys.version, str(MAX_PACKAGE_FILES), str(SCAN_FORMAT)]
    for folder in sys.path:
        with contextlib.suppress(OSError):
            names = [p.name for p in Path(folder or ".").iterdir()]
            entries += [f"{folder}/{n}" for n in sorted(names) if n.endswith(_META_SUFFIXES)]
    return hashlib.sha256("\n".join(entries).encode("utf-8", "surrogateescape")).hexdigest()[:16]


def scan_packages(packages: list[tuple[str, str, str, Path, list[Path]]]) -> list[Borrowed]:
    """The self-contained documented functions of ``packages`` (read with ``ast``)."""
    return borrow_files(
        (base, name, version, licence, paths) for name, version, licence, base, paths in packages
    )


def shared_cache_folder() -> Path:
    """Where scans of installed packages are kept: the user's cache folder
    (``$XDG_CACHE_HOME/enigma`` or ``~/.cache/enigma``), shared by every ENIGMA_HOME of this
    environment since the scan depends only on what is installed (its key is in the name)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "enigma"


def installed_package_functions(home_file: Path | None = None) -> list[Borrowed]:
    """:func:`scan_packages` of :func:`installed_packages`, cached in
    :func:`shared_cache_folder` under the installed distributions' key (a new key, a new scan)."""
    key = _fingerprint()
    path = home_file or shared_cache_folder() / f"code_installed-{key}.jsonl"
    stamp = path.with_suffix(".key")
    with contextlib.suppress(OSError, EnigmaError):
        if stamp.read_text().strip() == key:
            return read_library(path)
    items = scan_packages(installed_packages())
    with contextlib.suppress(OSError):  # a read-only cache: scan again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        write_library(items, path)
        stamp.write_text(key + "\n")
    return items
