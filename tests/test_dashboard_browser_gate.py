"""Without Chromium the dashboard tests skip with one line, except where CI requires them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import dashboard_browser


def test_missing_chromium_skips_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard_browser, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.delenv("ENIGMA_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        dashboard_browser.require_browser()
    assert "/nonexistent/chromium not found" in str(skipped.value)
    assert "\n" not in str(skipped.value)


def test_missing_chromium_fails_when_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashboard_browser, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("ENIGMA_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="required but cannot run"):
        dashboard_browser.require_browser()
