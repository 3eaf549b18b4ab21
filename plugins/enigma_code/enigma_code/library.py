"""Point at an installed function that already does what was asked (retrieval with attribution).

A small hand-written table maps request phrases to standard-library functions; an entry is
offered only when every word of one of its phrases is in the request and the function really
is importable here (checked with :mod:`importlib`, at most once per entry and process).
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LibraryHit:
    """An importable function: where it lives, how to import it and a call to copy."""

    module: str
    name: str
    call: str
    source: str = "Python standard library"

    @property
    def statement(self) -> str:
        """The import line."""
        return f"from {self.module} import {self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The ``TaskResult.data["library"]`` form."""
        return {
            "import": self.statement,
            "call": self.call,
            "module": self.module,
            "name": self.name,
            "source": self.source,
        }

    def comment(self) -> str:
        """The line shown next to the answer."""
        return f"# already installed ({self.source}): {self.statement}; {self.call}"


# (phrases: any one matches when all its words occur in the request) -> function
_TABLE: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (("greatest common divisor", "gcd"), "math", "gcd", "gcd(a, b)"),
    (("least common multiple", "lcm"), "math", "lcm", "lcm(a, b)"),
    (("factorial",), "math", "factorial", "factorial(n)"),
    (("hypotenuse", "distance between two points"), "math", "dist", "dist(p, q)"),
    (("square root",), "math", "sqrt", "sqrt(x)"),
    (("combinations count", "binomial coefficient", "n choose k"), "math", "comb", "comb(n, k)"),
    (("median",), "statistics", "median", "median(numbers)"),
    (("average", "mean of"), "statistics", "mean", "mean(numbers)"),
    (("standard deviation",), "statistics", "stdev", "stdev(numbers)"),
    (("most frequent", "mode of"), "statistics", "mode", "mode(items)"),
    (("leap year",), "calendar", "isleap", "isleap(year)"),
    (("count each", "counting each", "frequency of"), "collections", "Counter", "Counter(items)"),
    (("flatten list lists",), "itertools", "chain", "list(chain.from_iterable(lists))"),
    (("permutations",), "itertools", "permutations", "list(permutations(items))"),
    (("running totals", "cumulative sum"), "itertools", "accumulate", "list(accumulate(xs))"),
    (("running products",), "itertools", "accumulate", "list(accumulate(xs, mul))"),
    (("chunks of size", "split list into chunks"), "itertools", "batched", "list(batched(xs, n))"),
    (("binary search", "sorted list insert"), "bisect", "bisect_left", "bisect_left(items, x)"),
    (("merge sorted",), "heapq", "merge", "list(heapq.merge(a, b))"),
    (("largest items", "n largest"), "heapq", "nlargest", "nlargest(n, items)"),
    (("shuffle",), "random", "shuffle", "shuffle(items)"),
    (("camelcase snake_case",), "re", "sub", "re.sub(r'(?<!^)(?=[A-Z])', '_', s).lower()"),
    (
        ("remove punctuation",),
        "string",
        "punctuation",
        "s.translate(str.maketrans('', '', punctuation))",
    ),
    (("common prefix",), "os.path", "commonprefix", "commonprefix(words)"),
    (("file exists", "path exists"), "os.path", "exists", "exists(path)"),
    (("file extension", "extension of a file"), "os.path", "splitext", "splitext(name)[1]"),
    (("dot product",), "math", "sumprod", "sumprod(a, b)"),
    (("product of", "multiplies all"), "math", "prod", "prod(numbers)"),
    (("transpose matrix",), "builtins", "zip", "list(map(list, zip(*rows)))"),
    (("shortens a string", "truncate"), "textwrap", "shorten", "shorten(s, width)"),
)


def lookup(request: str) -> LibraryHit | None:
    """The first table entry whose phrase matches ``request`` and that is importable here."""
    words = set(re.findall(r"[a-z_]+", request.lower()))
    for phrases, module, name, call in _TABLE:
        if any(set(p.split()) <= words for p in phrases) and _importable(module, name):
            return LibraryHit(module, name, call)
    return None


@functools.lru_cache(maxsize=64)
def _importable(module: str, name: str) -> bool:
    """True when ``from module import name`` works in this Python (imports the module)."""
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False
