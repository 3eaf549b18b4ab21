"""The web dashboard in a real browser against a real ``enigma serve`` subprocess.

One server for the module, in a venv with the router, code and openai plugins. A task declared
in config (``enigma config add-task``) makes the router stale before the server starts, so the
retrain button has something to fix. Screenshots of each state go to a temp dir.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.dashboard_browser import expect, launch, require_browser
from tests.serve_support import KEY, Server, start_server
from tests.venvs import Venv, clean_env, create_venv

CODE = "write a function that reverses a string"
SHOTS = Path(os.environ.get("ENIGMA_DASHBOARD_SHOTS") or tempfile.mkdtemp(prefix="enigma-dash-"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (skips, or fails under ENIGMA_REQUIRE_BROWSER=1, without one)."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = launch(p)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dash_venv(browser: Any, tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Venv:
    """enigma-core[serve] with the router, code and openai plugins."""
    env = create_venv(tmp_path_factory.mktemp("dash") / "venv", wheelhouse)
    env.pip_install("enigma-core[serve]", "enigma-router[train]", "enigma-code", "enigma-openai")
    return env


@pytest.fixture(scope="module")
def server(dash_venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose router does not know the config-declared ``weather`` task."""
    tmp = tmp_path_factory.mktemp("dash-serve")
    home = tmp / "enigma_home"
    home.mkdir()
    declare = [
        dash_venv.enigma, "config", "add-task", "weather",
        "--backend", "http://127.0.0.1:9/v1", "--model", "m",
        "--example", "will it rain in Oslo tomorrow?",
        "--example", "how hot will it get in Cairo today",
        "--keyword", "umbrella",
    ]  # fmt: skip
    import subprocess

    done = subprocess.run(
        declare, env=clean_env({"ENIGMA_HOME": str(home)}), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    running = start_server(dash_venv, tmp)
    yield running
    assert running.stop() == 0, running.log()


@pytest.fixture(scope="module")
def page(browser: Any, server: Server) -> Iterator[Any]:
    """One tab on the dashboard, signed in with the right key."""
    context = browser.new_context(viewport={"width": 1100, "height": 1400})
    tab = context.new_page()
    tab.goto(server.url + "/")
    tab.fill("#key", KEY)
    tab.press("#key", "Enter")
    tab.wait_for_selector("#modules tr[data-task='code']")
    yield tab
    context.close()


def shot(tab: Any, name: str) -> None:
    """Save a full-page screenshot of the current state."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def loaded_models(server: Server) -> set[str]:
    """What the server's engine has loaded, as the JSON API says."""
    with server.client() as client:
        tasks = client.get("/v1/dashboard/modules").json()["tasks"]
    return {t["task"] for t in tasks if t["loaded"]}


def test_wrong_key_shows_login_not_data(browser: Any, server: Server) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(server.url + "/")
    tab.wait_for_selector("#login:not([hidden])")
    tab.fill("#key", "wrong-key")
    tab.click("#login-form button[type=submit]")
    expect(tab.locator("#login-error")).to_contain_text("Wrong API key")
    assert tab.is_hidden("#main")
    assert "code" not in tab.inner_text("body").split()
    assert tab.locator("#modules tbody tr").count() == 0
    shot(tab, "login")
    context.close()
    page_html = httpx.get(server.url + "/").text
    assert "enigma-code" not in page_html and KEY not in page_html


def test_unload_then_load_changes_page_and_server(page: Any, server: Server) -> None:
    row = "#modules tr[data-task='code']"
    if page.inner_text(f"{row} .state") != "loaded":
        page.click(f"{row} button")
        page.wait_for_selector(f"{row} td.state:text-is('loaded')")
    assert "code" in loaded_models(server)
    page.click(f"{row} button")  # Unload
    page.wait_for_selector(f"{row} td.state:text-is('not loaded')")
    assert "code" not in loaded_models(server)
    shot(page, "unloaded")
    page.focus(f"{row} button")
    page.keyboard.press("Enter")  # Load, from the keyboard
    page.wait_for_selector(f"{row} td.state:text-is('loaded')")
    assert "code" in loaded_models(server)
    with server.client() as client:
        metrics = client.get("/metrics").text
    assert 'enigma_model_unloads_total{task="code"} 1.0' in metrics, metrics


def test_try_request_shows_intent_and_streamed_answer(page: Any) -> None:
    page.fill("#try-text", CODE)
    page.click("#try-go")
    expect(page.locator("#try-timings")).to_contain_text("ms", timeout=60_000)
    assert page.inner_text("#try-intent") == "code"
    assert page.inner_text("#try-via") == "model"
    assert "def " in page.inner_text("#try-answer")
    assert page.inner_text("#try-alts") not in ("", "—")
    shot(page, "try")


def test_decision_appears_in_live_list(page: Any) -> None:
    ours = page.locator("#decisions tbody tr", has_text=CODE[:40])
    expect(ours.first).to_be_visible(timeout=15_000)
    assert ours.first.locator("td").nth(3).inner_text() == "code"
    page.select_option("#f-via", "keywords")  # the filter hides it (it went via the model)
    expect(ours).to_have_count(0)
    page.select_option("#f-via", "")
    expect(ours.first).to_be_visible()
    shot(page, "decisions")


def test_review_queue_labels_with_one_click(page: Any, server: Server) -> None:
    with server.client() as client:  # the router was not trained on weather yet
        answer = client.post("/v1/classify", json={"input": "umbrella needed in Oslo?"}).json()
    # matched by its examples' nearest neighbours (unsure) or, failing that, by keywords
    assert answer["intent"] == "weather" and answer["via"] in ("model", "keywords"), answer
    item = page.locator("#review li", has_text="umbrella needed in Oslo")
    expect(item).to_be_visible(timeout=30_000)
    why = "keyword fallback" if answer["via"] == "keywords" else "low confidence"
    assert why in item.inner_text()
    shot(page, "review")
    item.get_by_role("button", name="as weather").click()
    expect(item).to_have_count(0, timeout=15_000)
    with server.client() as client:
        rows = client.get("/v1/dashboard/decisions", params={"intent": "weather"}).json()["data"]
    assert [r["label"] for r in rows if r["text"] == "umbrella needed in Oslo?"] == ["weather"]
    feedback = server.log_path.parent / "enigma_home" / "data" / "router_feedback.jsonl"
    lines = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert lines[-1]["text"] == "umbrella needed in Oslo?" and lines[-1]["intent"] == "weather"


def test_retrain_clears_staleness(page: Any, server: Server) -> None:
    with server.client() as client:
        assert client.get("/v1/plugins").json()["router"]["unknown_intents"] == ["weather"]
    page.wait_for_selector("#stale.warn")
    assert "weather" in page.inner_text("#stale")
    shot(page, "stale")
    page.click("#retrain")
    page.wait_for_selector("#retrain-log:not([hidden])")
    status = page.locator("#retrain-status")
    expect(status).to_have_text(re.compile(r"^(done|failed)"), timeout=600_000)
    assert page.inner_text("#retrain-status").startswith("done"), page.inner_text("#retrain-log")
    page.wait_for_selector("#stale.ok", timeout=15000)
    with server.client() as client:
        router = client.get("/v1/plugins").json()["router"]
    assert router["stale"] is False, router
    shot(page, "retrained")


def test_phone_width(browser: Any, server: Server) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    tab = context.new_page()
    tab.goto(server.url + "/")
    tab.fill("#key", KEY)
    tab.press("#key", "Enter")
    tab.wait_for_selector("#modules tr[data-task='code']")
    wide = tab.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => !e.closest('.scroll')"
        " && e.getBoundingClientRect().right > 391).map(e => e.tagName + '#' + e.id)"
    )
    assert tab.evaluate("document.documentElement.scrollWidth") <= 390, wide
    shot(tab, "phone")
    context.close()
