"""The program that runs inside the sandbox: it calls the candidate and prints the raw values.

It is started as ``python -I -S -c <this file>`` and must not import enigma (the sandbox has
only the standard library). It reads one JSON payload on stdin: the candidate ``code``, the
function ``entry`` (and ``fallback``, the candidate's last top-level function), the ``calls``
(encoded arguments), the ``limits``, a per-run ``nonce`` and, for the ``unshare`` backend, the
``jail`` source that builds the private filesystem. It prints one line: the nonce, then JSON
with each call's encoded return value or exception. It never says whether a test passed: the
parent decides that from the values (:mod:`enigma_code.verdict`). The codec below is shared
with the parent, which imports this module.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

MAX_DEPTH = 64
MAX_NODES = 200_000
_LIMITS = (
    ("RLIMIT_AS", "memory"),
    ("RLIMIT_CPU", "cpu"),
    ("RLIMIT_NPROC", "procs"),
    ("RLIMIT_FSIZE", "fsize"),
    ("RLIMIT_NOFILE", "files"),
    ("RLIMIT_CORE", "core"),
)


class Opaque:
    """A returned object of a type that cannot leave the sandbox, known only by its type name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name} object>"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def encode(value: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Plain data as tagged JSON (``["i", "12"]``, ``["l", [...]]``); subclasses as their base.

    Base-class methods are called unbound so a candidate's overrides are not used. Other types
    become ``["o", type name]``; data deeper than MAX_DEPTH or over MAX_NODES raises ValueError.
    """
    budget = [MAX_NODES] if budget is None else budget
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise ValueError("the value is too large or too deep to leave the sandbox")
    kind = type(value)
    if value is None:
        return ["n"]
    if kind is bool:
        return ["b", value is True]
    for base, tag, text in (
        (int, "i", int.__repr__),
        (float, "f", float.__repr__),
        (str, "s", str.__str__),
    ):
        if isinstance(value, base):
            return [tag, text(value)]
    if isinstance(value, complex):
        return ["c", [complex.real.__get__(value), complex.imag.__get__(value)]]
    if isinstance(value, bytes | bytearray):
        return ["y", bytes(value).hex()]
    if isinstance(value, dict):
        return [
            "d",
            [
                [encode(k, depth + 1, budget), encode(v, depth + 1, budget)]
                for k, v in dict.items(value)
            ],
        ]
    for base, tag in ((list, "l"), (tuple, "t"), (set, "set"), (frozenset, "fs")):
        if isinstance(value, base):
            return [tag, [encode(item, depth + 1, budget) for item in base.__iter__(value)]]
    return ["o", kind.__name__[:80]]


def decode(data: Any) -> Any:
    """Inverse of :func:`encode`; malformed data raises ValueError or TypeError."""
    tag, rest = data[0], data[1:]
    if tag == "n":
        return None
    (body,) = rest
    simple = {"b": bool, "i": int, "f": float, "s": str}
    if tag in simple:
        if type(body) is not (bool if tag == "b" else str):
            raise TypeError(f"bad {tag!r} value")
        return simple[tag](body)
    if tag == "c":
        return complex(float(body[0]), float(body[1]))
    if tag == "y":
        return bytes.fromhex(body)
    if tag == "o":
        return Opaque(str(body))
    if type(body) is not list:
        raise TypeError(f"bad {tag!r} value")
    if tag == "d":
        return {decode(k): decode(v) for k, v in body}
    makers = {"l": list, "t": tuple, "set": set, "fs": frozenset}
    if tag not in makers:
        raise ValueError(f"unknown tag {tag!r}")
    return makers[tag](decode(item) for item in body)


def _set_limits(limits: dict[str, int]) -> None:
    """Lower soft and hard limits; a process without privileges can never raise them again."""
    import resource

    for name, key in _LIMITS:
        if key in limits and hasattr(resource, name):
            value = int(limits[key])
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(getattr(resource, name), (value, value))


def _describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, even when its ``__str__`` misbehaves."""
    try:
        text = str(exc)
    except BaseException:  # its __str__ may raise anything
        text = "?"
    return f"{type(exc).__name__}: {text}"[:300]


def _call(function: Any, call: list[Any]) -> dict[str, Any]:
    """Run one call; its encoded value or its exception."""
    try:
        args = [decode(a) for a in call[0]]
        kwargs = {key: decode(v) for key, v in call[1]}
        value = function(*args, **kwargs)
        return {"value": encode(value)}
    except BaseException as exc:  # whatever it raises is a result
        return {"raised": _describe(exc)}


def run(payload: dict[str, Any]) -> dict[str, Any]:
    """Execute the candidate then each call; the record the parent judges."""
    try:
        code = compile(payload["code"], "<candidate>", "exec")
    except (SyntaxError, ValueError) as exc:
        return {"status": "syntax_error", "detail": _describe(exc)}
    namespace: dict[str, Any] = {"__name__": "candidate"}
    try:
        exec(code, namespace)
    except BaseException as exc:
        return {"status": "error", "detail": _describe(exc)}
    function = namespace.get(payload["entry"])
    if not callable(function):
        function = namespace.get(payload.get("fallback") or "")
    if not callable(function):
        return {"status": "no_function", "detail": "the candidate defines no top-level function"}
    return {"status": "ran", "calls": [_call(function, call) for call in payload["calls"]]}


def main() -> None:
    """Read the payload, enter the jail if asked, limit, run, print the one result line."""
    payload = json.loads(sys.stdin.buffer.read())
    if payload.get("jail"):
        scope: dict[str, Any] = {"__name__": "jail"}
        exec(compile(payload["jail"], "<jail>", "exec"), scope)
        scope["enter_jail"](payload["jail_config"])
    _set_limits(payload["limits"])
    out = os.dup(1)
    quiet = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(quiet, fd)
    record = run(payload)
    line = (payload["nonce"] + json.dumps(record) + "\n").encode()
    while line:
        line = line[os.write(out, line) :]
    os._exit(0)


if __name__ == "__main__":
    main()
