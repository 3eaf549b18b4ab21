"""Plugin API compatibility: a plugin may declare a PEP 440 range of API versions.

E.g. ``ENIGMA_PLUGIN_API = ">=1.1,<2"`` in the plugin module, checked at discovery.

API 1.1 made task hooks task-scoped (a plugin only hears about its own tasks); plugins written
for it may leave out task-name checks and should declare ``>=1.1,<2``.
"""

from __future__ import annotations


def api_range_error(plugin: object, api_version: str) -> str | None:
    """None if ``plugin`` accepts ``api_version`` (or declares nothing), else why not."""
    spec = getattr(plugin, "ENIGMA_PLUGIN_API", None)
    if spec is None:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        accepted = SpecifierSet(str(spec))
    except InvalidSpecifier:
        return f"invalid ENIGMA_PLUGIN_API {spec!r} (expected a PEP 440 range, e.g. '>=1.1,<2')"
    if not accepted.contains(api_version, prereleases=True):
        return (
            f"needs enigma plugin API {spec}, but this enigma-core provides API "
            f"{api_version}; upgrade the plugin or enigma-core"
        )
    return None
