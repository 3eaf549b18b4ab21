"""Pytest helpers for enigma and third-party plugin tests (imported by tests, never by the CLI).

In a ``conftest.py``: ``from enigma_core.testing import isolated_enigma_home  # noqa: F401``
gives every test its own ``ENIGMA_HOME`` and clears the plugin-selection variables, so no user
config or trained model leaks into a test and nothing a test writes leaks out. The user cache
folder (``XDG_CACHE_HOME``) is one per test session: caches of what is installed (the code
plugin's scan) are built once per run, never read from or written to the user's own.
"""

from __future__ import annotations

import pytest

PLUGIN_SELECTION_VARS = ("ENIGMA_LOAD_PLUGINS", "ENIGMA_DISABLE_PLUGINS", "ENIGMA_STRICT_PLUGINS")


@pytest.fixture(autouse=True)
def isolated_enigma_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh ``ENIGMA_HOME`` per test, the session's own cache folder and no plugin
    allow/block/strict lists."""
    monkeypatch.setenv("ENIGMA_HOME", str(tmp_path_factory.mktemp("enigma_home")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "user_cache"))
    for name in PLUGIN_SELECTION_VARS:
        monkeypatch.delenv(name, raising=False)
