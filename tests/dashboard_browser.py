"""Headless Chromium for the dashboard tests: Debian's ``chromium`` driven by Playwright.

Without Chromium or Playwright the tests skip with one line; with ``ENIGMA_REQUIRE_BROWSER=1``
(CI sets it) they fail instead, so CI never skips them silently.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


def require_browser() -> None:
    """Skip (or fail, when ENIGMA_REQUIRE_BROWSER=1) unless Chromium and Playwright are here."""
    reason = missing_browser()
    if reason is None:
        return
    if os.environ.get("ENIGMA_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required but cannot run: {reason}")
    pytest.skip(f"dashboard browser tests: {reason}")


def expect(target: Any) -> Any:
    """Playwright's auto-waiting assertions (no script evaluation: the page's CSP forbids it)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(target)


def launch(playwright: Any) -> Any:
    """Debian's Chromium, headless (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
