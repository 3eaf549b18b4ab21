"""Mine (request → function) pairs from Python source trees with ``ast``, split by module.

Each documented, non-test function or method becomes one pair: the request is its docstring's
summary rewritten by :mod:`enigma_code.phrasing`, the answer is its source, dedented, with the
docstring removed (the request already says what the docstring says; keeping it would teach
a 5M-parameter model to copy prose instead of writing code and doubles the answer length).
Pairs are deduplicated on the code's AST and split by source file, so no held-out file ever
contributes a training pair.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import sysconfig
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from enigma_code.phrasing import to_request
from enigma_core.errors import EnigmaError

SKIP_DIRS = frozenset(
    {
        "test",
        "tests",
        "idle_test",
        "testing",
        "site-packages",
        "dist-packages",
        "__pycache__",
        "testdata",
        "test_data",
        "fixtures",
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "build",
    }
)
DEFAULT_MAX_LINES = 40
DEFAULT_HELDOUT = 0.1
STDLIB_ROOT_LABEL = "stdlib"


@dataclass(frozen=True)
class Pair:
    """One mined example: request, answer and where the function lives (file relative to root)."""

    prompt: str
    completion: str
    source: str
    line: int
    name: str
    root: str = ""
    licence: str = ""
    """The licence family of the package it came from (``PSF-2.0`` for the stdlib)."""

    def to_json(self) -> str:
        """One JSON line (the format ``enigma data code`` writes)."""
        return json.dumps(asdict(self), ensure_ascii=False)


def stdlib_root() -> Path:
    """The running Python's standard library directory (the default mining source)."""
    return Path(sysconfig.get_paths()["stdlib"])


def is_test_file(path: Path) -> bool:
    """True for files that hold tests rather than library code."""
    name = path.name
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def python_files(root: Path) -> Iterator[Path]:
    """Every non-test ``.py`` file under ``root`` in sorted order (deterministic output)."""
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            path = Path(dirpath) / filename
            if filename.endswith(".py") and not is_test_file(path):
                yield path


def _is_trivial(body: list[ast.stmt]) -> bool:
    """True when a body (docstring removed) only passes or raises NotImplementedError."""
    if not body:
        return True
    if len(body) > 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and methods of (nested) classes; not functions inside functions."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop(0)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield child
            elif isinstance(child, ast.ClassDef):
                stack.append(child)


def function_answer(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str | None:
    """The function's dedented source without its docstring, or None if that is not clean."""
    body = node.body
    doc = body[0] if body and isinstance(body[0], ast.Expr) else None
    if doc is None or doc.end_lineno is None or node.end_lineno is None:
        return None
    if _is_trivial(body[1:]) or doc.lineno == node.lineno:
        return None
    start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    kept = lines[start - 1 : doc.lineno - 1] + lines[doc.end_lineno : node.end_lineno]
    if lines[doc.lineno - 1].strip()[:1] not in ('"', "'", "r", "u", "b", "R", "U", "B"):
        return None  # docstring shares its line with other code
    text = textwrap.dedent("".join(kept)).rstrip() + "\n"
    try:
        ast.parse(text)
    except SyntaxError:
        return None
    return text


def _variant(key: str) -> int:
    """A deterministic template choice for one function."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


def is_method(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """True when the function takes ``self`` or ``cls`` first (it needs its class)."""
    args = node.args.posonlyargs + node.args.args
    return bool(args) and args[0].arg in ("self", "cls")


def mine_file(
    path: Path, root: Path, max_lines: int = DEFAULT_MAX_LINES, root_label: str = ""
) -> list[Pair]:
    """Every usable pair of one file; unreadable or unparsable files give no pairs."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return []
    lines = text.splitlines(keepends=True)
    rel = path.relative_to(root).as_posix() if path != root else path.name
    pairs = []
    for node in _functions(tree):
        name = node.name
        if name.startswith("test") or (name.startswith("__") and name.endswith("__")):
            continue
        doc = ast.get_docstring(node)
        if not doc or (node.end_lineno or 0) - node.lineno + 1 > max_lines + doc.count("\n") + 1:
            continue
        answer = function_answer(node, lines)
        if answer is None or answer.count("\n") > max_lines:
            continue
        prompt = to_request(doc, _variant(f"{rel}:{name}:{node.lineno}"), is_method(node))
        if prompt is None:
            continue
        pairs.append(Pair(prompt, answer, rel, node.lineno, name, root_label))
    return pairs


def defined_name(code: str) -> str:
    """Name of the last top-level function or class ``code`` defines ('' if none or unparsable)."""
    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        return ""
    names = [
        n.name for n in body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    return names[-1] if names else ""


def code_key(code: str) -> str:
    """A dedup key that ignores comments and formatting: the sha256 of the code's AST dump."""
    return hashlib.sha256(ast.dump(ast.parse(code)).encode()).hexdigest()


def deduplicate(pairs: Iterable[Pair]) -> list[Pair]:
    """Keep the first pair of each distinct function body (vendored copies, repeated helpers)."""
    seen: set[str] = set()
    out = []
    for pair in pairs:
        key = code_key(pair.completion)
        if key not in seen:
            seen.add(key)
            out.append(pair)
    return out


def is_heldout(source: str, fraction: float = DEFAULT_HELDOUT) -> bool:
    """Whether a source file belongs to the held-out split (a hash of its path: deterministic)."""
    bucket = int(hashlib.sha256(source.encode()).hexdigest()[:8], 16) % 10_000
    return bucket < round(fraction * 10_000)


def split_by_module(
    pairs: Iterable[Pair], fraction: float = DEFAULT_HELDOUT
) -> tuple[list[Pair], list[Pair]]:
    """(train, held_out): whole files go to one side, never both."""
    train, held = [], []
    for pair in pairs:
        (held if is_heldout(f"{pair.root}:{pair.source}", fraction) else train).append(pair)
    return train, held


def mine(
    roots: Iterable[Path],
    max_lines: int = DEFAULT_MAX_LINES,
    labels: dict[Path, tuple[str, str]] | None = None,
) -> list[Pair]:
    """All deduplicated pairs of the given trees (files or directories), in a stable order.

    ``labels`` maps a root to its (label, licence), e.g. ``("toolz==1.0.0", "BSD")``."""
    pairs: list[Pair] = []
    for root in roots:
        root = Path(root)
        if not root.exists():
            raise EnigmaError(f"{root}: no such file or directory to mine")
        is_stdlib = root.resolve() == stdlib_root().resolve()
        label, licence = (labels or {}).get(root) or (
            (STDLIB_ROOT_LABEL, "PSF-2.0") if is_stdlib else (root.name, "")
        )
        base = root if root.is_dir() else root.parent
        for path in python_files(root):
            for pair in mine_file(path, base, max_lines, label):
                pairs.append(replace(pair, licence=licence))
    return deduplicate(pairs)


def heldout_path(out: Path) -> Path:
    """Where the held-out split of ``out`` goes: ``code.jsonl`` → ``code.heldout.jsonl``."""
    return out.with_name(f"{out.stem}.heldout{out.suffix or '.jsonl'}")


def write_jsonl(pairs: Iterable[Pair], path: Path) -> int:
    """Write pairs as JSON lines atomically; returns how many were written."""
    from enigma_core.atomic import atomic_write_lines

    return atomic_write_lines(path, (pair.to_json() for pair in pairs))


def read_jsonl(path: Path) -> list[Pair]:
    """Read pairs written by :func:`write_jsonl`; a bad line raises ``file:line`` EnigmaError."""
    pairs = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EnigmaError(f"{path}: cannot read ({exc.strerror})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            pairs.append(
                Pair(
                    str(row["prompt"]),
                    str(row["completion"]),
                    str(row.get("source", "")),
                    int(row.get("line", 0)),
                    str(row.get("name", "")),
                    str(row.get("root", "")),
                    str(row.get("licence", "")),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            what = f"not a prompt/completion JSON line ({exc})"
            raise EnigmaError(f"{path}:{number}: {what}") from None
    return pairs


def mine_to_files(
    roots: Iterable[Path],
    out: Path,
    max_lines: int = DEFAULT_MAX_LINES,
    heldout: float = DEFAULT_HELDOUT,
    labels: dict[Path, tuple[str, str]] | None = None,
) -> dict[str, int | str]:
    """Mine, split and write ``out`` (train) and its ``.heldout`` sibling; returns counts."""
    pairs = mine(roots, max_lines, labels)
    train, held = split_by_module(pairs, heldout)
    held_file = heldout_path(out)
    return {
        "train": write_jsonl(train, out),
        "heldout": write_jsonl(held, held_file),
        "train_file": str(out),
        "heldout_file": str(held_file),
        "train_modules": len({(p.root, p.source) for p in train}),
        "heldout_modules": len({(p.root, p.source) for p in held}),
    }
