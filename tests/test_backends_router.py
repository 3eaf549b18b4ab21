"""A task declared in config teaches the router like a plugin's examples: `enigma train router`
learns its 20 examples, staleness clears, held-out phrasings route to it, the shipped held-out
accuracy holds, and an unsure decision escalates to the task's fallback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from enigma_openai.fake_server import start_fake_server

REPO = Path(__file__).resolve().parents[1]
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"
ENIGMA = str(Path(sys.executable).with_name("enigma"))

EXAMPLES = [
    "will it rain in Oslo tomorrow?",
    "what's the weather forecast for Berlin this weekend",
    "how hot will it get in Cairo today",
    "do I need an umbrella this afternoon",
    "is it going to snow tonight",
    "what's the temperature outside right now",
    "what are today's high and low in Chicago",
    "how windy will it be on Friday",
    "any thunderstorms expected near Miami later",
    "is it sunny in Barcelona at the moment",
    "current weather conditions in Tokyo",
    "how cold will it be tonight, will it freeze",
    "chance of showers tomorrow morning",
    "should I wear a coat today or is it warm out",
    "how humid is it in Singapore",
    "is there fog or frost in the forecast for Helsinki",
    "will the roads be icy tomorrow because of snow",
    "UV index and sunscreen advice for Sydney today",
    "when will the rain stop in Dublin",
    "10 day weather outlook for Amsterdam",
]
"""The declared task's 20 examples (what a user would pass to `enigma config add-task`)."""

HELD_OUT = [
    "is it raining in Lisbon right now",
    "what's tomorrow's high in Phoenix",
    "forecast for Vienna on Saturday please",
    "will I need sunscreen in Nice this afternoon",
    "how much snow is expected in Zurich overnight",
    "is it going to be foggy in San Francisco tomorrow morning",
    "what's the weather doing in Prague",
    "any storms headed for Houston this week",
    "how warm will it be in Istanbul on Sunday",
    "should I bring an umbrella to work in Brussels tomorrow",
    "what temperature is it in Moscow",
    "will it freeze in Stockholm tonight",
    "is the weekend going to be dry in Edinburgh",
    "what's the wind speed in Wellington today",
    "hourly forecast for Munich",
    "will it hail in Dallas later today",
    "how humid is it in Bangkok this week",
    "is it warm enough for shorts in Copenhagen tomorrow",
    "weather outlook for Boston next week",
    "does it look like rain in Manchester this evening",
    "what's the chance of showers in Vancouver on Thursday",
    "is there a frost warning for Warsaw tonight",
    "how sunny will Marseille be tomorrow",
    "current conditions in Mexico City",
    "will it be cloudy in Budapest over the weekend",
    "temperature in Montreal tonight",
    "do I need gloves in Minneapolis tomorrow morning",
    "rain forecast for Glasgow",
    "is it going to pour in Mumbai today",
    "weather for the marathon in New York on Sunday",
]
"""Weather phrasings written for this test, none of them among the examples."""
ESCALATE_BELOW = 0.75


def enigma(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENIGMA_")}
    env["ENIGMA_HOME"] = str(home)
    return subprocess.run([ENIGMA, *args], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two routers trained the same way in this run: without and with the declared task."""
    if not HELDOUT.is_file():
        pytest.skip(f"{HELDOUT} not found")
    server = start_fake_server()
    base_home = tmp_path_factory.mktemp("home_base")
    home = tmp_path_factory.mktemp("home_weather")
    config = {
        "backends": {
            "local": {"base_url": server.url, "model": "echo", "description": "small model"},
            "big": {"base_url": server.url, "model": "echo", "description": "big model"},
        },
        "tasks": {
            "weather": {
                "backend": "local",
                "examples": EXAMPLES,
                "fallback": "big",
                "escalate_below": ESCALATE_BELOW,
            }
        },
    }
    (home / "config.json").write_text(json.dumps(config))
    stale = enigma(home, "plugins")
    base = enigma(base_home, "train", "router", "--out", str(base_home / "router"))
    assert base.returncode == 0, base.stderr
    done = enigma(home, "train", "router")  # into ENIGMA_HOME: every later command uses it
    assert done.returncode == 0, done.stderr
    yield {"server": server, "home": home, "base": base_home / "router", "stale": stale}
    server.stop()


def _accuracy(home: Path, model: Path) -> float:
    done = enigma(home, "eval", "router", "--model", str(model), "--data", str(HELDOUT), "--json")
    assert done.returncode == 0, done.stderr
    return float(json.loads(done.stdout)["accuracy"])


def _batch(home: Path, command: str, texts: list[str]) -> list[dict[str, Any]]:
    """``enigma COMMAND --batch``: one JSON object per text (a line that failed has ``error``:
    a weather phrasing the router sends to vision, say, finds no image to describe)."""
    batch = home / "batch.txt"
    batch.write_text("\n".join(texts) + "\n")
    done = enigma(home, command, "--batch", str(batch))
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == len(texts), done.stderr
    return rows


@pytest.mark.slow
def test_examples_reach_training_and_staleness_clears(trained: dict[str, Any]) -> None:
    home = trained["home"]
    assert "run `enigma train router`" in trained["stale"].stdout
    meta = json.loads((home / "models" / "router" / "config.json").read_text())
    base = json.loads((trained["base"] / "config.json").read_text())
    assert "weather" in meta["labels"] and "weather" not in base["labels"]
    assert meta["router"]["plugin_examples"] - base["router"]["plugin_examples"] == 20
    listing = enigma(home, "plugins")
    assert listing.returncode == 0 and "enigma train router" not in listing.stdout


@pytest.mark.slow
def test_held_out_phrasings_route_to_the_declared_task(trained: dict[str, Any]) -> None:
    home = trained["home"]
    results = _batch(home, "classify", HELD_OUT)
    weather = sum(1 for r in results if r["intent"] == "weather")
    assert weather / len(HELD_OUT) >= 0.9, weather
    drop = _accuracy(home, trained["base"]) - _accuracy(home, home / "models" / "router")
    assert drop <= 0.01, drop


@pytest.mark.slow
def test_an_unsure_decision_escalates_to_the_fallback(trained: dict[str, Any]) -> None:
    results = [r for r in _batch(trained["home"], "route", HELD_OUT) if "error" not in r]
    escalated = [r for r in results if r["via"] == "cascade"]
    direct = [r for r in results if r["task"] == "weather"]
    assert escalated and direct  # some sure, some unsure: both paths are exercised
    for r in escalated:
        assert r["intent"] == "weather" and r["confidence"] < ESCALATE_BELOW
        cascade = r["classification"]["cascade"]
        assert cascade["from"] == "weather" and cascade["to"] == "big"
        assert cascade["reason"] == f"confidence {r['confidence']:.2f} below {ESCALATE_BELOW:g}"
        assert r["task"] == "big" and r["data"]["backend"] == "big"
        assert r["output"] == f"echo: {r['text']}"
    for r in direct:
        assert r["via"] == "model" and r["confidence"] >= ESCALATE_BELOW
        assert r["data"]["backend"] == "local"
