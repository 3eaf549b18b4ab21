"""Render the plugin templates for a name and write them atomically into a new directory."""

from __future__ import annotations

import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from enigma_core.errors import EnigmaError

RESERVED_NAMES = frozenset({"chat", "router", "code", "vision", "core", "builtin"})
"""Names a new plugin may not take: enigma's own tasks, the core and the built-in plugin."""
MAX_NAME = 32
_NAME = re.compile(r"[a-z][a-z0-9_]*")

# template file -> path in the new project ("{package}" is filled in)
TEMPLATES: dict[str, str] = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "__init__.py.tmpl": "{package}/__init__.py",
    "plugin.py.tmpl": "{package}/plugin.py",
    "test_plugin.py.tmpl": "tests/test_plugin.py",
}


@dataclass
class ScaffoldResult:
    """What ``new-plugin`` wrote: names, the project directory and its files."""

    name: str
    distribution: str
    package: str
    path: Path
    files: list[str] = field(default_factory=list)

    def next_steps(self) -> list[str]:
        """The commands that install, list, route to and test the new plugin."""
        return [
            f"pip install -e {self.path}",
            "enigma plugins",
            f'enigma route "{self.name.replace("_", " ")} please"',
            f"pip install pytest && python -m pytest {self.path / 'tests'}",
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON form for ``--json``."""
        return {
            "name": self.name,
            "distribution": self.distribution,
            "package": self.package,
            "path": str(self.path),
            "files": list(self.files),
            "next": self.next_steps(),
        }


def validate_name(name: str) -> str:
    """Return ``name`` if it can name a plugin (lowercase identifier, not reserved); else raise."""
    if not _NAME.fullmatch(name or ""):
        hint = re.sub(r"[^a-z0-9_]+", "_", (name or "").lower()).strip("_")
        hint = hint if hint[:1].isalpha() else f"my_{hint}" if hint else "my_plugin"
        raise EnigmaError(
            f"invalid plugin name {name!r}: use lowercase letters, digits and underscores, "
            f"starting with a letter (e.g. {hint!r})"
        )
    if len(name) > MAX_NAME:
        raise EnigmaError(f"plugin name {name!r} is too long ({len(name)} > {MAX_NAME} chars)")
    if name in RESERVED_NAMES:
        raise EnigmaError(
            f"plugin name {name!r} is taken by enigma itself "
            f"(reserved: {', '.join(sorted(RESERVED_NAMES))}); choose another"
        )
    return name


def _version_range(version: str) -> str:
    """``0.1.3`` -> ``>=0.1,<0.2``: the core minor series a new plugin is written against."""
    major, minor = (int(part) for part in version.split(".")[:2])
    return f">={major}.{minor},<{major}.{minor + 1}"


def _values(name: str) -> dict[str, str]:
    from enigma_core import PLUGIN_API_VERSION, __version__

    phrase = name.replace("_", " ")
    keywords = tuple(dict.fromkeys((phrase, f"{phrase} please")))
    return {
        "name": name,
        "phrase": phrase,
        "title": phrase.title(),
        "package": f"enigma_{name}",
        "distribution": f"enigma-{name.replace('_', '-')}",
        "core_range": _version_range(__version__),
        "api_range": f">={PLUGIN_API_VERSION},<{int(PLUGIN_API_VERSION.split('.')[0]) + 1}",
        "keywords": "".join(f'\n        "{k}",' for k in keywords),
    }


def render_files(name: str) -> dict[str, str]:
    """Relative path -> file text of the plugin project for ``name`` (validated first)."""
    values = _values(validate_name(name))
    folder = resources.files("enigma_core.scaffold") / "templates"
    files: dict[str, str] = {}
    for template, target in TEMPLATES.items():
        text = (folder / template).read_text(encoding="utf-8")
        files[target.format(package=values["package"])] = Template(text).substitute(values)
    return files


def _check_destination(dest: Path) -> None:
    if dest.is_dir():
        if any(dest.iterdir()):
            raise EnigmaError(f"{dest}: directory is not empty; choose another --dir")
    elif dest.exists() or dest.is_symlink():
        raise EnigmaError(f"{dest}: exists and is not a directory; choose another --dir")


def write_plugin(name: str, dest: Path) -> ScaffoldResult:
    """Write the plugin project for ``name`` into ``dest`` (absent or empty), all or nothing.

    Files are written to a temporary sibling directory which is then renamed into place, so
    an interrupted run never leaves a half-written project behind.
    """
    files = render_files(name)
    dest = dest.expanduser().absolute()
    _check_destination(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        tmp.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0o700
    except OSError as exc:
        raise EnigmaError(f"{dest}: cannot create the project: {exc.strerror or exc}") from exc
    try:
        for relative, text in files.items():
            path = tmp / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        if dest.is_dir():
            dest.rmdir()  # empty (checked above); lets the rename work on every platform
        os.replace(tmp, dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise EnigmaError(f"{dest}: cannot write plugin: {exc.strerror or exc}") from exc
    values = _values(name)
    return ScaffoldResult(
        name=name,
        distribution=values["distribution"],
        package=values["package"],
        path=dest,
        files=sorted(files),
    )
