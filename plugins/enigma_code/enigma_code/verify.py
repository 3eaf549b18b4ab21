"""Check drafts by behaviour: run each in the sandbox on probe inputs, cluster, pick by agreement.

A draft is kept only if it parses, defines a function whose name shares a word with the request,
runs without crashing or timing out, passes any doctest examples it wrote, does not raise on
most probes or return None on every probe, and fits the request (no type or shape error on an
ordinary input, the arguments and result type the request implies). Kept drafts are grouped by
what they returned on the same probes (behaviour clusters); the answer is the largest cluster,
and it counts as verified only when at least two drafts, and half of all drafts sampled, agree.
Otherwise there is no verified answer.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from enigma_code.drafts_parse import parse_draft
from enigma_code.sandbox import probe_candidate
from enigma_code.sandbox_isolation import Isolation

Call = tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]
PROBE_TIMEOUT_S = 2.0
PROBES = 5
RELEVANT = 0.66
"""A retrieved function whose docstring or name has this share of the request's telling words
(two of three will do) counts as on topic (it may be shown on its own when its name is in the
request, too)."""

_VALUES: dict[str, list[Any]] = {
    "str": ["hello world", "", "Racecar", "a,b;c d", "Python 3.11"],
    "char": ["a", "b", "E", "z", "7"],
    "int": [0, 1, 7, -3, 12],
    "float": [0.0, 1.5, -40.0, 36.6, 100.0],
    "list": [[3, 1, 2], [], [5], [1, 2, 2, 3], [-4, 0, 9, 9]],
    "nested": [[[1, 2], [3]], [], [[5]], [[1, 2], [3, 4]], [[-1, 0], [9, 9]]],
    "strlist": [["b", "a"], [], ["x"], ["hi", "there", "hi"], ["Ab", "cD"]],
    "dict": [{"a": 1, "b": 2}, {}, {"x": 9}, {"k": 0, "z": -1}, {"b": 2, "a": 3}],
    "bool": [True, False, True, False, True],
    "point": [(0, 0), (3, 4), (1, -1), (-2, 5), (6, 8)],
}
_NAME_HINTS: dict[str, tuple[str, ...]] = {
    "char": ("c", "ch", "char", "letter", "character"),
    "str": (
        "s",
        "text",
        "string",
        "word",
        "sentence",
        "name",
        "line",
        "str",
        "st",
        "string1",
        "string2",
        "s1",
        "s2",
        "prefix",
        "suffix",
        "sep",
        "path",
        "filename",
        "email",
        "url",
    ),
    "list": (
        "lst",
        "items",
        "nums",
        "numbers",
        "xs",
        "arr",
        "values",
        "seq",
        "sequence",
        "l",
        "lists",
        "data",
        "elements",
        "iterable",
        "a_list",
        "list1",
        "list2",
        "array",
    ),
    "strlist": ("words", "strings", "names", "lines"),
    "dict": ("d", "dct", "dictionary", "mapping", "dict1", "dict2", "counts"),
    "point": ("point", "point1", "point2", "p1", "p2"),
    "float": ("celsius", "fahrenheit", "temp", "f", "c_temp", "price", "rate", "kelvin"),
    "int": (
        "n",
        "x",
        "y",
        "a",
        "b",
        "num",
        "number",
        "k",
        "i",
        "m",
        "count",
        "year",
        "base",
        "exp",
        "width",
        "size",
        "start",
        "stop",
        "step",
        "limit",
        "times",
        "value",
        "val",
        "item",
        "elem",
        "element",
        "target",
    ),
}
_WORD_HINTS: dict[str, tuple[str, ...]] = {
    "nested": ("list of lists", "lists of lists", "matrix", "list of rows"),
    "point": ("two points", "point", "coordinates"),
    "strlist": ("list of words", "list of string", "list of names", "lists of strings"),
    "list": ("list", "numbers", "array", "elements", "items", "sequence"),
    "dict": ("dict", "dictionary", "mapping"),
    "str": ("string", "word", "text", "sentence", "palindrome", "name"),
    "char": ("character", "vowel", "letter"),
    "float": ("celsius", "fahrenheit", "temperature", "kelvin", "float", "percent"),
    "int": ("number", "integer", "prime", "factorial", "even", "odd", "digit", "year"),
}
_DOCTEST = re.compile(r"^[\s\"']*>>> (.+)\n\s*(?!>>>)(\S.*)$", re.MULTILINE)
_STOP = {
    "a",
    "an",
    "the",
    "of",
    "to",
    "is",
    "if",
    "get",
    "make",
    "do",
    "and",
    "or",
    "in",
    "def",
    "fn",
    "func",
    "function",
    "my",
    "value",
    "result",
    "helper",
}


@dataclass
class Draft:
    """One sampled answer and what the checks found."""

    code: str
    entry: str = ""
    status: str = "pending"
    reason: str = ""
    behaviour: tuple[str, ...] = ()
    origin: str = "model"
    """``model`` for a sampled draft, else ``module.name`` of a retrieved function."""
    relevance: float = 0.0
    """For a retrieved function: share of the request's words its docstring or name has."""
    named: bool = False
    """For a retrieved function: every word of its name is in the request."""
    installed: bool = False
    """For a retrieved function: this Python already has it (a builtin, method or stdlib
    function called by a thin wrapper); preferred to a copy when both qualify."""


@dataclass
class Verification:
    """The outcome: the chosen code (or ``""``), the checks run and the agreement found."""

    code: str
    verified: bool
    checks: dict[str, Any] = field(default_factory=dict)
    agreement: float = 0.0
    reason: str = ""


def entry_of(code: str) -> tuple[str, list[str]]:
    """Name and positional parameter names of the last top-level function, or ``("", [])``."""
    try:
        tree = parse_draft(code)
    except (SyntaxError, ValueError, RecursionError):
        return "", []
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not defs:
        return "", []
    fn = defs[-1]
    names = [a.arg for a in fn.args.posonlyargs + fn.args.args]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    required = len(names) - len(fn.args.defaults)
    return fn.name, names[: max(required, 0)]


def accepted_arity(code: str) -> int:
    """How many positional arguments the last top-level function accepts, defaults included
    (``chunk(array, size=1)`` accepts 2; ``*args`` accepts any number)."""
    try:
        tree = parse_draft(code)
    except (SyntaxError, ValueError, RecursionError):
        return 0
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not defs:
        return 0
    args = defs[-1].args
    if args.vararg is not None:
        return 1 << 16
    names = [a.arg for a in args.posonlyargs + args.args]
    return len(names) - (1 if names and names[0] in ("self", "cls") else 0)


_RESULT_ITEMS = re.compile(
    r"\b(to|into|returns?|gives?|produces?|generates?|creates?|makes?|builds?) "
    r"(a |an |the |one )?(\w+ )?(lists? of (lists|rows|words|strings|names)|matrix)"
)
"""A list of lists or of strings that the function gives back ("converts a list of numbers to
a list of strings"): it says what comes out, not what the input holds."""


_MADE_FROM = re.compile(r"\b(size|count|rows|columns|cols|limit|width|height|dimensions?|number)\b")
"""What a matrix or list the function builds is made from ("an identity matrix of the given
size"): then that result is no input, even when no other input is named."""


def _typed(letter: str, text: str) -> str:
    """The probe type of the type word right before a one-letter name ("a matrix m" ->
    ``nested``, "a string x" -> ``str``), or ``""``."""
    for kind, words in _WORD_HINTS.items():
        if any(re.search(rf"\b{w} {letter}(-?th)?\b", text) for w in words):
            return kind
    return ""


def kind_of(param: str, request: str, first: bool = False) -> str:
    """The probe type for a parameter: from its name, unless it is the first one and the
    request never mentions that type ("sorts a list of numbers" probes ``text`` with lists);
    without a name hint, from the request's words; else int. A list for a request about a
    list of lists or a matrix is probed with lists of lists, and one for a request about a
    list of strings or words with lists of strings (``sep.join(items)`` is no misfit for
    refusing numbers), unless that list is what the function returns. A one-letter parameter
    the request spells out ("converts n to a binary string", "the nth element") goes by its
    name, or, when it is the first and a type word stands right before it ("transposes a
    matrix m"), by that word."""
    text = request.lower()
    items_in = _RESULT_ITEMS.sub(" ", text)  # "to a list of strings" is no input ...
    if not _INPUT.search(items_in) and not _MADE_FROM.search(items_in):
        items_in = text  # ... unless it is the only one ("returns the matrix transposed")
    said = next(
        (
            k
            for k, words in _WORD_HINTS.items()
            if any(w in (items_in if k in ("nested", "strlist") else text) for w in words)
        ),
        "",
    )
    low = param.lower()
    named = next((k for k, names in _NAME_HINTS.items() if low in names), "")
    if said in ("nested", "strlist") and named in ("list", ""):  # items of "a list of words"
        return said
    if len(low) == 1 and low not in "ai" and re.search(rf"\b{low}(-?th)?\b", text):
        typed = _typed(low, text)
        if typed and first:  # "transposes a matrix m": m is the matrix
            return typed
        if named and not typed:  # "converts n to a binary string": n itself is the input
            return named
    if named and first and said and not any(w in text for w in _WORD_HINTS.get(named, ())):
        return said
    return named or said or "int"


def probe_calls(request: str, params: Sequence[str]) -> list[Call]:
    """``PROBES`` calls built from the signature and the request (one probe list per type)."""
    kinds = [kind_of(p, request, i == 0) for i, p in enumerate(params)]
    calls: list[Call] = []
    for i in range(PROBES):
        args = tuple(_VALUES[k][(i + j) % PROBES] for j, k in enumerate(kinds))
        calls.append((args, ()))
    return calls


def doctest_calls(code: str, entry: str) -> list[tuple[Call, Any]]:
    """``>>> entry(literal, ...)`` examples the draft wrote, with their expected literal."""
    found: list[tuple[Call, Any]] = []
    for expr, want in _DOCTEST.findall(code):
        try:
            call = parse_draft(expr.strip(), mode="eval").body
            expected = ast.literal_eval(want.strip())
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                continue
            if call.func.id != entry or call.keywords:
                continue
            args = tuple(ast.literal_eval(a) for a in call.args)
        except (SyntaxError, ValueError, TypeError, RecursionError):
            continue
        found.append(((args, ()), expected))
    return found[:5]


def name_matches(entry: str, request: str) -> bool:
    """True when a word of the function's name (3+ letters, its first 4) starts a word of the
    request ("add" matches "adds", "is_prime" matches "prime")."""
    words = [w for w in re.findall(r"[a-z]{3,}", request.lower()) if w not in _STOP]
    parts = [p.lower() for p in re.split(r"_|(?<=[a-z])(?=[A-Z])", entry) if p]
    stems = [p[:4] for p in parts if len(p) >= 3 and p not in _STOP]
    return any(w.startswith(stem) for stem in stems for w in words)


def check_draft(draft: Draft, request: str, iso: Isolation) -> None:
    """Run one draft's checks; sets its status (``kept`` or why not) and behaviour."""
    entry, params = entry_of(draft.code)
    draft.entry = entry
    if not entry:
        draft.status, draft.reason = "no_function", "no top-level function"
        return
    if not name_matches(entry, request) and draft.relevance < RELEVANT:
        draft.status, draft.reason = "off_topic", f"name {entry!r} shares no word with the request"
        return
    wanted = wanted_arity(request)
    if wanted and len(params) != wanted:
        draft.status, draft.reason = "wrong_arity", f"takes {len(params)} arguments, not {wanted}"
        return
    least = least_arity(request)
    if least and accepted_arity(draft.code) < least:
        draft.status, draft.reason = (
            "wrong_arity",
            f"takes {len(params)} arguments; the request names a count besides its input",
        )
        return
    doctests = doctest_calls(draft.code, entry)
    calls = probe_calls(request, params) + [c for c, _ in doctests]
    result, values = probe_candidate(draft.code, entry, calls, iso, timeout=PROBE_TIMEOUT_S)
    if result.status != "ran":
        draft.status, draft.reason = result.status, result.detail[:120]
        return
    for (ok, got), (_, want) in zip(values[PROBES:], doctests, strict=True):
        if not ok or got != want:
            draft.status, draft.reason = "doctest_failed", f"its own example gives {got!r:.60}"
            return
    probes = values[:PROBES]
    if all(not ok for ok, _ in probes):
        draft.status, draft.reason = "raises", str(probes[0][1])[:120]
        return
    refused = sum(not ok for ok, _ in probes)
    if refused * 2 > len(probes):  # what it does on the rest is too little to go on
        draft.status, draft.reason = "raises", f"raises for {refused} of {len(probes)} probes"
        return
    if all(ok and got is None for ok, got in probes):
        draft.status, draft.reason = "returns_none", "returns None for every probe"
        return
    calls_made = probe_calls(request, params)
    shape = (
        degenerate(calls_made, probes) or wrong_type(request, probes) or misfit(calls_made, probes)
    )
    if shape:
        draft.status, draft.reason = "implausible", shape
        return
    draft.behaviour = tuple(
        repr(got) if ok else "raised " + str(got).split(":")[0] for ok, got in probes
    )
    draft.status = "kept"


_TWO = re.compile(
    r"\btwo (\w+ )?(lists|numbers|integers|words|strings|dictionaries|points|vectors|values)\b"
)
_BOOL = re.compile(r"\b(returns? (true|whether)|checks? (whether|if)|is it|tells? whether)\b")
_COUNT = re.compile(r"\b(number of|how many|counts?)\b")
_DICT = re.compile(r"\b(returns?|builds?|makes?|groups?) (\w+ ){0,3}(a |an |the )?(new )?dict")
_SORT = re.compile(r"\bsort(s|ed)?\b")
_LIST_OUT = re.compile(
    r"\b(returns? (the |all |only )?(\w+ )?\w+s (of|in|from) (a|the) list"
    r"|removes? (\w+ ){1,3}from (a|the) list|(to|from) (every|each) \w+ (of|in) (a|the) list)\b"
)
"""A request for several items of a list, or for the list changed item by item, wants a
list (or tuple) back, unless it names another result (:data:`_OTHER_OUT`)."""
_OTHER_OUT = re.compile(
    r"\b(as|into) (a|an|one|single) (\w+ ){0,3}(string|text|number|dict|dictionary|set)\b"
    r"|\bas text\b|\bjoined\b"
)
"""A request that names a result other than a list ("as one comma separated string")."""
_COMPARED = re.compile(r"\b(as \w+|same|such) as\b")
"""A comparison ("as large as a number k", "the same as"): its "as" names no result."""
_TEXT = re.compile(r"\b(a|the|one|each) (\w+ )?(string|text|word|sentence)\b")
_MANY = re.compile(
    r"\b(lists?|split\w*|words|characters|chars|letters|tokens|lines|arrays?|tuples?|"
    r"sequences?|items|elements|each|all|every|indices|indexes|positions|sentences|pairs|parts|"
    r"substrings|vowels|consonants|digits|numbers|chunks|pieces)\b"
)
"""A request about one string that never asks for several things wants one value back."""


_COUNT_ARG = re.compile(r"\b[nk]\b")
_NOT_COUNT = re.compile(r"\b(letter|character|char|key|variable|column) [a-z]\b")
"""A single letter that names a thing, not a count ("the letter k")."""
_INPUT_WORDS = r"(list|string|text|sentence|array|tuple|dictionary|dict|sequence|word|name)s?"
_INPUT = re.compile(rf"\b{_INPUT_WORDS}\b")
_OUTPUT = re.compile(
    r"\b(returns?|gives?|builds?|makes?|generates?|creates?|produces?) (a|an|the) (new )?\w+"
    r"|\bas (a|an|one) (\w+ ){0,2}\w+"
)
_TIED_OF = re.compile(
    rf"\b[nk](-?th)? (\w+ ){{0,3}}(of|in|from) (a|an|the|each|every) (\w+ )?{_INPUT_WORDS}\b"
)
"""A count of an input's items: "the first n items of a list"."""
_TIED = re.compile(
    r"\b(by|rotate[sd]?|shift(s|ed)?) [nk]\b|\b[nk] times\b"
    r"|\b(into|to) [nk] (parts|chunks|pieces|groups|characters|chars|letters|words|items)\b"
)
"""A count that acts on an input: "rotates a list by k", "repeats a string n times",
"truncates a string to n characters"."""
_SIZED = re.compile(
    r"\b\w+ (of|with) (size|length|width) [nk]\b|\bat (width|length) [nk]\b"
    r"|\bto (a |an )?(maximum |max )?(size|length|width) [nk]\b"
    r"|\bthan (size |length |width )?[nk]\b"
)
"""A size or a bound: "substrings of length n", "words with length n", "wraps at width n",
"pads to length n", "longer than n". It is a second argument when an input is named with its
article ("splits a string into substrings of length n"), not when the sized things are all
there is ("all binary strings of length n")."""
_ARTICLE_INPUT = re.compile(
    r"\b(a|an|the|each|every) (\w+ )?"
    r"(list|string|text|sentence|array|tuple|dictionary|dict|word|name)s?\b"
)
"""An input named with its article; not "the fibonacci sequence" a function computes."""
_IN_CONTAINER = re.compile(r"\b(in|as|into) (a|an|one) (new |single )?(list|tuple|dict|set)\b")
"""A container the result comes in ("all binary strings of length n in a list")."""
_JOINED = re.compile(rf"\s*(,|and)\s+(a|an|the)\s+(\w+ )?{_INPUT_WORDS}\b")
"""An input joined right after a typed count: "an integer k and a list"."""
_TYPED_COUNT = re.compile(r"\b(integer|number|count) [nk]\b")
"""A count the request types ("an integer n"): the input itself ("converts an integer n to a
binary string"), or a second argument when an input is named before it ("a list and an
integer k")."""


def _names_input(text: str) -> bool:
    """Whether ``text`` names an input, once what the function returns is taken out."""
    return bool(_INPUT.search(_OUTPUT.sub(" ", text)))


def least_arity(request: str) -> int:
    """The fewest arguments the request implies: 2 when it ties a count ``n`` or ``k`` to an
    input (:data:`_TIED_OF`, :data:`_TIED`, :data:`_SIZED`, :data:`_TYPED_COUNT`), else 0. A
    container the function returns ("returns a list of the squares from 1 to n", "the first n
    fibonacci numbers as a list") is no input, a count that sizes the input ("takes a list of
    n integers") is no argument of its own, and a count alone is the input itself ("the
    factorial of n"). A typed count ("an integer n") is the input unless an input is named
    before it or joined after it ("a list and an integer k", "an integer k and a list"), so
    "the divisors of an integer n in a list" asks for one argument."""
    text = _NOT_COUNT.sub(" ", request.lower())
    if not _COUNT_ARG.search(text):
        return 0
    taken = _OUTPUT.sub(" ", text)  # "returns an integer k and a list of its digits": no input
    typed = _TYPED_COUNT.search(taken)
    if typed and (_names_input(taken[: typed.start()]) or _JOINED.match(taken[typed.end() :])):
        return 2
    if _SIZED.search(text) and _ARTICLE_INPUT.search(_IN_CONTAINER.sub(" ", taken)):
        return 2
    tied = _TIED.search(text) or (not typed and _TIED_OF.search(text))
    return 2 if tied and _names_input(text) else 0


def wanted_arity(request: str) -> int:
    """Arguments the request implies: 2 for "two lists/numbers/...", else 0 (no demand)."""
    return 2 if _TWO.search(request.lower()) else 0


def degenerate(calls: Sequence[Call], probes: Sequence[tuple[bool, Any]]) -> str:
    """Why the results cannot be an answer (same value for every input, or the input itself
    unchanged every time); ``""`` when they look like a real computation."""
    values = [repr(got) for ok, got in probes if ok]
    inputs = {repr(args) for args, _ in calls}
    if len(values) == len(probes) and len(set(values)) == 1 and len(inputs) > 1:
        return f"returns {values[0][:40]} for every probe"
    pairs = zip(probes, calls, strict=True)
    if all(ok and args and got == args[0] for (ok, got), (args, _) in pairs):
        return "returns its input unchanged"
    return ""


MISFIT_ERRORS = ("TypeError", "AttributeError", "IndexError", "KeyError")
"""Exceptions that say the function expects another kind or shape of input than the request's
(``multiply(a, b)`` of two numeric strings probed with a list), unlike a ``ValueError`` that
refuses one value of the right kind (``max([])``, ``factorial(-3)``)."""


def _empty(value: Any) -> bool:
    """An empty string, list, tuple or dict: an input a function may fairly refuse."""
    return isinstance(value, str | list | tuple | dict) and not value


SHORT_ERRORS = ("IndexError", "KeyError")
"""Errors a function may fairly raise for an input too short for it, as well as an empty one:
``sorted(set(nums))[-2]`` for ``[5]``, ``sentence.split()[1]`` for ``'Racecar'``."""


def _short_input(value: Any) -> bool:
    """A list, tuple or dict of at most one item, or a string of at most one word: too short
    for a function that wants its second item or word."""
    if isinstance(value, str):
        return len(value.split()) <= 1
    return isinstance(value, list | tuple | dict) and len(value) <= 1


def misfit(calls: Sequence[Call], probes: Sequence[tuple[bool, Any]]) -> str:
    """Why the function's contract is not the request's: it raises one of
    :data:`MISFIT_ERRORS` on a probe whose arguments are ordinary (none empty), such as
    ``IndexError`` for ``"hello world"`` from an anagram check that indexes a table of the 26
    lower-case letters; ``""`` when it does not. An empty input may raise anything, and an
    input too short (one item, one word) may raise one of :data:`SHORT_ERRORS`."""
    for (ok, got), (args, _) in zip(probes, calls, strict=True):
        kind = str(got).split(":", 1)[0]
        if ok or kind not in MISFIT_ERRORS or not args or any(_empty(a) for a in args):
            continue
        if kind in SHORT_ERRORS and any(_short_input(a) for a in args):
            continue
        return f"raises {kind} for an ordinary input {_short(args)}"
    return ""


def _short(args: tuple[Any, ...]) -> str:
    """The probe's arguments as shown in a reason: ``('hello world',)`` -> ``'hello world'``."""
    text = ", ".join(repr(a) for a in args)
    return text if len(text) <= 40 else text[:37] + "..."


def wrong_type(request: str, probes: Sequence[tuple[bool, Any]]) -> str:
    """Why the result type contradicts the request (true/false, a count, a dict, a sorted
    list); ``""`` when it does not."""
    text = request.lower()
    got = [value for ok, value in probes if ok]
    if _DICT.search(text):
        want, ok = "a dict", all(isinstance(v, dict) for v in got)
    elif _BOOL.search(text):
        want, ok = "true or false", all(isinstance(v, bool) for v in got)
    elif _COUNT.search(text) and "dict" not in text:
        want, ok = "a count", all(isinstance(v, int) and not isinstance(v, bool) for v in got)
    elif _SORT.search(text) and "sorted list" not in text and "if" not in text.split():
        want, ok = "a list", all(isinstance(v, list) for v in got)
    elif _LIST_OUT.search(text) and not _OTHER_OUT.search(_COMPARED.sub(" ", text)):
        # "the odd numbers of a list"
        want, ok = "a list", all(isinstance(v, list | tuple) for v in got)
    elif _TEXT.search(text) and not _MANY.search(text):  # "reverses a string": not a list
        want, ok = "one value", not any(isinstance(v, list | tuple) for v in got)
    else:
        return ""
    return "" if ok else f"returns {type(got[0]).__name__ if got else 'nothing'}, not {want}"


def choose(drafts: Sequence[Draft], min_agree: int = 2, min_share: float = 0.5) -> Verification:
    """Pick the largest behaviour cluster among kept drafts; verified when at least
    ``min_agree`` drafts and ``min_share`` of all drafts sampled behave exactly alike on every
    probe. ``checks`` counts each draft's outcome; ``agreement`` is the cluster's share."""
    outcomes: dict[str, int] = {}
    for d in drafts:
        outcomes[d.status] = outcomes.get(d.status, 0) + 1
    kept = [d for d in drafts if d.status == "kept"]
    checks: dict[str, Any] = {"drafts": len(drafts), "probes": PROBES, "outcomes": outcomes}
    if not kept:
        why = "; ".join(sorted({f"{d.status}: {d.reason}" for d in drafts}))[:300]
        return Verification("", False, checks, 0.0, why or "no draft")
    clusters: dict[tuple[str, ...], list[Draft]] = {}
    for d in kept:
        clusters.setdefault(d.behaviour, []).append(d)
    best = max(clusters.values(), key=len)
    agreement = round(len(best) / len(drafts), 3)
    checks["clusters"] = len(clusters)
    checks["cluster_size"] = len(best)
    if len(best) < min_agree or agreement < min_share:
        return Verification(
            "",
            False,
            checks,
            agreement,
            f"drafts disagree ({len(best)} of {len(drafts)} behave alike)",
        )
    shortest = min(best, key=lambda d: len(d.code))
    return Verification(shortest.code, True, checks, agreement)


NAMED_RELEVANT = 0.5
"""A retrieved function named as the request says with this share of its telling words is
shown too when a function of another origin behaves like it (``list.sort`` and a package's
``sort`` for "sorts a list of numbers")."""
AGREE_MIN = 3
"""Probes on which two functions must both return, and return the same, to agree."""


def agree(one: Sequence[str], other: Sequence[str]) -> bool:
    """True when two behaviours return the same value on every probe where both return one,
    and there are at least :data:`AGREE_MIN` such probes (one function may refuse an input
    the other accepts: ``gcd(0, 0)`` raising in one package and returning 0 in another)."""
    both = [(a, b) for a, b in zip(one, other, strict=True) if not a.startswith("raised ")]
    both = [(a, b) for a, b in both if not b.startswith("raised ")]
    return len(both) >= AGREE_MIN and all(a == b for a, b in both)


def choose_with_retrieved(
    model: Sequence[Draft], retrieved: Sequence[Draft]
) -> tuple[Verification, Draft | None]:
    """The model drafts' verdict (:func:`choose`) when it verifies; else the best-ranked kept
    retrieved function whose docstring or name has :data:`RELEVANT` of the request's telling
    words and that either has every word of its name in the request or behaves exactly like
    a draft of another origin (a model draft or another relevant module's function) on every
    probe.
    Returns the verdict and the retrieved draft chosen (None when the model won or none did)."""
    verdict = choose(model)
    everything = [*model, *retrieved]
    outcomes: dict[str, int] = {}
    for d in everything:
        outcomes[d.status] = outcomes.get(d.status, 0) + 1
    checks = {
        **verdict.checks,
        "drafts": len(everything),
        "outcomes": outcomes,
        "retrieved": len(retrieved),
    }
    if verdict.verified:
        return Verification(verdict.code, True, checks, verdict.agreement), None
    kept = [d for d in everything if d.status == "kept"]
    # a function named as the request says comes first (one already installed before a copy),
    # then one another origin agrees with
    ranked = sorted(retrieved, key=lambda d: (not d.named, not d.installed))

    def alike(draft: Draft) -> list[Draft]:
        module = draft.origin.rsplit(".", 1)[0]
        return [
            d
            for d in kept
            if agree(d.behaviour, draft.behaviour) and d.origin.rsplit(".", 1)[0] != module
        ]

    # on topic and named or agreed with; else named, half on topic and agreed with
    for on_topic, both in ((RELEVANT, False), (NAMED_RELEVANT, True)):
        for draft in ranked:
            if draft.status != "kept" or draft.relevance < on_topic:
                continue
            others = alike(draft)
            if (others and draft.named) if both else (others or draft.named):
                checks["cluster_size"] = 1 + len(others)
                share = round((1 + len(others)) / len(everything), 3)
                return Verification(draft.code, True, checks, share), draft
    return Verification("", False, checks, verdict.agreement, verdict.reason), None
