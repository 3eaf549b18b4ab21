"""Retrieved drafts: licence checks of wheels, self-contained functions, ranking, and the
choice between model drafts and library functions (run for real in the sandbox)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from enigma_code.answer import verified_code
from enigma_code.candidates import (
    Library,
    borrow,
    borrow_file,
    coverage,
    name_in_request,
    read_library,
    write_library,
)
from enigma_code.generate import CodeModel
from enigma_code.pypi import fetch, licence_family, unpack
from enigma_code.sandbox import resolve_isolation
from enigma_code.sandbox_isolation import Isolation
from enigma_code.verify import Draft, check_draft, choose_with_retrieved

from enigma_core.errors import EnigmaError

ENIGMA = str(Path(sys.executable).with_name("enigma"))

MODULE = '''"""Small helpers."""
import math
from collections import Counter
import numpy as np

VOWELS = "aeiou"


def _clean(s):
    return "".join(c for c in s.lower() if c.isalnum())


def is_palindrome(s):
    """Return True if the string reads the same backwards, ignoring case and punctuation."""
    t = _clean(s)
    return t == t[::-1]


def count_vowels(s):
    """Count the vowels in a string."""
    return sum(c in VOWELS for c in s.lower())


def hypot2(a, b):
    """Return the hypotenuse of a right triangle."""
    return math.sqrt(a * a + b * b)


def letters(s):
    """Count each letter of a string."""
    return dict(Counter(s))


def evens(n):
    """Yield the even numbers below n."""
    for i in range(n):
        if i % 2 == 0:
            yield i


def norm(v):
    """Return the norm of a vector."""
    return np.linalg.norm(v)
'''


@pytest.fixture(scope="module")
def iso() -> Isolation:
    return resolve_isolation()


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "pkg"
    (root / "helpers").mkdir(parents=True)
    (root / "helpers" / "__init__.py").write_text("")
    (root / "helpers" / "text.py").write_text(MODULE)
    return root


def _wheel(folder: Path, name: str, version: str, licence: str) -> Path:
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            f"{name}-{version}.dist-info/METADATA",
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n{licence}\n",
        )
        archive.writestr(f"{name}/__init__.py", MODULE)
    return path


def test_licences_are_read_from_the_wheel_and_non_permissive_ones_refused(tmp_path: Path) -> None:
    assert licence_family("Name: a\nLicense-Expression: MIT\n") == "MIT"
    assert licence_family("Name: a\nClassifier: License :: OSI Approved :: BSD License\n") == "BSD"
    assert licence_family("Name: a\nLicense: Apache Software License 2.0\n") == "Apache"
    assert licence_family("Name: a\nLicense: GPL-3.0\n") == ""
    good = unpack(_wheel(tmp_path, "good", "1.0", "License: MIT"), "good", "1.0")
    assert good.licence == "MIT" and (good.root / "good" / "__init__.py").exists()
    assert good.label == "good==1.0"
    with pytest.raises(EnigmaError, match="GPL"):
        unpack(_wheel(tmp_path, "bad", "2.0", "License: GPL-3.0-only"), "bad", "2.0")
    with pytest.raises(EnigmaError, match=r"no wheel for missing==9 \(offline\)"):
        fetch(tmp_path, (("missing", "9"),), offline=True)
    assert [s.licence for s in fetch(tmp_path, (("good", "1.0"),), offline=True)] == ["MIT"]


def test_only_self_contained_functions_are_borrowed_with_what_they_need(tree: Path) -> None:
    items = {i.name: i for i in borrow_file(tree / "helpers" / "text.py", tree, "pkg", "1", "MIT")}
    assert set(items) == {"is_palindrome", "count_vowels", "hypot2", "letters", "evens"}
    assert "def _clean(s)" in items["is_palindrome"].code  # its helper comes along
    assert 'VOWELS = "aeiou"' in items["count_vowels"].code  # and a constant
    assert items["hypot2"].code.startswith("import math\n")
    assert items["letters"].code.startswith("from collections import Counter\n")
    assert "return list(_evens(n))" in items["evens"].code  # a generator answers a list
    assert items["is_palindrome"].statement == "from helpers.text import is_palindrome"
    assert items["is_palindrome"].summary.startswith("returns True if the string reads")


def test_a_borrowed_function_really_runs_in_the_sandbox(tree: Path, iso: Isolation) -> None:
    lib = Library(borrow([(tree, "pkg", "1", "MIT")]))
    request = "write a function that checks whether a string is a palindrome"
    (score, best), *_ = lib.search(request, 3)
    assert best.name == "is_palindrome" and score > 0
    draft = Draft(
        best.code,
        origin="helpers.text.is_palindrome",
        relevance=coverage(request, best),
        named=True,
    )
    check_draft(draft, request, iso)
    assert draft.status == "kept", draft.reason
    assert "True" in draft.behaviour  # "Racecar" is a palindrome once lower-cased


def test_relevance_and_names(tree: Path) -> None:
    lib = Library(borrow([(tree, "pkg", "1", "MIT")]))
    pal = next(i for i in lib.items if i.name == "is_palindrome")
    assert coverage("write a function that checks whether a string is a palindrome", pal) == 1.0
    assert coverage("write a function that sorts a list by length", pal) == 0.0
    assert name_in_request("is_power_of_two", "checks if a number is a power of two")
    assert name_in_request("isleap", "returns true if a year is a leap year")
    # a 2-3 letter name word is an abbreviation: a whole word (or inflected), not a prefix
    assert name_in_request("add", "write a function that adds two numbers")
    assert not name_in_request("bin", "converts an integer to its binary representation")
    assert name_in_request("bin", "sorts the values into a bin")
    assert not name_in_request("num_perfect_squares", "returns the square of a number")


def test_short_names_spelled_out_and_ranked_ordinals() -> None:
    """``fib``/``rev``/``abs``/``pow`` stand for the words they abbreviate; "the second largest"
    ranks and "the first n" counts, so toolz's ``second`` and ``first`` (the element at that
    position) are not named by them."""
    write = "write a function that "
    assert name_in_request("fib", write + "returns the nth fibonacci number")
    assert name_in_request("rev", write + "reverses a string")
    assert name_in_request("abs", write + "returns the absolute value of a number")
    assert name_in_request("pow", write + "raises a number to a power")
    assert name_in_request("lcm", write + "returns the least common multiple of two numbers")
    assert not name_in_request("lcm", write + "returns the least number of a list")
    largest = write + "returns the second largest number in a list"
    assert not name_in_request("second", largest)
    assert name_in_request("second_largest", largest)
    assert name_in_request("second", write + "returns the second item of a list")
    fibonacci = write + "returns the first n fibonacci numbers as a list"
    assert not name_in_request("first", fibonacci)
    assert name_in_request("first_n", write + "returns the first n items of a list")


def test_library_files_round_trip_and_bad_lines_name_file_and_line(
    tmp_path: Path, tree: Path
) -> None:
    items = borrow([(tree, "pkg", "1", "MIT")])
    path = tmp_path / "lib.jsonl"
    assert write_library(items, path) == len(items)
    assert read_library(path) == items
    path.write_text(path.read_text() + "{oops\n")
    with pytest.raises(EnigmaError, match=rf"lib.jsonl:{len(items) + 1}: not a library entry"):
        read_library(path)


def test_a_retrieved_function_is_shown_only_when_relevant_and_named_or_agreed() -> None:
    bad_model = [Draft("x", status="syntax_error") for _ in range(3)]
    named = Draft(
        "def is_odd(n):\n    return n % 2 == 1\n",
        origin="m.is_odd",
        status="kept",
        behaviour=("False", "True", "True", "False", "False"),  # one value per probe
        relevance=1.0,
        named=True,
    )
    verdict, chosen = choose_with_retrieved(bad_model, [named])
    assert verdict.verified and chosen is named
    unnamed = Draft(
        named.code, origin="m.odd_check", status="kept", behaviour=named.behaviour, relevance=1.0
    )
    assert not choose_with_retrieved(bad_model, [unnamed])[0].verified
    other = Draft(
        named.code, origin="other.parity", status="kept", behaviour=named.behaviour, relevance=0.3
    )
    verdict, chosen = choose_with_retrieved(bad_model, [unnamed, other])
    assert verdict.verified and chosen is unnamed and verdict.checks["cluster_size"] == 2
    off = Draft(
        named.code, origin="m.x", status="kept", behaviour=("1",), relevance=0.5, named=True
    )
    assert not choose_with_retrieved(bad_model, [off])[0].verified


def test_the_answer_carries_package_licence_and_import(tree: Path, iso: Isolation) -> None:
    lib = Library(borrow([(tree, "pkg", "1.2", "MIT")]))
    answer = verified_code(
        CodeModel.load(None),
        "write a function that checks whether a string is a palindrome",
        iso,
        drafts=2,
        library=lib,
        retrieved=3,
    )
    assert answer.verified and answer.borrowed is not None
    assert answer.output.startswith(
        "# from pkg 1.2 (MIT), pip install pkg==1.2: from helpers.text import is_palindrome\n"
    )
    assert answer.to_data()["retrieved"]["licence"] == "MIT"


def test_data_code_offline_without_wheels_fails_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            ENIGMA,
            "data",
            "code",
            "--pypi",
            "--offline",
            "--wheels",
            str(tmp_path / "none"),
            "--out",
            str(tmp_path / "o.jsonl"),
            "--library",
            str(tmp_path / "lib.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "no wheel for algorithms==1.0.1 (offline)" in done.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_without_a_library_file_the_stdlib_is_mined_once_and_kept() -> None:
    from enigma_code.candidates import default_library_path, load_library

    load_library.cache_clear()
    path = default_library_path()
    assert not path.exists()  # a fresh ENIGMA_HOME per test
    lib = load_library()
    assert path.exists()
    mined = read_library(path)  # the installed functions join in memory, never written here
    assert {i.package for i in mined} == {"python"}
    assert all(i.licence == "PSF-2.0" and not i.call for i in mined)
    assert {i for i in lib.items if i.package == "python" and not i.call} <= set(mined)
    assert any(i.call for i in lib.items)
    names = {f"{i.module}.{i.name}" for i in lib.items}
    assert "calendar.isleap" in names  # a self-contained stdlib function
    (_, best), *_ = lib.search("write a function that returns true if a year is a leap year", 1)
    assert best.name == "isleap"
    load_library.cache_clear()


def test_a_licence_is_accepted_only_when_everything_stated_is_permissive() -> None:
    """SPDX AND needs every term permissive, OR one branch; any other licence named refuses."""
    cases = {
        "License-Expression: GPL-3.0-only AND MIT": "",
        "License-Expression: GPL-3.0-only OR MIT": "MIT",
        "License-Expression: Apache-2.0 AND BSD-2-Clause": "Apache",
        "License-Expression: (MIT OR GPL-2.0) AND BSD-3-Clause": "",
        "License: Not MIT. Proprietary": "",
        "Classifier: License :: OSI Approved :: GNU General Public License v2 (GPLv2)\n"
        "Classifier: License :: OSI Approved :: BSD License": "",
        "Classifier: License :: OSI Approved :: Python Software Foundation License": "PSF",
    }
    for stated, family in cases.items():
        assert licence_family(f"Name: a\n{stated}\n") == family, stated


def test_only_superlatives_rank_and_abbreviations_stand_for_whole_words() -> None:
    """A noun that ends in -est ("request") is no superlative, so "the last request" names
    ``last``; ``rev`` stands for "reverse", not for a word that only starts like it ("revenue")."""
    write = "write a function that "
    assert name_in_request("last", write + "returns the last request in a list of requests")
    assert not name_in_request("second", write + "returns the second highest score in a list")
    assert not name_in_request("rev", write + "returns the revenue of a list of sales")
    assert name_in_request("rev", write + "returns the words of a sentence reversed")
    assert name_in_request("avg", write + "averages a list of numbers")
    assert name_in_request("rev", write + "returns the reversal of a list")
    assert not name_in_request("rev", "") and not name_in_request("x", "   ")
