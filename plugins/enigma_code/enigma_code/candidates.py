"""Retrieved drafts: documented, self-contained functions of the stdlib and pinned PyPI packages.

``enigma data code`` writes a *library*: every module-level function with a docstring whose code
runs on its own (free names are builtins, stdlib imports of its module, simple constants or other
self-contained functions of the same file, which come along), with the import line that reaches
it, its package, version and licence. For a request, :class:`Library` ranks them by BM25 over
the docstring's request form and the name; the best few join the model's drafts and go through
the same sandbox checks and agreement (:mod:`enigma_code.answer`). A generator is wrapped so the
draft returns a list. Nothing here is committed: the library is rebuilt by the command.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import functools
import importlib.util
import itertools
import json
import os
import re
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from enigma_code.mining import is_test_file, python_files, stdlib_root
from enigma_code.phrasing import to_request
from enigma_code.pypi import STDLIB_LICENCE
from enigma_code.retrieval import K1, B, stem, terms
from enigma_core.errors import EnigmaError

LIBRARY_NAME = "code_library.jsonl"
GENERIC = frozenset(
    [
        "true",
        "false",
        "if",
        "whether",
        "number",
        "list",
        "string",
        "str",
        "integer",
        "value",
        "item",
        "element",
        "given",
        "new",
        "one",
        "all",
        "each",
        "every",
        "check",
        "return",
        "get",
        "find",
        "comput",
        "calculat",
        "take",
        "give",
    ]
)
"""Request words too common to say which function is meant (stemmed as by ``terms``)."""
GENERIC_WEIGHT = 0.3
"""The BM25 weight of a :data:`GENERIC` request word against 1.0 for the others."""
_NAME_GENERIC = frozenset(
    [
        "is",
        "check",
        "get",
        "num",
        "find",
        "calc",
        "calculate",
        "compute",
        "do",
        "to",
        "make",
        "count",
    ]
)
_INFLECTIONS = frozenset(["s", "es", "d", "ed", "ing"])
_PREFIX = re.compile(r"^(is|has|to)(?=[a-z]{3})")
MAX_LINES = 60
_BUILTINS = frozenset(dir(builtins))
_STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Borrowed:
    """One self-contained function: its code (imports and helpers included) and attribution."""

    name: str
    summary: str
    code: str
    module: str
    package: str
    version: str
    licence: str
    source: str
    line: int
    call: str = ""
    """For a function this Python already has (:mod:`enigma_code.installed`): how to call it
    (``math.gcd(a, b)``, ``s.upper()``); the code is then a thin wrapper around that call."""

    @property
    def statement(self) -> str:
        """The import line that reaches the original (for a builtin or a method: its call)."""
        if self.call and (self.module == "builtins" or self.module in ("str", "list", "dict")):
            return self.call
        if self.call:
            return f"import {self.module}; {self.call}"
        return f"from {self.module} import {self.name}"

    @property
    def origin(self) -> str:
        """``package version (licence)``, the attribution shown with the code."""
        if self.package == "python":
            return f"Python {self.version} standard library ({self.licence})"
        return f"{self.package} {self.version} ({self.licence})"

    def installed(self) -> bool:
        """True when the original can be imported in this Python (its module is found)."""
        top = self.module.split(".")[0]
        try:
            return importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            return False

    def attribution(self) -> str:
        """The comment line shown above a retrieved answer."""
        if self.call:
            return f"# already installed, {self.origin}: {self.statement}\n"
        where = (
            "installed here" if self.installed() else f"pip install {self.package}=={self.version}"
        )
        if self.package == "python":
            where = "installed here"
        return f"# from {self.origin}, {where}: {self.statement}\n"

    @property
    def home(self) -> str:
        """The module that really defines it (``posixpath`` for ``os.path.splitext``): two
        library entries of one home are one origin when drafts are compared."""
        return self.source if self.call else self.module

    def to_dict(self) -> dict[str, object]:
        """The ``TaskResult.data["library"]`` form."""
        return {
            "import": self.statement,
            "module": self.module,
            "name": self.name,
            "package": self.package,
            "version": self.version,
            "licence": self.licence,
            "source": self.source if self.call else f"{self.source}:{self.line}",
            "installed": self.installed(),
            **({"call": self.call} if self.call else {}),
        }


def _bound(node: ast.AST) -> set[str]:
    """Names a function binds itself: parameters, assignments, loop/with/except targets,
    local imports, nested definitions and comprehension variables."""
    names: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.arg):
            names.add(sub.arg)
        elif isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
        elif isinstance(sub, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in sub.names)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        elif isinstance(sub, (ast.Global, ast.Nonlocal)):
            return {"<global>"}
    return names


def free_names(node: ast.AST) -> set[str] | None:
    """Names ``node`` reads but does not bind (builtins excluded); None if it uses ``global``."""
    bound = _bound(node)
    if "<global>" in bound:
        return None
    loads = {
        n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    return loads - bound - _BUILTINS


class _Module:
    """What a module defines at top level: stdlib imports, simple constants and functions."""

    def __init__(self, tree: ast.Module, lines: list[str]) -> None:
        self.imports: dict[str, str] = {}
        self.constants: dict[str, ast.stmt] = {}
        self.functions: dict[str, ast.FunctionDef] = {}
        self.lines = lines
        for stmt in tree.body:
            if isinstance(stmt, ast.Import):
                for a in stmt.names:
                    if a.name.split(".")[0] in _STDLIB:
                        as_ = f" as {a.asname}" if a.asname else ""
                        self.imports[(a.asname or a.name).split(".")[0]] = f"import {a.name}{as_}"
            elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module:
                if stmt.module.split(".")[0] in _STDLIB and stmt.module != "__future__":
                    for a in stmt.names:
                        as_ = f" as {a.asname}" if a.asname else ""
                        self.imports[a.asname or a.name] = (
                            f"from {stmt.module} import {a.name}{as_}"
                        )
            elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                if isinstance(target, ast.Name) and (stmt.end_lineno or 0) - stmt.lineno < 10:
                    self.constants[target.id] = stmt
            elif isinstance(stmt, ast.FunctionDef) and not stmt.decorator_list:
                self.functions[stmt.name] = stmt

    def source(self, node: ast.stmt) -> str:
        """The dedented source of a top-level statement."""
        return textwrap.dedent("".join(self.lines[node.lineno - 1 : node.end_lineno])).rstrip()

    def closure(self, name: str, seen: set[str] | None = None) -> tuple[set[str], list[str]] | None:
        """(import lines, helper sources in dependency order) that make ``name`` run alone;
        None when it reads a name this module cannot supply that way."""
        seen = set() if seen is None else seen
        seen.add(name)
        node = self.functions.get(name) or self.constants.get(name)
        if node is None:
            return None
        free = free_names(node)
        if free is None:
            return None
        imports: set[str] = set()
        helpers: list[str] = []
        for dep in sorted(free):
            if dep in self.imports:
                imports.add(self.imports[dep])
            elif dep in seen:
                continue
            elif dep in self.functions or dep in self.constants:
                sub = self.closure(dep, seen)
                if sub is None:
                    return None
                imports |= sub[0]
                helpers += [h for h in sub[1] if h not in helpers]
            else:
                return None
        return imports, [*helpers, self.source(node)]


def _is_generator(node: ast.FunctionDef) -> bool:
    """True when the function itself (not a nested one) yields."""
    stack: list[ast.AST] = list(node.body)
    while stack:
        sub = stack.pop()
        if isinstance(sub, (ast.Yield, ast.YieldFrom)):
            return True
        if not isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(sub))
    return False


def _list_wrapper(node: ast.FunctionDef) -> str | None:
    """``def name(a, b): return list(_name(a, b))`` for a generator with plain parameters."""
    args = node.args
    if args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
        return None
    params = ", ".join(a.arg for a in args.args)
    return f"def {node.name}({params}):\n    return list(_{node.name}({params}))"


def module_name(rel: str) -> str:
    """``algorithms/maths/gcd.py`` -> ``algorithms.maths.gcd`` (``__init__`` is the package)."""
    parts = rel.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def borrow_file(
    path: Path, base: Path, package: str, version: str, licence: str
) -> Iterator[Borrowed]:
    """Every self-contained, documented public function of one file."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
        rel = path.relative_to(base).as_posix()
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return  # unreadable, not UTF-8, too deeply nested to parse, or outside the package
    mod = _Module(tree, text.splitlines(keepends=True))
    module_doc = ast.get_docstring(tree) or ""
    for name, node in mod.functions.items():
        if name.startswith(("_", "test")):
            continue
        doc = ast.get_docstring(node) or ""
        # the function's docstring, else its module's (one-problem-per-file packages), else
        # its name: retrieval finds it by words, the sandbox checks decide whether it fits
        summary = (
            (to_request(doc, 0, False) if doc else None)
            or (
                to_request(module_doc, 0, False) if module_doc and len(mod.functions) <= 4 else None
            )
            or name.replace("_", " ")
        )
        found = mod.closure(name)
        if found is None:
            continue
        imports, parts = found
        if _is_generator(node):
            wrapper = _list_wrapper(node)
            if wrapper is None:
                continue
            own = parts[-1].replace(f"def {name}(", f"def _{name}(", 1)
            parts = [*parts[:-1], own, wrapper]
        code = "\n".join(sorted(imports)) + ("\n\n" if imports else "") + "\n\n".join(parts) + "\n"
        if code.count("\n") > MAX_LINES:
            continue
        yield Borrowed(
            name,
            summary.split(" that ", 1)[-1],
            code,
            module_name(rel),
            package,
            version,
            licence,
            rel,
            node.lineno,
        )


MAX_FILE_BYTES = 1_000_000
"""A larger ``.py`` file (generated tables, vendored bundles) is not read."""


def borrow(roots: Iterable[tuple[Path, str, str, str]]) -> list[Borrowed]:
    """The library of ``(root, package, version, licence)`` trees, one entry per distinct code."""
    return borrow_files((root, *about, python_files(root)) for root, *about in roots)


def borrow_files(
    sources: Iterable[tuple[Path, str, str, str, Iterable[Path]]],
) -> list[Borrowed]:
    """The library of ``(base, package, version, licence, files)``: every non-test file up to
    :data:`MAX_FILE_BYTES` mined by :func:`borrow_file`, one entry per distinct code."""
    seen: set[str] = set()
    out: list[Borrowed] = []
    for base, package, version, licence, paths in sources:
        for path in paths:
            if is_test_file(path) or not _readable_size(path):
                continue
            for item in borrow_file(path, base, package, version, licence):
                if item.code not in seen:
                    seen.add(item.code)
                    out.append(item)
    return out


def _readable_size(path: Path) -> bool:
    """Whether ``path`` is a regular file of at most :data:`MAX_FILE_BYTES`."""
    try:
        return path.is_file() and path.stat().st_size <= MAX_FILE_BYTES
    except OSError:
        return False


def stdlib_entry() -> tuple[Path, str, str, str]:
    """The running Python's standard library as a library root."""
    return stdlib_root(), "python", ".".join(map(str, sys.version_info[:3])), STDLIB_LICENCE


def write_library(items: Sequence[Borrowed], path: Path) -> int:
    """Write the library as JSON lines atomically; returns how many entries."""
    from enigma_core.atomic import atomic_write_lines

    return atomic_write_lines(path, (json.dumps(asdict(i), ensure_ascii=False) for i in items))


def read_library(path: Path) -> list[Borrowed]:
    """Read a library written by :func:`write_library`; a bad line raises ``file:line``."""
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EnigmaError(f"{path}: cannot read the code library ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        if line.strip():
            try:
                items.append(Borrowed(**json.loads(line)))
            except (ValueError, TypeError) as exc:
                raise EnigmaError(f"{path}:{number}: not a library entry ({exc})") from None
    return items


def default_library_path() -> Path:
    """``<ENIGMA_HOME>/data/code_library.jsonl``, where ``enigma data code`` writes it.

    The home follows the core's rule (``ENIGMA_HOME``, else the platform's user data folder);
    plugins may not import the core's private ``home`` module, so it is spelled out here."""
    explicit = os.environ.get("ENIGMA_HOME")
    if explicit:
        home = Path(explicit).expanduser()
    elif sys.platform == "win32":
        home = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "enigma"
    elif sys.platform == "darwin":
        home = Path.home() / "Library" / "Application Support" / "enigma"
    else:
        home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "enigma"
    return home / "data" / LIBRARY_NAME


SYNONYMS = (
    "largest biggest greatest maximum max",
    "smallest least minimum min",
    "average mean",
    "different distinct unique",
    "duplicate duplicates repeated",
    "upper uppercase",
    "lower lowercase",
    "remove delete strip",
    "position index",
    "join concatenate",
    "blank whitespace",
    "merge combine",
    "swap invert",
    "occurrences occurrence frequency",
    "snake underscore under",
    "total totals sum cumulative accumulated",
)
"""Words that say the same thing in requests and docstrings (plain English and the usual
programming names): a request word counts as said when a synonym is."""
_SYNONYM_OF: dict[str, frozenset[str]] = {}
for _group in SYNONYMS:
    _stems = frozenset(terms(_group))
    for _stem in _stems:
        _SYNONYM_OF[_stem] = _SYNONYM_OF.get(_stem, frozenset()) | _stems


def coverage(request: str, item: Borrowed) -> float:
    """Share of the request's telling words (stemmed, :data:`GENERIC` words left out) that the
    function's summary or name also has, or a synonym of (:data:`SYNONYMS`): 1.0 when its
    docstring says all the request says."""
    wanted = set(terms(request.split(" that ", 1)[-1])) - GENERIC
    said = set(terms(item.summary)) | set(terms(item.name))
    found = [w for w in wanted if w in said or _SYNONYM_OF.get(w, frozenset()) & said]
    return len(found) / len(wanted) if wanted else 0.0


ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "fib": ("fibonacci",),
    "rev": ("reverse|reversal",),
    "abs": ("absolute",),
    "pow": ("power",),
    "avg": ("average",),
    "lcm": ("least", "common", "multiple"),
    "gcd": ("greatest", "common", "divisor"),
}
"""Short function-name words and the request words they stand for (all of them; ``|``
separates forms of one word whose stems differ)."""
_ORDINALS = frozenset(["first", "second", "third", "fourth", "fifth", "last", "nth", "kth"])


_COUNTS = frozenset(["n", "k", "two", "three", "four", "five", "ten"])
_SUPERLATIVES = frozenset(
    [
        "most",
        "least",
        "largest",
        "smallest",
        "biggest",
        "highest",
        "lowest",
        "greatest",
        "longest",
        "shortest",
        "oldest",
        "newest",
        "youngest",
        "latest",
        "closest",
        "nearest",
        "farthest",
        "furthest",
        "best",
        "worst",
        "fastest",
        "slowest",
        "deepest",
        "widest",
        "heaviest",
        "lightest",
        "cheapest",
        "hottest",
        "coldest",
        "strongest",
        "weakest",
    ]
)
"""Words an ordinal ranks by ("the second largest"); a noun that ends in -est ("request",
"interest") is none."""


def _ranks(word: str, after: str) -> bool:
    """True for an ordinal that ranks the superlative after it ("second largest") or takes a
    count ("the first n fibonacci numbers"): several items or a rank, not the item at that
    position."""
    if word not in _ORDINALS:
        return False
    return after in _SUPERLATIVES or after in _COUNTS


def name_in_request(name: str, request: str) -> bool:
    """True when every word of the function's name (``is``/``get``/... left out) is a word of
    the request, compared on their first 4 letters (``is_power_of_two`` for "a power of two").
    A name word of 2 or 3 letters is an abbreviation that could stand for many words (``bin``:
    binary or bins; ``sum``: summary), so it counts only as a whole request word, with an
    inflection (``add`` for "adds"), as a synonym (``max`` for "largest") or spelled out
    (:data:`ABBREVIATIONS`: ``fib`` for "fibonacci", not ``rev`` for "revenue"). An ordinal
    before a superlative (:data:`_SUPERLATIVES`) or a count does not pick a position: "the
    second largest number" does not name ``second``, nor "the first n items" ``first``
    (``second_largest`` and ``first_n`` are named by them)."""
    whole = [p.lower() for p in re.split(r"_|(?<=[a-z])(?=[A-Z])|\d+", name) if p]
    parts = [q for p in whole for q in _PREFIX.split(p) if q]  # isleap -> is, leap
    parts = [p for p in parts if p not in _NAME_GENERIC and len(p) > 1]
    words = re.findall(r"[a-z]+", request.lower().split(" that ", 1)[-1])
    said = {s for w in words for s in _SYNONYM_OF.get(stem(w), ())}  # max for "largest"
    ranks: dict[str, set[str]] = {}  # "second" -> {"largest"}
    for w, after in itertools.pairwise(words):
        if _ranks(w, after):
            ranks.setdefault(w, set()).add(after[:4])
    words = [
        w
        for w, after in zip(words, [*words[1:], ""][: len(words)], strict=True)
        if not _ranks(w, after)
    ]

    def found(p: str) -> bool:
        if stem(p) in said:
            return True
        if p in ranks and p not in words:  # second_largest, not second, for "second largest"
            return any(q[:4] in ranks[p] for q in whole)
        spelled = ABBREVIATIONS.get(p, ())
        stems = {stem(w) for w in words}
        if spelled and all(stems & {stem(f) for f in s.split("|")} for s in spelled):
            return True
        if len(p) < 4:  # an abbreviation: the whole word, or it inflected
            return any(w == p or (w.startswith(p) and w[len(p) :] in _INFLECTIONS) for w in words)
        return any(w.startswith(p[:4]) or (len(w) >= 3 and p.startswith(w[:4])) for w in words)

    def joined(p: str) -> bool:  # capwords: "cap" + "words", both words of the request
        return any(found(p[:i]) and found(p[i:]) for i in range(3, len(p) - 2))

    return bool(parts) and all(found(p) or joined(p) for p in parts)


class Library:
    """BM25 over the library's request summaries and names (built in memory, ~ms per query)."""

    def __init__(self, items: Sequence[Borrowed]) -> None:
        self.items = list(items)
        counts = [Counter(terms(i.summary) + terms(i.name) * 2) for i in self.items]
        lengths = np.array([max(sum(c.values()), 1) for c in counts], np.float64)
        avg = float(lengths.mean()) if len(lengths) else 1.0
        df = Counter(t for c in counts for t in c)
        n = len(self.items)
        self.postings: dict[str, list[tuple[int, float]]] = {}
        for doc, counter in enumerate(counts):
            for term, tf in counter.items():
                idf = float(np.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5)))
                weight = idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * lengths[doc] / avg))
                self.postings.setdefault(term, []).append((doc, weight))

    def search(self, request: str, k: int = 3) -> list[tuple[float, Borrowed]]:
        """The ``k`` best entries for ``request`` with their scores (best first)."""
        scores: dict[int, float] = {}
        asked = set(terms(request))
        # words such as "list" or "number" say little about which function is meant
        weights = {t: GENERIC_WEIGHT if t in GENERIC else 1.0 for t in asked}
        for term in asked:  # a synonym counts half ("largest" finds "biggest item")
            for other in _SYNONYM_OF.get(term, frozenset()) - asked:
                weights[other] = max(weights.get(other, 0.0), 0.5)
        for term, factor in weights.items():
            for doc, weight in self.postings.get(term, ()):
                scores[doc] = scores.get(doc, 0.0) + weight * factor
        best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        return [(score, self.items[doc]) for doc, score in best]


@functools.lru_cache(maxsize=4)
def load_library(path: str | None = None) -> Library:
    """The library at ``path``, else the one ``enigma data code`` wrote under ENIGMA_HOME,
    else the running stdlib's, mined now and kept there (seconds, once per ENIGMA_HOME);
    plus the functions this Python already has (:mod:`enigma_code.installed`)."""
    if path:
        return Library(with_installed(read_library(Path(path))))
    chosen = default_library_path()
    if chosen.exists():
        return Library(with_installed(read_library(chosen)))
    items = borrow([stdlib_entry()])
    with contextlib.suppress(OSError):  # a read-only home: the library lives in this process
        write_library(items, chosen)
    return Library(with_installed(items))


def with_installed(items: Sequence[Borrowed]) -> list[Borrowed]:
    """``items`` plus the functions this Python already has (:mod:`enigma_code.installed`);
    a copied stdlib function that is also listed as installed (``textwrap.indent``) is kept
    once, as the installed one: its import is the better answer."""
    from enigma_code.installed import installed_functions, installed_package_functions

    have = installed_functions()
    homes = {(i.home, i.name) for i in have}
    known = {i.code for i in items}
    try:
        scanned = installed_package_functions()
    except Exception as exc:
        print(f"enigma: warning: installed packages not scanned ({exc})", file=sys.stderr)
        scanned = []
    packages = [i for i in scanned if i.code not in known]
    return [*(i for i in items if (i.module, i.name) not in homes), *have, *packages]
