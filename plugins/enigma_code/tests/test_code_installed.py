"""Functions this Python already has (builtins, str/list/dict methods, stdlib): listed with their
import, run for real in the sandbox like any draft, chosen or named next to another answer."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from enigma_code.answer import adapt_arity, installed_pointer
from enigma_code.candidates import Borrowed, Library, coverage, name_in_request
from enigma_code.installed import installed_functions, parameters
from enigma_code.sandbox import resolve_isolation, run_candidate
from enigma_code.sandbox_isolation import Isolation
from enigma_code.verify import Draft, agree, check_draft, choose_with_retrieved

ENIGMA = str(Path(sys.executable).with_name("enigma"))


@pytest.fixture(scope="module")
def iso() -> Isolation:
    return resolve_isolation()


def _find(module: str, name: str) -> Borrowed:
    return next(i for i in installed_functions() if i.module == module and i.name == name)


def test_installed_functions_are_thin_wrappers_with_their_import() -> None:
    items = installed_functions()
    assert len(items) > 200
    for item in items:
        ast.parse(item.code)  # every wrapper is valid Python
        assert item.call and item.package == "python" and item.licence == "PSF-2.0"
    gcd = _find("math", "gcd")  # gcd(*integers): two parameters, as most calls take
    assert gcd.code.endswith("def gcd(a, b):\n    return math.gcd(a, b)\n")
    assert gcd.attribution().startswith("# already installed, Python ")
    assert gcd.attribution().rstrip().endswith(": import math; math.gcd(a, b)")
    total = _find("builtins", "sum")  # no recursion: the builtin is called qualified
    assert "return builtins.sum(iterable)" in total.code and total.statement == "sum(iterable)"
    upper = _find("str", "upper")
    assert upper.code == "def upper(s):\n    return s.upper()\n" and upper.statement == "s.upper()"
    reverse = _find("list", "reverse")  # in place: the wrapper returns the list
    assert reverse.code == "def reverse(items):\n    items.reverse()\n    return items\n"
    assert _find("itertools", "accumulate").call == "list(itertools.accumulate(iterable))"
    assert _find("os.path", "splitext").home == "posixpath"
    # a function re-exported by a later module is listed once (statistics.sqrt is math.sqrt)
    assert not any(i.module == "statistics" and i.name == "sqrt" for i in items)
    assert not any(i.name in ("eval", "exec", "open", "input") for i in items)


def test_parameters_come_from_the_signature_or_the_docstring() -> None:
    assert parameters(max, "max", "max(iterable, *[, default=obj, key=func]) -> value") == (
        ["iterable"],
        False,
    )
    # a method's docstring signature has no self (the wrapper adds its own first parameter)
    assert parameters(str.count, "count", "S.count(sub[, start[, end]]) -> int") == (
        ["sub"],
        False,
    )
    assert _find("str", "count").code == "def count(s, sub):\n    return s.count(sub)\n"

    def needs_keyword(a, *, key):
        return a

    assert parameters(needs_keyword, "needs_keyword", "") is None


def test_an_installed_wrapper_runs_in_the_sandbox_and_passes_tests(iso: Isolation) -> None:
    request = "write a function that returns the greatest common divisor of two integers"
    gcd = _find("math", "gcd")
    draft = Draft(gcd.code, origin=f"{gcd.home}.gcd", relevance=coverage(request, gcd))
    check_draft(draft, request, iso)
    assert draft.status == "kept", draft.reason
    tests = "assert g(12, 18) == 6\nassert g(7, 5) == 1\n"
    assert run_candidate(gcd.attribution() + gcd.code, tests, "g", 5, isolation=iso).status == (
        "passed"
    )


def test_synonyms_count_for_relevance_names_and_ranking() -> None:
    request = "write a function that returns the largest item in a list"
    biggest = _find("builtins", "max")  # "return its biggest item"
    assert coverage(request, biggest) == 1.0
    assert name_in_request("max", request) and not name_in_request("min", request)
    lib = Library(installed_functions())
    assert next(i.name for _, i in lib.search(request, 3)) == "max"
    mean = "write a function that returns the average of a list of numbers"
    assert [(i.module, i.name) for _, i in lib.search(mean, 1)] == [("statistics", "mean")]


def test_agreement_ignores_probes_one_function_refuses() -> None:
    assert agree(("1", "2", "3", "raised ValueError"), ("1", "2", "3", "0"))
    assert not agree(("1", "2", "raised ValueError", "raised ValueError"), ("1", "2", "3", "0"))
    assert not agree(("1", "2", "3", "4"), ("1", "2", "3", "5"))


def test_a_star_args_function_gets_a_wrapper_with_the_requested_arity(iso: Isolation) -> None:
    code = "def merge(*dicts):\n    out = {}\n    for d in dicts:\n        out.update(d)\n"
    code += "    return out\n"
    request = "write a function that merges two dictionaries"
    adapted = adapt_arity(code, request)
    assert adapted.endswith("def merge_two(first, second):\n    return merge(first, second)\n")
    assert adapt_arity("def f(a, *rest):\n    return a\n", request).count("def ") == 1
    draft = Draft(adapted, origin="m.merge", relevance=1.0, named=True)
    check_draft(draft, request, iso)  # probed with two dicts, as the request says
    assert draft.status == "kept", draft.reason


def test_a_named_function_is_preferred_and_an_installed_one_is_pointed_at() -> None:
    bad = [Draft("x", status="syntax_error")]
    upper_first = Draft("def upper_first(s): ...", "upper_first", "kept", "", ("'A'",) * 3,
                        "pydash.upper_first", 1.0)  # fmt: skip
    camel = Draft("def camelize(s): ...", "camelize", "kept", "", ("'A'",) * 3,
                  "inflection.camelize", 0.7)  # fmt: skip
    upper = Draft("def upper(s): ...", "upper", "kept", "", ("'B'",) * 3, "str.upper", 0.7,
                  named=True)  # fmt: skip
    verdict, chosen = choose_with_retrieved(bad, [upper_first, camel, upper])
    assert verdict.verified and chosen is upper  # named first, before two that merely agree
    copy = Draft("def upper(s): ...", "upper", "kept", "", ("'B'",) * 3, "pkg.upper", 0.7,
                 named=True)  # fmt: skip
    upper.installed = True  # the installed one before a copied one, both named
    assert choose_with_retrieved(bad, [copy, upper])[1] is upper
    item = _find("str", "upper")
    shown = Draft("def shout(s): ...", status="kept", behaviour=("'B'",) * 3)
    assert installed_pointer([(upper, item)], shown) is item
    other = Draft("def shout(s): ...", status="kept", behaviour=("'C'",) * 3)
    assert installed_pointer([(camel, _find("str", "title"))], other) is None


def test_route_shows_an_installed_function_with_its_import() -> None:
    done = subprocess.run(
        [
            ENIGMA,
            "route",
            "--json",
            "write a function that returns the median of a list of numbers",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["output"].startswith("# already installed, Python ")
    assert "import statistics; statistics.median(data)" in out["output"].splitlines()[0]
    retrieved = out["data"]["retrieved"]
    assert retrieved["call"] == "statistics.median(data)" and retrieved["licence"] == "PSF-2.0"


def _dist(site: Path, name: str, licence: str, body: str) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nLicense: {licence}\n"
    )
    (site / name).mkdir()
    (site / name / "__init__.py").write_text(body)
    (info / "RECORD").write_text(f"{name}/__init__.py,,\n{name}-1.0.dist-info/METADATA,,\n")


def test_installed_third_party_packages_are_scanned_by_licence_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from enigma_code.installed import installed_package_functions, installed_packages

    site = tmp_path / "site"
    body = 'def shout(s):\n    """Return the string in upper case with an exclamation mark."""\n'
    _dist(site, "loudlib", "MIT", body + '    return s.upper() + "!"\n')
    _dist(site, "closedlib", "GPL-3.0-only", body.replace("shout", "whisper") + "    return s\n")
    monkeypatch.syspath_prepend(str(site))
    names = {row[0]: row[2] for row in installed_packages()}
    assert names.get("loudlib") == "MIT" and "closedlib" not in names
    cache = tmp_path / "home" / "installed.jsonl"
    items = installed_package_functions(cache)
    shout = next(i for i in items if i.name == "shout")
    assert (shout.package, shout.version, shout.licence, shout.module) == (
        "loudlib",
        "1.0",
        "MIT",
        "loudlib",
    )
    assert shout.installed() and "installed here: from loudlib import shout" in shout.attribution()
    assert not any(i.package == "closedlib" for i in items)
    assert cache.exists() and cache.with_suffix(".key").exists()
    assert installed_package_functions(cache) == items  # read back from the cache


def test_odd_installed_files_are_skipped_never_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A too deeply nested file, a file named by an absolute RECORD path, a non-UTF-8 file and
    unreadable METADATA are skipped; the package's ordinary function is still found."""
    from enigma_code.installed import installed_package_functions, installed_packages

    site = tmp_path / "site"
    body = 'def shout(s):\n    """Return the string in upper case with an exclamation mark."""\n'
    _dist(site, "oddlib", "MIT", body + '    return s.upper() + "!"\n')
    deep = "def g(x):\n    return " + "+".join(["1"] * 100_000) + "\n"
    (site / "oddlib" / "deep.py").write_text(deep)
    (site / "oddlib" / "latin.py").write_bytes(b'def f():\n    """caf\xe9"""\n    return 1\n')
    outside = tmp_path / "outside.py"
    outside.write_text('def leak(s):\n    """Return s."""\n    return s\n')
    record = site / "oddlib-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text() + f"oddlib/deep.py,,\noddlib/latin.py,,\n{outside},,\n")
    bad = site / "badmeta-1.0.dist-info"
    bad.mkdir()
    (bad / "METADATA").write_bytes(b"Metadata-Version: 2.1\nName: badmeta\nLicense: MIT \xe9\xff\n")
    monkeypatch.syspath_prepend(str(site))
    rows = {row[0]: row for row in installed_packages()}
    assert "oddlib" in rows and str(outside) not in map(str, rows["oddlib"][4])
    items = installed_package_functions(tmp_path / "cache" / "installed.jsonl")
    names = {i.name for i in items if i.package == "oddlib"}
    assert names == {"shout"}


def test_list_and_dict_methods_return_what_they_should() -> None:
    """``pop`` returns the item (not the shortened list), ``append`` the changed list; no
    wrapper of a classmethod (``dict.fromkeys``) or of an argument-less ``update``."""
    from enigma_code.installed import installed_functions

    by_key = {(i.module, i.name): i for i in installed_functions()}
    assert ("dict", "fromkeys") not in by_key and ("dict", "update") not in by_key
    namespace: dict[str, object] = {}
    exec(by_key[("list", "pop")].code, namespace)  # our own generated wrapper
    assert namespace["pop"]([3, 1, 2]) == 2
    exec(by_key[("list", "append")].code, namespace)
    assert namespace["append"]([1], 2) == [1, 2]


def test_nothing_that_touches_files_is_offered() -> None:
    """``shutil`` and ``os.path``'s file-system queries are not library candidates."""
    from enigma_code.installed import installed_functions

    homes = {(i.module, i.name) for i in installed_functions()}
    assert not any(module == "shutil" for module, _ in homes)
    assert ("os.path", "basename") in homes
    for name in ("exists", "getmtime", "expanduser", "isfile", "realpath", "abspath"):
        assert ("os.path", name) not in homes
