"""Behaviour checks of drafts: probe inputs, own doctests, name check, clusters, and the CLI's
no-answer exit status. Drafts really run in the sandbox (bubblewrap or unshare)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from enigma_code.sandbox import resolve_isolation
from enigma_code.sandbox_isolation import Isolation
from enigma_code.verify import (
    Draft,
    check_draft,
    choose,
    doctest_calls,
    entry_of,
    least_arity,
    name_matches,
    probe_calls,
)

ENIGMA = str(Path(sys.executable).with_name("enigma"))
DOCTEST_LIES = 'def square(x):\n    """>>> square(3)\n    10\n    """\n    return x * x\n'


@pytest.fixture(scope="module")
def iso() -> Isolation:
    return resolve_isolation()


def test_probes_follow_the_signature_and_the_request() -> None:
    assert entry_of("import os\ndef f(s, n=2):\n    return s\n") == ("f", ["s"])
    assert entry_of("x = 1\n") == ("", [])
    calls = probe_calls("reverse a string", ["s"])
    assert len(calls) == 5 and all(isinstance(args[0], str) for args, _ in calls)
    calls = probe_calls("sum of a list of numbers", ["xs", "n"])
    assert all(isinstance(a[0], list) and isinstance(a[1], int) for a, _ in calls)
    assert all(isinstance(a[0], list) for a, _ in probe_calls("largest item in a list", ["q"]))
    nested = probe_calls("flattens a list of lists into one list", ["lst"])
    assert all(all(isinstance(row, list) for row in a[0]) for a, _ in nested)
    assert any(a[0] for a, _ in nested)


def test_a_drafts_own_doctest_examples_are_read() -> None:
    code = 'def sq(x):\n    """\n    >>> sq(3)\n    9\n    >>> os.system("x")\n    0\n    """\n'
    assert doctest_calls(code, "sq") == [(((3,), ()), 9)]


def test_the_name_must_share_a_word_with_the_request() -> None:
    assert name_matches("is_prime", "checks if a number is prime")
    assert not name_matches("is_even", "checks if a number is prime")
    assert name_matches("celsiusToFahrenheit", "convert celsius to fahrenheit")


def test_drafts_that_crash_hang_raise_or_lie_are_discarded(iso: Isolation) -> None:
    request = "write a function that squares a number"
    cases = {
        "def square(x):\n    while True:\n        pass\n": "timeout",
        "def square(x):\n    raise ValueError(x)\n": "raises",
        "def square(x):\n    print(x)\n": "returns_none",
        DOCTEST_LIES: "doctest_failed",
        "def cube(x):\n    return x * x\n": "off_topic",
        "def square(x):\n    return x * x\n": "kept",
    }
    for code, status in cases.items():
        draft = Draft(code)
        check_draft(draft, request, iso)
        assert draft.status == status, (code, draft.reason)


def test_agreement_picks_the_majority_behaviour_or_nothing() -> None:
    a = Draft("def f(x):\n    return x+1\n", status="kept", behaviour=("1", "2"))
    b = Draft("def f(x):\n    return 1+x\n", status="kept", behaviour=("1", "2"))
    c = Draft("def f(x):\n    return x\n", status="kept", behaviour=("0", "1"))
    bad = Draft("def f(:\n", status="syntax_error", reason="line 1")
    chosen = choose([a, b, c, bad])
    assert chosen.verified and chosen.code == a.code and chosen.agreement == 0.5
    assert chosen.checks["clusters"] == 2 and chosen.checks["outcomes"]["syntax_error"] == 1
    assert not choose([a, c, bad]).verified  # no two drafts agree
    assert not choose([a, b, c, bad, bad]).verified  # 2 of 5 is no majority
    assert not choose([bad]).verified


def test_route_exits_3_with_a_plain_line_when_nothing_is_verified() -> None:
    request = "write a function that computes the airspeed velocity of an unladen swallow"
    done = subprocess.run(
        [ENIGMA, "route", request], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("# no verified function found for this request")
    assert len(done.stdout.splitlines()) == 1
    as_json = subprocess.run(
        [ENIGMA, "route", "--json", request],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert as_json.returncode == 3, as_json.stderr
    out = json.loads(as_json.stdout)
    assert out["status"] == "no_answer" and out["data"]["verified"] is False


def test_implausible_results_are_discarded(iso: Isolation) -> None:
    cases = {
        (
            "write a function that returns the square of a number",
            "def square_it(n):\n    return n * 0\n",
        ): "returns 0 for every probe",
        (
            "write a function that sorts a list of numbers",
            "def sort_numbers(text):\n    return list(text)\n",
        ): "returns its input unchanged",
        (
            "write a function that returns the number of words in a string",
            "def word_words(text):\n    return text.split()\n",
        ): "not a count",
        (
            "write a function that returns true if a string is empty",
            "def is_empty(s):\n    return len(s)\n",
        ): "not true or false",
        (
            "write a function that returns a dictionary counting each word",
            "def count_words(s):\n    return s.split()\n",
        ): "not a dict",
        ("write a function that adds two numbers", "def add(a):\n    return a\n"): "not 2",
    }
    for (request, code), why in cases.items():
        draft = Draft(code)
        check_draft(draft, request, iso)
        assert draft.status in ("implausible", "wrong_arity") and why in draft.reason, draft


def test_a_draft_that_makes_the_compiler_warn_prints_nothing() -> None:
    """``1st = 2`` style drafts make Python print a SyntaxWarning; the user must not see it."""
    script = (
        "from enigma_code.generate import syntax_error\n"
        "from enigma_code.verify import entry_of\n"
        "print(syntax_error('def f(x):\\n    return 1if x else 2\\n'))\n"
        "print(entry_of('def f(x):\\n    return 1if x else 2\\n'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["None", "('f', ['x'])"]
    assert done.stderr == ""
    # The same code parsed outside the drafts' file name does warn: the check can fail.
    plain = subprocess.run(
        [sys.executable, "-c", "import ast; ast.parse('x = 1if 1 else 2')"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "SyntaxWarning" in plain.stderr


def test_a_type_or_shape_error_on_an_ordinary_input_is_a_misfit(iso: Isolation) -> None:
    """A function that raises TypeError/IndexError/... for a plain, non-empty probe has another
    contract than the request's; refusing an empty input (``max([])``) is fair."""
    request = "write a function that returns true if two words are anagrams of each other"
    letters_only = (
        "def anagram(first, second):\n"
        "    counts = [0] * 26\n"
        "    for c in filter(str.isalnum, first.lower()):\n"
        "        counts[ord(c) - ord('a')] += 1\n"
        "    for c in filter(str.isalnum, second.lower()):\n"
        "        counts[ord(c) - ord('a')] -= 1\n"
        "    return not any(counts)\n"
    )
    draft = Draft(letters_only)
    check_draft(draft, request, iso)
    assert draft.status == "implausible" and "raises IndexError" in draft.reason, draft
    fair = Draft("def largest(items):\n    return max(items)\n")
    check_draft(fair, "write a function that returns the largest item in a list", iso)
    assert fair.status == "kept" and "raised ValueError" in fair.behaviour, fair


def test_a_count_besides_the_input_needs_its_own_argument(iso: Isolation) -> None:
    """ "the first n items of a list" takes the list and n: a one-argument function has
    another contract; "the factorial of n" or a list returned "from 1 to n" takes n alone."""
    draft = Draft("def first_items(items):\n    return items[:1]\n")
    check_draft(draft, "write a function that returns the first n items of a list", iso)
    assert draft.status == "wrong_arity" and "count" in draft.reason, draft
    for request, code in {
        "write a function that returns the factorial of n": "def factorial(n):\n"
        "    return 1 if n < 2 else n * factorial(n - 1)\n",
        "write a function that returns a list of the squares of the numbers from 1 to n": (
            "def squares(n):\n    return [i * i for i in range(1, n + 1)]\n"
        ),
    }.items():
        one = Draft(code)
        check_draft(one, request, iso)
        assert one.status == "kept", (request, one)
    two = Draft("def first_items(items, n):\n    return items[:n]\n")
    check_draft(two, "write a function that returns the first n items of a list", iso)
    assert two.status == "kept", two


def test_several_items_of_a_list_come_back_as_a_list(iso: Isolation) -> None:
    """ "the odd numbers of a list" or "adds one to every number in a list" wants a list: a
    predicate on one number (funcy's ``odd``) is not that."""
    for request, name in {
        "write a function that returns the odd numbers of a list": "odd",
        "write a function that adds one to every number in a list": "add",
    }.items():
        draft = Draft(f"def {name}(items):\n    return len(items) % 2 == 1\n")
        check_draft(draft, request, iso)
        assert draft.status == "implausible" and "not a list" in draft.reason, (request, draft)
    good = Draft("def odd_numbers(items):\n    return [x for x in items if x % 2]\n")
    check_draft(good, "write a function that returns the odd numbers of a list", iso)
    assert good.status == "kept", good


def test_a_count_with_a_default_is_an_argument(iso: Isolation) -> None:
    draft = Draft(
        "def chunk(items, size=1):\n"
        "    return [items[i : i + size] for i in range(0, len(items), size)]\n"
    )
    check_draft(draft, "write a function that splits a list into chunks of size n", iso)
    assert draft.status == "kept", draft


def test_a_function_that_refuses_most_probes_is_discarded(iso: Isolation) -> None:
    """Raising for 3 of the 5 probes leaves too little behaviour to judge (``list.remove``
    for "removes all None values from a list"); raising for one (``max([])``) does not."""
    code = (
        "def second_word(s):\n"
        "    words = s.split()\n"
        "    if len(words) < 2 or not words[1].isalpha():\n"
        "        raise ValueError('needs a second word')\n"
        "    return words[1]\n"
    )
    draft = Draft(code)
    check_draft(draft, "write a function that returns the second word of a sentence", iso)
    assert draft.status == "raises" and "3 of 5" in draft.reason, draft


def _kept(iso: Isolation, cases: dict[str, str]) -> None:
    for request, code in cases.items():
        draft = Draft(code)
        check_draft(draft, request, iso)
        assert draft.status == "kept", (request, draft)


def test_a_count_that_is_no_second_argument_keeps_one_argument_answers(iso: Isolation) -> None:
    """A count that sizes the input ("a list of n integers"), a list or string the function
    returns ("the first n fibonacci numbers as a list") or a count that is the input itself
    ("formats the integer n") asks for no second argument."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "takes a list of n integers and returns the largest one": (
                "def largest(nums):\n    return max(nums)\n"
            ),
            write + "returns the first n fibonacci numbers as a list": (
                "def fibonacci(n):\n    out, a, b = [], 0, 1\n    for _ in range(n):\n"
                "        out.append(a)\n        a, b = b, a + b\n    return out\n"
            ),
            write + "generates a list of the first n prime numbers": (
                "def primes(n):\n    out, c = [], 2\n    while len(out) < n:\n"
                "        if all(c % p for p in out):\n            out.append(c)\n"
                "        c += 1\n    return out\n"
            ),
            write + "formats the integer n as a string with thousands separators": (
                "def format_thousands(n):\n    return f'{n:,}'\n"
            ),
            write + "converts n to a binary string": "def to_binary(n):\n    return bin(n)[2:]\n",
        },
    )
    # a count tied to the input still needs its own argument
    draft = Draft("def rotate(items):\n    return items[1:] + items[:1]\n")
    check_draft(draft, write + "rotates a list to the left by k positions", iso)
    assert draft.status == "wrong_arity", draft


def test_an_index_error_on_a_too_short_input_is_a_fair_refusal(iso: Isolation) -> None:
    """``sorted(set(nums))[-2]`` raises IndexError for ``[5]`` and ``split()[1]`` for one
    word: too short an input, like an empty one, not another contract."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "returns the second largest number in a list": (
                "def second_largest(nums):\n    return sorted(set(nums))[-2]\n"
            ),
            write + "returns the second word of a sentence": (
                "def second_word(sentence):\n    return sentence.split()[1]\n"
            ),
            write + "swaps the first two elements of a list": (
                "def swap_first_two(items):\n    items = list(items)\n"
                "    items[0], items[1] = items[1], items[0]\n    return items\n"
            ),
        },
    )


def test_a_list_of_strings_is_probed_with_strings(iso: Isolation) -> None:
    """A list-named parameter of a request about a list of strings or words gets lists of
    strings: ``sep.join(items)`` refusing numbers is the prober's guess, not a misfit."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "joins a list of strings with a separator": (
                "def join_strings(items, sep):\n    return sep.join(items)\n"
            ),
            write + "converts a list of words to upper case": (
                "def upper_words(lst):\n    return [w.upper() for w in lst]\n"
            ),
        },
    )


def test_a_list_asked_for_as_a_string_may_come_back_as_one(iso: Isolation) -> None:
    request = "write a function that returns all items of a list as one comma separated string"
    _kept(iso, {request: "def items_string(items):\n    return ', '.join(str(x) for x in items)\n"})
    draft = Draft("def odd_numbers(items):\n    return ','.join(str(x) for x in items if x % 2)\n")
    check_draft(draft, "write a function that returns the odd numbers of a list", iso)
    assert draft.status == "implausible" and "not a list" in draft.reason, draft


def test_a_list_of_strings_the_function_returns_is_no_input(iso: Isolation) -> None:
    """ "converts a list of numbers to a list of strings": the strings are the result, so the
    list is probed with numbers (strings make ``f'{x:.2f}'`` raise and ``str(x)`` an identity)."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "converts a list of numbers to a list of strings with two decimals": (
                "def format_numbers(numbers):\n    return [f'{x:.2f}' for x in numbers]\n"
            ),
            write + "turns a list of numbers into a list of strings": (
                "def to_strings(nums):\n    return [str(x) for x in nums]\n"
            ),
            write + "takes a list of words and returns a list of strings in upper case": (
                "def upper_words(lst):\n    return [w.upper() for w in lst]\n"
            ),
        },
    )


def test_a_one_letter_name_after_its_type_word_goes_by_the_word(iso: Isolation) -> None:
    """ "transposes a matrix m" probes m with lists of lists, "reverses a string x" x with
    strings; a letter the request spells without a type word ("converts n to a binary string",
    "the nth element of the fibonacci sequence") is probed by its name, and a count after the
    input's own word ("repeats a string n times") stays a count."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "transposes a matrix m": (
                "def transpose(m):\n    return [list(r) for r in zip(*m)]\n"
            ),
            write + "returns the mean of a list x": (
                "def mean(x):\n    return sum(x) / len(x) if x else 0.0\n"
            ),
            write + "reverses a string x": "def reverse(x):\n    return x[::-1]\n",
            write + "converts n to a binary string": "def to_binary(n):\n    return bin(n)[2:]\n",
            write + "returns the nth element of the fibonacci sequence": (
                "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n"
                "        a, b = b, a + b\n    return a\n"
            ),
            write + "repeats a string n times": "def repeat(s, n):\n    return s * n\n",
        },
    )


def test_a_comparison_names_no_other_result(iso: Isolation) -> None:
    """ "as large as the number k" compares; it does not ask for a number back, so a count
    returned for "the elements of a list that ..." is still no list."""
    write = "write a function that "
    for request, code in {
        write + "returns the elements of a list that are as large as the number k": (
            "def elements_as_large(items, k):\n    return sum(1 for x in items if x >= k)\n"
        ),
        write + "removes the items from a list that are the same as the first number": (
            "def remove_same(items):\n"
            "    return len([x for x in items if x != items[0]]) if items else 0\n"
        ),
    }.items():
        draft = Draft(code)
        check_draft(draft, request, iso)
        assert draft.status == "implausible" and "not a list" in draft.reason, (request, draft)
    _kept(
        iso,
        {
            write + "returns the elements of a list that are as large as the number k": (
                "def elements_as_large(items, k):\n    return [x for x in items if x >= k]\n"
            ),
        },
    )


def test_a_typed_count_is_tied_only_to_an_input_named_before_it(iso: Isolation) -> None:
    """ "converts an integer n to a binary string" or "the divisors of an integer n in a list"
    take n alone (the string or list is the result); "a list and an integer k" takes both.
    Strings "of length n" that the function generates are no input either."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "generates all binary strings of length n": (
                "def binary_strings(n):\n    if n == 0:\n        return ['']\n"
                "    return [p + b for p in binary_strings(n - 1) for b in '01']\n"
            ),
            write + "converts an integer n to a binary string": (
                "def to_binary(n):\n    return bin(n)[2:]\n"
            ),
            write + "returns the divisors of an integer n in a list": (
                "def divisors(n):\n    return [d for d in range(1, n + 1) if n % d == 0]\n"
            ),
            write + "converts a number n to a list of its digits": (
                "def digits(n):\n    return [int(c) for c in str(abs(n))]\n"
            ),
            write + "returns the number n spelled out in words": (
                "def spell(n):\n"
                "    names = 'zero one two three four five six seven eight nine'.split()\n"
                "    return ' '.join(names[int(c)] for c in str(abs(n)))\n"
            ),
        },
    )
    for request, name in {
        write + "takes a list and an integer k and returns the k largest items": "largest",
        write + "splits a list into chunks of size n": "chunks",
        write + "pads a string to length n with spaces": "pad",
    }.items():
        draft = Draft(f"def {name}(items):\n    return items[-1:]\n")
        check_draft(draft, request, iso)
        assert draft.status == "wrong_arity", (request, draft)


def test_a_size_or_a_joined_input_keeps_the_count_an_argument(iso: Isolation) -> None:
    """A size of things cut from a named input ("substrings of length n"), a bound ("longer
    than n") or an input joined after a typed count ("an integer k and a list") asks for the
    count as an argument: a one-argument draft with a fixed count is refused."""
    write = "write a function that "
    for request in [
        write + "splits a string into substrings of length n",
        write + "returns the words in a sentence with length n",
        write + "splits a text into lines of width n",
        write + "wraps a string at width n",
        write + "truncates a string to a maximum length n",
        write + "returns the words of a sentence longer than n",
        write + "takes a number n and a string and repeats the string n times",
        write + "takes an integer k and a list and returns the k smallest items",
        write + "given an integer k and a string returns the string shifted by k",
    ]:
        assert least_arity(request) == 2, request
    draft = Draft("def split_string(s):\n    return [s[i : i + 3] for i in range(0, len(s), 3)]\n")
    check_draft(draft, write + "splits a string into substrings of length n", iso)
    assert draft.status == "wrong_arity", draft
    right = Draft("def split_len(s, n):\n    return [s[i : i + n] for i in range(0, len(s), n)]\n")
    check_draft(right, write + "splits a string into substrings of length n", iso)
    assert right.status == "kept", right


def test_the_only_matrix_or_list_of_strings_named_is_the_input(iso: Isolation) -> None:
    """ "returns the matrix transposed" or "returns a list of words sorted by length" names no
    other input: the matrix or the words are what the function takes and is probed with."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "returns the matrix transposed": (
                "def transpose(matrix):\n    return [list(r) for r in zip(*matrix)]\n"
            ),
            write + "adds a scalar to a matrix": (
                "def add_to_matrix(matrix, x):\n    return [[v + x for v in r] for r in matrix]\n"
            ),
            write + "returns a list of words sorted by length": (
                "def sort_words(items):\n    return sorted(items, key=len)\n"
            ),
            write + "appends a suffix to a list of names": (
                "def add_suffix(items, suffix):\n    return [s + suffix for s in items]\n"
            ),
        },
    )


def test_a_sequence_or_matrix_the_function_builds_is_no_input(iso: Isolation) -> None:
    """ "the fibonacci sequence of length n" or "an identity matrix of the given size" is what
    the function makes from one number; "returns an integer k and a list of its digits" names
    no input besides k (fourth review)."""
    write = "write a function that "
    _kept(
        iso,
        {
            write + "computes the fibonacci sequence of length n": (
                "def fibonacci(n):\n    out, a, b = [], 0, 1\n    for _ in range(n):\n"
                "        out.append(a)\n        a, b = b, a + b\n    return out\n"
            ),
            write + "returns the terms of the fibonacci sequence less than n": (
                "def fib_below(n):\n    out, a, b = [], 0, 1\n    while a < n:\n"
                "        out.append(a)\n        a, b = b, a + b\n    return out\n"
            ),
            write + "creates an identity matrix of the given size": (
                "def identity_matrix(size):\n"
                "    return [[int(i == j) for j in range(size)] for i in range(size)]\n"
            ),
        },
    )
    assert least_arity(write + "returns an integer k and a list of its digits") == 0
    assert least_arity(write + "generates all binary strings of length n") == 0
