"""Plugin API compatibility: a plugin may declare a PEP 440 range of API versions.

E.g. ``ENIGMA_PLUGIN_API = ">=1.1,<2"`` in the plugin module, checked at discovery.

API 1.1 made task hooks task-scoped (a plugin only hears about its own tasks); plugins written
for it may leave out task-name checks and should declare ``>=1.1,<2``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable

_CLAUSE = re.compile(r"\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)*)\s*")
_RELEASE = re.compile(r"\d+(?:\.\d+)*")
_COMPARE: dict[str, Callable[[object, object], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


def _release(text: str, width: int) -> tuple[int, ...]:
    numbers = tuple(int(part) for part in text.split("."))
    return numbers + (0,) * (width - len(numbers))


def simple_range_accepts(spec: str, version: str) -> bool | None:
    """Whether ``spec`` accepts ``version`` when both are plain releases (``>=1.1,<2``,
    ``1.1``); None for anything else (wildcards, ``~=``, pre-releases...), which packaging
    decides. Plain releases compare as PEP 440 does: numbers, zero-padded."""
    if not _RELEASE.fullmatch(version):
        return None
    clauses = []
    for part in spec.split(","):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            return None
        clauses.append((match.group(1), match.group(2)))
    if not clauses:
        return None
    for op, bound in clauses:
        width = max(bound.count("."), version.count(".")) + 1
        if not _COMPARE[op](_release(version, width), _release(bound, width)):
            return False
    return True


def api_range_error(plugin: object, api_version: str) -> str | None:
    """None if ``plugin`` accepts ``api_version`` (or declares nothing), else why not.

    Plain ranges are checked here; anything else by ``packaging`` (imported only then: it
    costs more than the rest of plugin discovery).
    """
    spec = getattr(plugin, "ENIGMA_PLUGIN_API", None)
    if spec is None:
        return None
    accepts = simple_range_accepts(str(spec), api_version)
    if accepts is None:
        from packaging.specifiers import InvalidSpecifier, SpecifierSet

        try:
            accepted = SpecifierSet(str(spec))
        except InvalidSpecifier:
            return f"invalid ENIGMA_PLUGIN_API {spec!r} (expected a PEP 440 range, e.g. '>=1.1,<2')"
        accepts = accepted.contains(api_version, prereleases=True)
    if not accepts:
        return (
            f"needs enigma plugin API {spec}, but this enigma-core provides API "
            f"{api_version}; upgrade the plugin or enigma-core"
        )
    return None
