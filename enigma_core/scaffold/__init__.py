"""``enigma new-plugin``'s templates and writer: a complete, installable plugin package.

Templates are plain :class:`string.Template` files under ``templates/`` (package data).
"""

from enigma_core.scaffold.render import (
    RESERVED_NAMES,
    ScaffoldResult,
    render_files,
    validate_name,
    write_plugin,
)

__all__ = ["RESERVED_NAMES", "ScaffoldResult", "render_files", "validate_name", "write_plugin"]
