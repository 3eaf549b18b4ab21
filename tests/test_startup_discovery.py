"""Plugin discovery without importlib.metadata or packaging (issue 21: CLI start-up time) gives
exactly what those libraries give, and steps aside for layouts it does not read."""

from __future__ import annotations

import itertools
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from enigma_core.compat import api_range_error, simple_range_accepts
from enigma_core.entrypoints import entry_points, scan


def _reference(group: str, path: list[str] | None = None) -> list[tuple]:
    """What importlib.metadata finds: (name, value, distribution, version), its order."""
    seen: set[str] = set()
    out = []
    for dist in metadata.distributions(**({} if path is None else {"path": path})):
        key = dist._normalized_name  # the key importlib.metadata.entry_points() dedups on
        if key in seen:
            continue
        seen.add(key)
        for ep in dist.entry_points.select(group=group):
            out.append((ep.name, ep.value, dist.metadata["Name"], dist.version))
    return out


def _mine(found: list | None) -> list[tuple] | None:
    if found is None:
        return None
    return [(e.name, e.value, e.distribution, e.version) for e in found]


def _dist(root: Path, dirname: str, name: str, version: str, entry_points_txt: str) -> None:
    info = root / dirname
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: x\n\nbody\n"
    )
    (info / "entry_points.txt").write_text(entry_points_txt)


def test_this_venv_finds_what_importlib_metadata_finds() -> None:
    found = scan("enigma")
    assert found is not None, "the dev venv's layout must take the fast scan"
    assert sorted(_mine(found)) == sorted(_reference("enigma"))
    assert {e.name for e in found} >= {"router", "vision", "code"}
    assert sorted(_mine(entry_points("console_scripts")) or []) == sorted(
        _reference("console_scripts")
    )


def test_synthetic_paths_match_importlib_metadata(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    eps = "# comment\n[enigma]\n  one = pkg_one.plugin  \ntwo=pkg.two:hooks.obj [extra]\n"
    _dist(first, "Foo_Bar-1.0.dist-info", "Foo_Bar", "1.0", eps + "[other]\nx = y\n")
    _dist(second, "foo.bar-2.0.dist-info", "foo.bar", "2.0", "[enigma]\nshadowed = z\n")
    _dist(second, "other-3.0.dist-info", "Other", "3.0rc1", "[enigma]\nthree = t\n")
    _dist(second, "noeps-1.dist-info", "noeps", "1", "")
    path = [str(first), str(tmp_path / "missing"), str(second)]
    mine = _mine(scan("enigma", path))
    assert mine == _reference("enigma", path)
    assert [m[0] for m in mine or []] == ["one", "two", "three"]  # foo.bar-2.0 is shadowed


@pytest.mark.parametrize(
    "layout",
    ["egg-info", "zip-on-path", "folded-name", "bad-line"],
)
def test_unusual_layouts_go_to_importlib_metadata(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "site"
    root.mkdir()
    path = [str(root)]
    if layout == "egg-info":
        (root / "old-1.0.egg-info").mkdir()
    elif layout == "zip-on-path":
        (tmp_path / "bundle.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
        path.append(str(tmp_path / "bundle.zip"))
    elif layout == "folded-name":
        _dist(root, "x-1.dist-info", "x", "1", "[enigma]\nx = x\n")
        meta = root / "x-1.dist-info" / "METADATA"
        meta.write_text("Metadata-Version: 2.1\nName: x\n  continued\nVersion: 1\n\n")
    else:
        _dist(root, "x-1.dist-info", "x", "1", "[enigma]\nno equals sign here\n")
    assert scan("enigma", path) is None


def test_loading_a_found_entry_point_gives_the_named_object() -> None:
    (router,) = [e for e in scan("enigma") or [] if e.name == "router"]
    module = router.load()
    assert module.__name__ == "enigma_router.plugin"


def test_discovery_imports_neither_importlib_metadata_nor_packaging() -> None:
    code = (
        "import sys\n"
        "from enigma_core.plugins import build_plugin_manager\n"
        "m = build_plugin_manager()\n"
        "assert m.records['router'].status == 'ok', m.records['router']\n"
        "print(sorted(n for n in ('importlib.metadata', 'packaging', 'email', 'typer', 'click')"
        " if n in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


PLAIN = [">=1.1,<2", ">=1.1, <2", "==1.1", "==1.1.0", "!=1.1", ">1.1", "<=1.0", ">=2", "<1.1.1"]
PLAIN += [">= 1 , < 3"]
SPECS = [*PLAIN, "~=1.1", "==1.*", ">=1.1rc1", "", ">=1.1,", "1.1"]
VERSIONS = ["1.0", "1.1", "1.1.0", "1.1.1", "1.2", "2", "2.0.0", "0.9", "10.0"]


@pytest.mark.parametrize(("spec", "version"), list(itertools.product(SPECS, VERSIONS)))
def test_plain_ranges_agree_with_packaging(spec: str, version: str) -> None:
    mine = simple_range_accepts(spec, version)
    try:
        expected = SpecifierSet(spec).contains(version, prereleases=True)
    except Exception:
        assert mine is None
        return
    assert mine == expected if spec in PLAIN else mine in (None, expected)


def test_api_ranges_still_refused_and_explained() -> None:
    class Plugin:
        ENIGMA_PLUGIN_API = ">=2,<3"

    assert "needs enigma plugin API >=2,<3" in (api_range_error(Plugin, "1.1") or "")
    Plugin.ENIGMA_PLUGIN_API = "~=1.0"  # packaging decides this one
    assert api_range_error(Plugin, "1.1") is None
    Plugin.ENIGMA_PLUGIN_API = "not a range"
    assert "invalid ENIGMA_PLUGIN_API" in (api_range_error(Plugin, "1.1") or "")
