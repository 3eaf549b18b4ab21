"""Unit tests judged by the parent: the sandbox only returns values, this module decides.

A task's tests are ``assert`` statements (or bare calls) over calls of the entry function with
literal arguments, e.g. ``assert square(3) == 9`` or ``assert not is_prime(1) and is_prime(2)``.
:func:`compile_tests` parses them here, without running anything, into the list of distinct
calls the sandbox must make; :func:`judge` evaluates each assertion over the values that came
back, with a small evaluator that knows literals, comparisons, ``and``/``or``/``not``,
arithmetic on numbers, subscripts and a few pure builtins. Test code never runs anywhere, so
a suite cannot declare itself passed, and a candidate decides only what its calls return.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from enigma_core.errors import EnigmaError

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ARITH: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_BUILTINS: dict[str, Callable[..., Any]] = {
    "abs": abs,
    "len": len,
    "round": round,
    "sorted": sorted,
    "list": list,
    "tuple": tuple,
    "set": set,
    "min": min,
    "max": max,
    "sum": sum,
}
MAX_NUMBER = 2**256


class TestError(Exception):
    """An assertion could not be evaluated (a call raised, or a type error between values)."""


@dataclass(frozen=True)
class Check:
    """One test statement: its line, its source and the expression to evaluate."""

    line: int
    source: str
    expr: ast.expr
    is_assert: bool


@dataclass(frozen=True)
class TestPlan:
    """Checks in order, and the distinct calls (positional, keyword literals) they need."""

    entry: str
    checks: tuple[Check, ...]
    calls: tuple[tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]], ...]
    call_index: dict[int, int] = field(default_factory=dict)  # id(ast.Call) -> calls index


def compile_tests(tests: str, entry: str, name: str = "tests", first_line: int = 1) -> TestPlan:
    """Parse ``tests`` into a :class:`TestPlan`; anything outside the form raises
    ``name:line: ...`` :class:`EnigmaError`. ``first_line`` is the file line of the first line."""
    where = first_line - 1
    try:
        tree = ast.parse(tests, mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = where + (getattr(exc, "lineno", None) or 1)
        raise EnigmaError(f"{name}:{line}: tests do not parse ({_oneline(exc)})") from None
    checks: list[Check] = []
    calls: list[tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]] = []
    index: dict[int, int] = {}
    for stmt in tree.body:
        line = where + stmt.lineno
        if isinstance(stmt, ast.Assert):
            expr, is_assert = stmt.test, True
        elif isinstance(stmt, ast.Expr) and _is_entry_call(stmt.value, entry):
            expr, is_assert = stmt.value, False
        else:
            raise EnigmaError(
                f"{name}:{line}: tests may hold only `assert` statements and calls of "
                f"{entry}(), not {type(stmt).__name__}"
            )
        _validate(expr, entry, name, line, calls, index)
        source = ast.get_source_segment(tests, stmt) or ast.unparse(stmt)
        checks.append(Check(line, source.splitlines()[0][:200], expr, is_assert))
    return TestPlan(entry, tuple(checks), tuple(calls), index)


def _oneline(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(getattr(exc, "msg", None) or exc or type(exc).__name__).split())


def _is_entry_call(node: ast.AST, entry: str) -> bool:
    """``entry(...)`` called by name."""
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (node.func.id == entry)
    )


def _validate(
    node: ast.AST,
    entry: str,
    name: str,
    line: int,
    calls: list[tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]],
    index: dict[int, int],
) -> None:
    """Check that ``node`` uses only the supported forms; register the entry calls."""

    def fail(what: str) -> EnigmaError:
        return EnigmaError(f"{name}:{line}: tests cannot use {what}")

    if _is_entry_call(node, entry):
        assert isinstance(node, ast.Call)
        try:
            args = tuple(ast.literal_eval(a) for a in node.args)
            kwargs = tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords if k.arg)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            raise fail(f"arguments of {entry}() that are not literals") from None
        if len(kwargs) != len(node.keywords):
            raise fail(f"**arguments in {entry}()")
        keys = [repr(c) for c in calls]  # repr tells 1, 1.0 and True apart; == does not
        if repr((args, kwargs)) not in keys:
            calls.append((args, kwargs))
            keys.append(repr((args, kwargs)))
        index[id(node)] = keys.index(repr((args, kwargs)))
        return
    if isinstance(node, ast.Call):
        if not (isinstance(node.func, ast.Name) and node.func.id in _BUILTINS) or node.keywords:
            raise fail(f"calls other than {entry}() and {', '.join(sorted(_BUILTINS))}")
        children: list[ast.AST] = list(node.args)
    elif isinstance(node, ast.Constant):
        return
    elif isinstance(node, ast.Compare):
        sides = [node.left, *node.comparators]
        for op, left, right in zip(node.ops, sides[:-1], sides[1:], strict=True):
            if isinstance(op, ast.Is | ast.IsNot) and not any(
                isinstance(n, ast.Constant) and (n.value is None or type(n.value) is bool)
                for n in (left, right)
            ):
                raise fail("`is` except with None, True or False")
        children = [node.left, *node.comparators]
    elif isinstance(node, ast.BoolOp | ast.List | ast.Tuple | ast.Set):
        children = list(node.values if isinstance(node, ast.BoolOp) else node.elts)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
        children = [node.operand]
    elif isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
        children = [node.left, node.right]
    elif isinstance(node, ast.Dict) and None not in node.keys:
        children = [*node.keys, *node.values]  # type: ignore[list-item]
    elif isinstance(node, ast.Subscript):
        children = [node.value, node.slice]
    elif isinstance(node, ast.Slice):
        children = [n for n in (node.lower, node.upper, node.step) if n is not None]
    else:
        raise fail(f"{type(node).__name__} expressions")
    for child in children:
        _validate(child, entry, name, line, calls, index)


def judge(plan: TestPlan, results: Sequence[tuple[bool, Any]]) -> tuple[str, str]:
    """``(status, detail)`` from the calls' results: each ``(True, value)`` or
    ``(False, "Type: message")``. The first check that raises or is false decides."""
    for check in plan.checks:
        try:
            value = _eval(check.expr, plan, results)
            ok = bool(value) if check.is_assert else True
        except TestError as exc:
            return "error", str(exc)
        except Exception as exc:  # e.g. comparing str < int fails here as in Python
            return "error", f"line {check.line}: {type(exc).__name__}: {exc}"[:300]
        if not ok:
            return "failed", f"line {check.line}: {check.source}{_returned(check, plan, results)}"
    return "passed", ""


def _returned(check: Check, plan: TestPlan, results: Sequence[tuple[bool, Any]]) -> str:
    """`` (got: 6)``: what the check's first call returned, for the failure message."""
    for node in ast.walk(check.expr):
        if id(node) in plan.call_index:
            ok, value = results[plan.call_index[id(node)]]
            return f" (got: {value!r:.200})" if ok else ""
    return ""


def _eval(node: ast.AST, plan: TestPlan, results: Sequence[tuple[bool, Any]]) -> Any:
    """Evaluate a validated expression over the returned values (short-circuits like Python)."""
    ev = lambda n: _eval(n, plan, results)  # noqa: E731
    if isinstance(node, ast.Call):
        if id(node) in plan.call_index:
            ok, value = results[plan.call_index[id(node)]]
            if not ok:
                raise TestError(str(value))
            return value
        assert isinstance(node.func, ast.Name)
        return _BUILTINS[node.func.id](*[ev(a) for a in node.args])
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BoolOp):
        value = None
        for sub in node.values:
            value = ev(sub)
            if bool(value) == isinstance(node.op, ast.Or):
                return value
        return value
    if isinstance(node, ast.Compare):
        left = ev(node.left)
        for op, sub in zip(node.ops, node.comparators, strict=True):
            right = ev(sub)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.UnaryOp):
        operand = ev(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        _number(operand)
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.BinOp):
        return _ARITH[type(node.op)](_number(ev(node.left)), _number(ev(node.right)))
    if isinstance(node, ast.List | ast.Tuple | ast.Set):
        maker = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
        return maker(ev(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return {ev(k): ev(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
    if isinstance(node, ast.Subscript):
        return ev(node.value)[ev(node.slice)]
    if isinstance(node, ast.Slice):
        parts = (node.lower, node.upper, node.step)
        return slice(*[None if p is None else ev(p) for p in parts])
    raise TypeError(f"unsupported expression {type(node).__name__}")


def _number(value: Any) -> Any:
    """Arithmetic happens on bounded numbers only (no ``'x' * 10**9`` in the parent)."""
    if type(value) not in (int, float, bool) or (type(value) is int and abs(value) > MAX_NUMBER):
        raise TypeError(f"arithmetic on {type(value).__name__} is not supported in tests")
    return value
