"""Turn a docstring's summary into the request a person would type ("write a function that ...").

Mined pairs need requests phrased like real ones, so the imperative docstring convention
("Return true if ...") is rewritten to a third-person clause ("... that returns true if ...").
Summaries that are not a usable sentence (signatures, "Internal function.", doctest lines)
give ``None`` so the miner skips them.
"""

from __future__ import annotations

import re

# Imperative verbs that open stdlib docstrings often enough to matter; anything else that already
# ends in "s" and whose stem is listed ("Returns") is accepted too.
_VERB_WORDS = """
    accept acquire adapt add adjust advance align allocate allow append apply ask assert assign
    attach bind block build calculate call cancel capitalize center change check choose clean
    clear clip close collapse collect combine compare compile complete compose compress compute
    concatenate configure connect construct consume convert copy count create crop decode
    decompress decorate deduplicate delete deliver derive describe detach detect determine disable
    discard display divide do download draw drop dump emit enable encode ensure enter escape
    evaluate execute expand export extend extract fetch fill filter find finish fix flatten flip
    flush fold force format generate get give group guess handle hash identify ignore import
    increment indent initialize insert inspect install interpret invert invoke isolate iterate
    join keep label launch list load locate lock log look lookup make map mark match measure merge
    modify move multiply normalize notify open order output pack pad parse partition pass perform
    pick pop prepare prepend print process produce prompt push put quote raise read receive record
    recurse reduce refresh register reject release reload remove rename render reorder repeat
    replace report request reset resize resolve restore retrieve return reverse rewind rotate
    round run sanitize save scale scan search select send serialize set shift show shuffle shutdown
    skip sort split start stop store strip substitute subtract sum swap take tell terminate test
    toggle tokenize transform translate traverse trim truncate try turn unescape unlock unpack
    unquote unregister unwrap update upgrade use validate verify visit wait walk wrap write yield
    zip
"""
VERBS: frozenset[str] = frozenset(_VERB_WORDS.split())
# Openings that mark a summary as noise rather than a description of behaviour.
_SKIP_OPENINGS = (
    "internal",
    "private",
    "deprecated",
    "**deprecated",
    "same as",
    "called",
    "override",
    "hook",
    "helper",
    "constructor",
    "initializer",
    "initialise",
    "initialize the",
    "see ",
    "this method",
    "this function",
    "xxx",
    "todo",
    "overridden",
    "implement",
    "debug",
    "for internal",
    ">>>",
    "alias",
    "equivalent",
    "like ",
    "obsolete",
    "backward",
    "compatibility",
    "placeholder",
    "stub",
    "dummy",
    "undocumented",
    "use ",
)
_SIGNATURE = re.compile(r"^[\w.]+\s*\(.*\)\s*(->.*)?$")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]'\"`])\.(\s|$)")
_ABBREVIATIONS = ("e.g", "i.e", "etc", "vs", "approx", "cf")
_IRREGULAR = {"be": "is", "have": "has", "do": "does", "go": "goes"}
TEMPLATES: tuple[str, ...] = (
    "write a function that {clause}",
    "write a python function that {clause}",
    "write a function that {clause}",
    "implement a function that {clause}",
    "create a function that {clause}",
)
"""Request openings for functions; the first is the canonical one, the rest add variety."""
METHOD_TEMPLATES: tuple[str, ...] = (
    "write a method that {clause}",
    "write a python method that {clause}",
    "implement a method that {clause}",
)
"""Request openings for methods (first argument ``self``/``cls``), so that "write a function"
requests lean towards standalone functions."""

MAX_SUMMARY_CHARS = 160


def summary_of(docstring: str) -> str:
    """The first sentence of a docstring's first paragraph, on one line, without its full stop."""
    paragraph = docstring.strip().split("\n\n", 1)[0]
    text = " ".join(line.strip() for line in paragraph.splitlines()).strip()
    for match in _SENTENCE_END.finditer(text):
        if not text[: match.start()].lower().endswith(_ABBREVIATIONS):
            text = text[: match.start()]
            break
    return text.rstrip(" .;:").strip()


def third_person(verb: str) -> str:
    """English third-person singular of an imperative verb: return → returns, try → tries."""
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if re.search(r"(s|x|z|ch|sh)$", low):
        return low + "es"
    if re.search(r"[^aeiou]y$", low):
        return low[:-1] + "ies"
    return low + "s"


def _clause(summary: str) -> str | None:
    """The part after "that": a third-person verb phrase, or None when there is no verb."""
    words = summary.split()
    first = words[0].rstrip(",:;")
    low = first.lower()
    rest = " ".join(words[1:])
    if low in ("true", "false") or low == "whether":
        return (
            f"returns {summary[0].lower()}{summary[1:]}"
            if low != "whether"
            else (f"checks {summary[0].lower()}{summary[1:]}")
        )
    if low in VERBS:
        return f"{third_person(low)} {rest}".strip()
    for suffix, cut in (("ies", "y"), ("es", ""), ("s", "")):
        if low.endswith(suffix) and low[: len(low) - len(suffix)] + cut in VERBS:
            return f"{low} {rest}".strip()
    return None


def to_request(docstring: str, variant: int = 0, method: bool = False) -> str | None:
    """A request for the function documented by ``docstring``, or None when it is unusable.

    ``variant`` picks one of :data:`TEMPLATES` (0 is "write a function that ...") or, for a
    ``method``, of :data:`METHOD_TEMPLATES`; the miner derives it from a hash (deterministic).
    """
    summary = summary_of(docstring)
    if not summary or len(summary) > MAX_SUMMARY_CHARS or len(summary.split()) < 3:
        return None
    low = summary.lower()
    if low.startswith(_SKIP_OPENINGS) or _SIGNATURE.match(summary) or not summary[0].isalpha():
        return None
    if summary[0].islower() or "(" in summary.split()[0]:
        return None  # parameter docs ("parent - the widget") or "name(args)" signatures
    clause = _clause(summary)
    if clause is None or len(clause.split()) < 3:
        return None
    templates = METHOD_TEMPLATES if method else TEMPLATES
    return templates[variant % len(templates)].format(clause=clause)
