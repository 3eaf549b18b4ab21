"""Mining (request -> function) pairs with ast: phrasing, filters, dedup and the module split."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from enigma_code.mining import (
    heldout_path,
    is_heldout,
    mine,
    mine_to_files,
    read_jsonl,
    split_by_module,
)
from enigma_code.phrasing import summary_of, third_person, to_request

from enigma_core.errors import EnigmaError

MODULE_A = '''
import inspect


def iscoroutinefunction(obj):
    """Return true if the object is a coroutine function.

    Longer explanation that must not reach the request.
    """
    return inspect.iscoroutinefunction(obj)


def _undocumented(x):
    return x


def stub():
    """Do nothing useful at all here."""
    pass


class Box:
    """A box."""

    def get_value(self, default=None):
        """Get the stored value, or the default
        when the box is empty."""
        # a real comment stays in the answer
        return self.value if self.value is not None else default

    def __repr__(self):
        """Return repr(self)."""
        return "Box()"

    def helper(self):
        """Internal helper used by other methods."""
        return 1


def outer(items):
    """Count the items that are truthy."""

    def inner(x):
        """Tell whether x is truthy."""
        return bool(x)

    return sum(1 for i in items if inner(i))


def test_something():
    """Check that something works as expected."""
    assert True
'''

MODULE_B_DUPLICATE = '''
import inspect


def iscoroutinefunction(obj):
    """Returns whether obj is a coroutine function (a vendored copy)."""
    return inspect.iscoroutinefunction(obj)


def count_truthy(items):
    """Count the items that are truthy."""

    def inner(x):
        """Tell whether x is truthy."""
        return bool(x)

    return sum(1 for i in items if inner(i))
'''


def _tree(root: Path) -> Path:
    """A tiny source tree: a package module, a near-duplicate module and test files."""
    pkg = root / "pkg"
    (pkg / "tests").mkdir(parents=True)
    (pkg / "mod_a.py").write_text(MODULE_A)
    (pkg / "mod_b.py").write_text(MODULE_B_DUPLICATE)
    (pkg / "test_mod.py").write_text(MODULE_A.replace("iscoroutinefunction", "other"))
    (pkg / "tests" / "helpers.py").write_text(MODULE_A.replace("iscoroutinefunction", "t2"))
    (pkg / "broken.py").write_text("def f(:\n    '''Return nothing.'''\n")
    return root


@pytest.mark.parametrize(
    ("docstring", "request_text"),
    [
        (
            "Return true if the object is a coroutine function.",
            "write a function that returns true if the object is a coroutine function",
        ),
        (
            "Returns the current file position.",
            "write a function that returns the current file position",
        ),
        (
            "Try to find 'executable' in PATH.",
            "write a function that tries to find 'executable' in PATH",
        ),
        (
            "Match a pattern at the start, e.g. a prefix.",
            "write a function that matches a pattern at the start, e.g. a prefix",
        ),
        ("Internal function.", None),
        ("foo(a, b) -> int", None),
        ("The default value.", None),
        ("parent - the parent widget", None),
        (">>> f(1)", None),
    ],
)
def test_docstring_becomes_a_request(docstring: str, request_text: str | None) -> None:
    assert to_request(docstring) == request_text


def test_summary_and_verbs() -> None:
    assert summary_of("Get the value\n    of x. More text.\n\nDetails.") == "Get the value of x"
    assert [third_person(v) for v in ("return", "try", "fix", "do", "match", "play")] == [
        "returns",
        "tries",
        "fixes",
        "does",
        "matches",
        "plays",
    ]


def test_mining_a_fixture_tree_gives_the_expected_pairs(tmp_path: Path) -> None:
    pairs = mine([_tree(tmp_path)])
    found = {(p.source, p.name): p for p in pairs}
    # Skipped: the test file, the tests/ folder, the broken file, undocumented functions,
    # stubs, dunders, "internal" helpers, test_* functions and nested functions. The copy of
    # iscoroutinefunction in mod_b has the same code, so dedup keeps the first one only;
    # count_truthy differs from outer by its name, so it stays.
    assert sorted(found) == [
        ("pkg/mod_a.py", "get_value"),
        ("pkg/mod_a.py", "iscoroutinefunction"),
        ("pkg/mod_a.py", "outer"),
        ("pkg/mod_b.py", "count_truthy"),
    ]
    coro = found[("pkg/mod_a.py", "iscoroutinefunction")]
    assert coro.line == 5 and coro.root == tmp_path.name
    assert coro.completion == (
        "def iscoroutinefunction(obj):\n    return inspect.iscoroutinefunction(obj)\n"
    )
    assert coro.prompt.endswith("that returns true if the object is a coroutine function")
    method = found[("pkg/mod_a.py", "get_value")]
    assert method.completion.startswith("def get_value(self, default=None):\n    # a real")
    assert method.prompt.endswith("gets the stored value, or the default when the box is empty")
    for pair in pairs:
        tree = ast.parse(pair.completion)  # every answer is valid, dedented code
        assert ast.get_docstring(tree.body[0]) is None  # its docstring was removed
    again = mine([tmp_path / "pkg", tmp_path / "pkg" / "mod_a.py"])
    assert len(again) == len(pairs)  # mining the same file twice adds no duplicates


def _many_modules(root: Path, n: int = 60) -> Path:
    for i in range(n):
        funcs = "\n\n".join(
            f'def f{i}_{j}(x):\n    """Return x times {k}."""\n    return x * {k}\n'
            for j in range(3)
            for k in [i * 100 + j]
        )
        (root / f"m{i:02d}.py").write_text(funcs)
    return root


def test_split_by_module_never_leaks_and_is_deterministic(tmp_path: Path) -> None:
    pairs = mine([_many_modules(tmp_path)])
    train, held = split_by_module(pairs, 0.2)
    assert train and held
    assert {p.source for p in train}.isdisjoint({p.source for p in held})
    assert len(train) + len(held) == len(pairs) == 180
    assert all(is_heldout(f"{p.root}:{p.source}", 0.2) for p in held)
    assert split_by_module(list(reversed(pairs)), 0.2)[1] == list(reversed(held))
    out = tmp_path / "out" / "code.jsonl"
    counts = mine_to_files([tmp_path], out, heldout=0.2)
    train_rows = read_jsonl(out)
    held_rows = read_jsonl(heldout_path(out))
    assert counts["train"] == len(train_rows) and counts["heldout"] == len(held_rows)
    assert {r.source for r in train_rows}.isdisjoint({r.source for r in held_rows})
    first = json.loads(out.read_text().splitlines()[0])
    assert set(first) >= {"prompt", "completion", "source", "line"}


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(EnigmaError, match="no such file"):
        mine([tmp_path / "missing"])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "completion": "c"}\nnot json\n')
    with pytest.raises(EnigmaError, match=r"bad\.jsonl:2:"):
        read_jsonl(bad)


def test_the_standard_library_split_keeps_every_module_on_one_side(tmp_path: Path) -> None:
    from enigma_code.mining import stdlib_root

    out = tmp_path / "stdlib.jsonl"
    counts = mine_to_files([stdlib_root()], out)
    train = read_jsonl(out)
    held = read_jsonl(heldout_path(out))
    assert counts["train"] > 1000 and counts["heldout"] > 100
    assert {p.source for p in train}.isdisjoint({p.source for p in held})
    assert not any("/test" in p.source or p.name.startswith("test") for p in train + held)
