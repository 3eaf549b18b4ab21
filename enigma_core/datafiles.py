"""Find a plugin's default training file wherever enigma runs: repo checkout or installed wheel."""

from __future__ import annotations

from pathlib import Path


def find_data_file(relative: str | Path, package_file: str | Path) -> Path:
    """The first existing copy of ``relative`` (e.g. ``data/specialized/router_training.txt``).

    Looked up in order: the current directory; the ``data/`` folder a wheel ships inside the
    plugin package (``<package>/data/<name>``); the checkout the plugin was installed from
    (walking up from ``package_file``). Falls back to the cwd path so errors name it.
    """
    relative = Path(relative)
    candidates = [
        Path.cwd() / relative,
        Path(package_file).resolve().parent / "data" / relative.name,
    ]
    candidates += [parent / relative for parent in Path(package_file).resolve().parents]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    return relative
