"""Plugin API compatibility: a plugin may declare ``ENIGMA_PLUGIN_API = ">=1,<2"``."""

from __future__ import annotations

import operator
import re

_OPS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+)\s*$")


def api_range_error(plugin: object, api_version: int) -> str | None:
    """None if ``plugin`` accepts ``api_version`` (or declares nothing), else why not."""
    spec = getattr(plugin, "ENIGMA_PLUGIN_API", None)
    if spec is None:
        return None
    clauses = [c for c in str(spec).split(",") if c.strip()]
    for clause in clauses:
        match = _CLAUSE.match(clause)
        if not match:
            return f"invalid ENIGMA_PLUGIN_API {spec!r} (expected e.g. '>=1,<2')"
        op, number = match.groups()
        if not _OPS[op](api_version, int(number)):
            return (
                f"needs enigma plugin API {spec}, but this enigma-core provides API "
                f"{api_version}; upgrade the plugin or enigma-core"
            )
    return None
