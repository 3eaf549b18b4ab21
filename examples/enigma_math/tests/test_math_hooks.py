"""The installed plugin seen through enigma's public API: discovered, routed to, answering.

Run after ``pip install ./examples/enigma_math``: discovery goes through the entry point.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from enigma_core import PLUGIN_API_VERSION, EnigmaEngine
from enigma_core.compat import api_range_error
from enigma_core.plugins import build_plugin_manager

from enigma_math import plugin


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user config (default task, router model) leaks into these tests."""
    monkeypatch.setenv("ENIGMA_HOME", str(tmp_path))
    monkeypatch.delenv("ENIGMA_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("ENIGMA_DISABLE_PLUGINS", raising=False)


def test_declares_a_compatible_plugin_api() -> None:
    assert api_range_error(plugin, PLUGIN_API_VERSION) is None


def test_discovered_through_its_entry_point() -> None:
    manager = build_plugin_manager()
    record = manager.records["math"]
    assert record.status == "ok", record.error
    assert record.distribution == "enigma-math"
    assert record.tasks == ["math"]


@pytest.mark.parametrize(
    ("request_text", "answer"),
    [
        ("what is 17% of 240", "17% of 240 = 40.8"),
        ("12*(3+4)", "12 * (3 + 4) = 84"),
        ("15 percent of 80", "15% of 80 = 12"),
    ],
)
def test_requests_route_to_math(request_text: str, answer: str) -> None:
    engine = EnigmaEngine(use_routing=True)
    result = engine.route(request_text)
    assert (result.task, result.plugin) == ("math", "math")
    assert result.output == answer
    assert engine.generate(request_text) == answer


def test_registered_in_process_without_installing() -> None:
    manager = build_plugin_manager(entry_points=False, extra=[("math", plugin)])
    engine = EnigmaEngine(use_routing=True, plugin_manager=manager)
    assert engine.execute("math", "what's 2^10").output == "2^10 = 1024"
    assert engine.classify("what is 20% of 150").intent == "math"
    assert engine.route("hello there").task == "chat"
