"""Meta-test: every hookspec is documented in docs/PLUGINS.md and exercised by some test."""

from __future__ import annotations

import re

import pytest

from enigma_core import hookspecs
from tests.venvs import REPO

DOC = REPO / "docs" / "PLUGINS.md"
SPEC_MARK = f"{hookspecs.PROJECT}_spec"  # the attribute pluggy's HookspecMarker sets


def _hookspecs() -> list[str]:
    """Every function in enigma_core.hookspecs that pluggy would treat as a hookspec."""
    return sorted(
        name
        for name in dir(hookspecs)
        if callable(getattr(hookspecs, name)) and hasattr(getattr(hookspecs, name), SPEC_MARK)
    )


def test_hook_names_lists_every_hookspec() -> None:
    assert _hookspecs(), "no hookspecs found"
    assert sorted(hookspecs.HOOK_NAMES) == _hookspecs()


@pytest.mark.parametrize("hook", _hookspecs())
def test_hookspec_has_a_section_in_plugins_md(hook: str) -> None:
    headings = [line for line in DOC.read_text(encoding="utf-8").splitlines() if line[:1] == "#"]
    assert any(re.search(rf"\b{hook}\b", h) for h in headings), (
        f"docs/PLUGINS.md has no heading naming {hook}"
    )


@pytest.mark.parametrize("hook", _hookspecs())
def test_hookspec_is_used_by_a_test(hook: str) -> None:
    me = REPO / "tests" / "test_docs_meta.py"
    users = [
        path
        for path in sorted((REPO / "tests").rglob("test_*.py"))
        if path != me and re.search(rf"\b{hook}\b", path.read_text(encoding="utf-8"))
    ]
    assert users, f"no test under tests/ mentions {hook}"
