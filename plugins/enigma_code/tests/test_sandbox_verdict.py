"""The parent-side verdict: tests parsed without running them, judged over returned values.

Includes property-based tests (hypothesis) of the value codec that carries results out of the
sandbox and of the test parser, which reads suite files other people write.
"""

from __future__ import annotations

import contextlib
import math

import pytest
from enigma_code.sandbox import backend_status, run_candidate
from enigma_code.sandbox_child import Opaque, decode, encode
from enigma_code.verdict import compile_tests, judge
from hypothesis import given, settings
from hypothesis import strategies as st

from enigma_core.errors import EnigmaError

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.binary(max_size=20)
)
HASHABLE = st.recursive(
    SCALARS, lambda inner: st.tuples(inner, inner) | st.frozensets(inner), max_leaves=8
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(HASHABLE, inner, max_size=4)
        | st.sets(HASHABLE, max_size=4)
    ),
    max_leaves=20,
)


def _same(a: object, b: object) -> bool:
    """Equal and of the same types all the way down (1 != True != 1.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=False))  # type: ignore[arg-type]
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[attr-defined,index]
    return a == b


@given(VALUES)
@settings(max_examples=300, deadline=None)
def test_every_plain_value_survives_the_codec(value: object) -> None:
    assert _same(decode(encode(value)), value)


@given(
    st.recursive(
        st.none() | st.integers() | st.text(max_size=3),
        lambda inner: st.lists(inner, max_size=3),
        max_leaves=10,
    )
)
@settings(max_examples=200, deadline=None)
def test_decoding_garbage_raises_only_value_or_type_errors(data: object) -> None:
    with contextlib.suppress(ValueError, TypeError, IndexError, KeyError):
        decode(data)


def test_subclasses_travel_as_their_base_and_other_objects_stay_opaque() -> None:
    from collections import Counter, OrderedDict, namedtuple

    point = namedtuple("point", "x y")
    assert decode(encode(Counter("aab"))) == {"a": 2, "b": 1}
    assert decode(encode(OrderedDict(a=1))) == {"a": 1}
    assert decode(encode(point(1, 2))) == (1, 2)
    assert math.isnan(decode(encode(float("nan"))))
    opaque = decode(encode(object()))
    assert isinstance(opaque, Opaque) and opaque != opaque.name


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_tests_text_parses_or_fails_with_a_located_one_line_error(text: str) -> None:
    try:
        compile_tests(text, "f", "suite.txt", 10)
    except EnigmaError as exc:
        message = str(exc)
        assert message.startswith("suite.txt:") and "\n" not in message


@pytest.mark.parametrize(
    ("tests", "error"),
    [
        ("import os", "tests may hold only `assert`"),
        ("x = f(1)", "tests may hold only `assert`"),
        ("assert f(g(1)) == 1", "arguments of f() that are not literals"),
        ("assert f(1).real == 1", "Attribute expressions"),
        ("assert f(1) is 1", "`is` except with None, True or False"),
        ("assert open('x')", "calls other than f()"),
        ("assert f(1) == 2 ** 99999", "BinOp"),
        ("assert f(*[1])", "arguments of f() that are not literals"),
        ("assert (lambda: 1)()", "calls other than f()"),
    ],
)
def test_tests_outside_the_form_are_refused_before_running(tests: str, error: str) -> None:
    with pytest.raises(EnigmaError, match=r"^suite\.txt:5: ") as info:
        compile_tests(tests, "f", "suite.txt", 5)
    assert error in str(info.value)


def test_the_parent_judges_like_python_would() -> None:
    plan = compile_tests(
        "assert f(1) == 2\nassert f(True) is True\nassert not f(0) or f(9) < 3\nf(5)\n", "f"
    )
    assert len(plan.calls) == 5  # f(1) and f(True) are different calls
    values = {"(1,)": 2, "(True,)": True, "(0,)": 0, "(9,)": "boom", "(5,)": None}
    ok = [(True, values[repr(args)]) for args, _ in plan.calls]
    assert judge(plan, ok) == ("passed", "")  # f(9) never evaluated: `not f(0)` is true
    wrong = [(True, 1 if repr(args) == "(True,)" else values[repr(args)]) for args, _ in plan.calls]
    status, detail = judge(plan, wrong)
    assert status == "failed" and detail.startswith("line 2: assert f(True) is True (got: 1)")
    raised = [
        (False, "ZeroDivisionError: x") if args == (5,) else (True, values[repr(args)])
        for args, _ in plan.calls
    ]
    assert judge(plan, raised) == ("error", "ZeroDivisionError: x")
    typed = compile_tests("assert f(1) < 3\n", "f")
    status, detail = judge(typed, [(True, "a string")])
    assert status == "error" and "TypeError" in detail


def test_returned_objects_cannot_fake_equality() -> None:
    if "ok" not in backend_status().values():
        pytest.skip(f"no sandbox backend works here: {backend_status()}")
    code = (
        "class Yes:\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "    def __bool__(self):\n"
        "        return True\n"
        "def square(x):\n"
        "    return Yes()\n"
    )
    result = run_candidate(code, "assert square(3) == 9\n", "square")
    assert result.status == "failed", result
