"""The decision log: what is written, by whom, that it never fails a request, and reading it back
through `enigma logs`, `enigma review` and `enigma promote` (real processes, real SQLite)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from enigma_core import EnigmaEngine
from enigma_core.decisions import schema
from enigma_core.decisions.writer import flush_all
from tests.venvs import REPO, Venv, clean_env

DEFAULT_ROUTER = REPO / "plugins/enigma_router/enigma_router/default_model"


def _rows(home: Path) -> list[dict]:
    conn = sqlite3.connect(home / "logs.db")
    conn.row_factory = sqlite3.Row
    return [dict(r) for r in conn.execute("SELECT * FROM decisions ORDER BY id")]


def test_cli_decisions_are_logged_with_model_hash_and_timings(
    router_venv: Venv, tmp_path: Path
) -> None:
    env = {"ENIGMA_HOME": str(tmp_path)}
    assert router_venv.run("classify", "write a function that sorts", env=env).returncode == 0
    assert router_venv.run("route", "hello there", env=env).returncode == 0
    rows = _rows(tmp_path)
    assert [(r["kind"], r["source"], r["intent"], r["via"]) for r in rows] == [
        ("classify", "cli", "code", "model"),
        ("route", "cli", "chat", "model"),
    ]
    sha = json.loads((DEFAULT_ROUTER / "config.json").read_text())["weights_sha256"]
    assert all(r["router_sha256"] == sha for r in rows)
    assert rows[1]["task"] == "chat" and rows[1]["plugin"] == "builtin"
    assert rows[1]["classify_ms"] > 0 and rows[1]["execute_ms"] >= 0 and rows[1]["status"] == "ok"
    assert rows[0]["text"] == "write a function that sorts"
    listed = router_venv.json("logs", "-n", "1", env=env)
    assert [d["text"] for d in listed] == ["hello there"]


def test_text_can_be_kept_out_and_logging_switched_off(core_venv: Venv, tmp_path: Path) -> None:
    env = {"ENIGMA_HOME": str(tmp_path)}
    (tmp_path / "config.json").write_text(json.dumps({"log": {"text": False}}))
    core_venv.run("classify", "secret request text", env=env)
    row = _rows(tmp_path)[0]
    assert row["text"] is None and len(row["text_sha256"]) == 64
    assert core_venv.run("logs", "off", env=env).returncode == 0
    assert json.loads((tmp_path / "config.json").read_text())["log"] == {
        "text": False,
        "enabled": False,
    }
    core_venv.run("classify", "not logged", env=env)
    assert len(_rows(tmp_path)) == 1
    status = core_venv.json("logs", "status", env=env)
    assert status["enabled"] is False and status["decisions"] == 1


def test_a_locked_or_unusable_log_never_fails_a_request(core_venv: Venv, tmp_path: Path) -> None:
    env = {"ENIGMA_HOME": str(tmp_path)}
    core_venv.run("classify", "first", env=env)  # creates the database
    lock = sqlite3.connect(tmp_path / "logs.db", timeout=0.1)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        done = core_venv.run("route", "--json", "hello", env=env)
    finally:
        lock.rollback()
        lock.close()
    assert done.returncode == 0 and json.loads(done.stdout)["task"] == "chat"
    assert done.stderr.decode().count("decision log") == 1  # reported once
    broken = tmp_path / "broken"
    (broken / "logs.db").mkdir(parents=True)  # a directory where the file should be
    done = core_venv.run("route", "--json", "hello", env={"ENIGMA_HOME": str(broken)})
    assert done.returncode == 0 and b"cannot open decision log" in done.stderr


WRITER = """
import sys
from enigma_core import EnigmaEngine
engine = EnigmaEngine(source="p" + sys.argv[1])
for i in range(200):
    engine.classify(f"request {i} from process {sys.argv[1]}")
"""


def test_several_processes_and_threads_write_every_decision(tmp_path: Path) -> None:
    env = clean_env({"ENIGMA_HOME": str(tmp_path), "ENIGMA_LOAD_PLUGINS": "none"})
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(i)], env=env, cwd=REPO)
        for i in range(4)
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    rows = _rows(tmp_path)
    assert len(rows) == 800
    assert {r["source"] for r in rows} == {"p0", "p1", "p2", "p3"}


def test_an_old_log_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "logs.db"
    conn = sqlite3.connect(path)
    conn.executescript(schema.MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    conn.execute(
        "INSERT INTO decisions (ts, kind, source, text_sha256, intent, confidence, via) "
        "VALUES (1.0, 'classify', 'cli', 'x', 'chat', 0.9, 'model')"
    )
    conn.commit()
    conn.close()
    migrated = schema.connect(path)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == schema.VERSION
    row = dict(migrated.execute("SELECT * FROM decisions").fetchone())
    assert row["intent"] == "chat" and row["shadow_intent"] is None and row["label"] is None


def test_retention_keeps_the_newest_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENIGMA_HOME", str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"log": {"max_rows": 5}}))
    engine = EnigmaEngine(log=True)
    for i in range(8):
        engine.classify(f"hello number {i}")
        flush_all()
    writer = engine.decisions.writer()
    writer._last_prune = 0.0  # prune now rather than within the minute
    engine.classify("the last one")
    flush_all()
    texts = [r["text"] for r in _rows(tmp_path)]
    assert len(texts) == 5 and texts[-1] == "the last one"


def test_review_in_the_terminal_labels_two_requests(router_venv: Venv, tmp_path: Path) -> None:
    env = {"ENIGMA_HOME": str(tmp_path)}
    for text in ("zzkq vvrp", "hmm maybe write", "qqq www eee"):
        router_venv.run("classify", "--oos-threshold", "1.0", text, env=env)
    queue = router_venv.json("review", env=env)
    assert len(queue) == 3 and all(d["reason"] for d in queue)
    done = router_venv.run("review", "-i", stdin=b"chat\ncode\nq\n", env=env)
    assert done.returncode == 0, done.stderr
    assert b"labelled 2" in done.stdout
    feedback = tmp_path / "data" / "router_feedback.jsonl"
    lines = [json.loads(line) for line in feedback.read_text().splitlines()]
    assert [(x["text"], x["intent"]) for x in lines] == [
        ("qqq www eee", "chat"),
        ("hmm maybe write", "code"),
    ]
    assert len(router_venv.json("review", env=env)) == 1  # labelled ones leave the queue
    bad = router_venv.run("review", "label", "1", "weather", env=env)
    assert bad.returncode == 1 and b"unknown intent 'weather'" in bad.stderr


def test_promote_switches_a_running_engine_without_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENIGMA_HOME", str(tmp_path / "home"))
    engine = EnigmaEngine()
    assert engine.classify("hello there").via == "model"
    assert engine.model_dir("router") is None  # the shipped default
    copy = tmp_path / "router-v2"
    shutil.copytree(DEFAULT_ROUTER, copy)
    from enigma_core.promote import promote_model

    with pytest.raises(Exception, match="not a trained model"):
        promote_model("router", tmp_path)
    promote_model("router", copy)
    time.sleep(1.1)  # engines look at the config at most once a second
    engine.classify("hello again")
    assert engine.model_dir("router") == copy.resolve()
    assert engine.is_loaded("router")


def test_shadow_router_answers_are_logged_beside_the_real_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENIGMA_HOME", str(tmp_path))
    engine = EnigmaEngine(shadow_router=DEFAULT_ROUTER)
    for text in ("hello there", "write a function that reverses a list", "draw me a cat"):
        engine.classify(text)
    engine.classify("zzkq vvrp", {"oos_threshold": 1.0})  # only the real router is unsure
    engine.decisions.shadow.drain()
    flush_all()
    rows = _rows(tmp_path)
    assert len(rows) == 4
    assert all(r["shadow_intent"] == r["intent"] for r in rows[:3])
    assert all(r["shadow_sha256"] == r["router_sha256"] for r in rows[:3])
    from enigma_core.decisions.query import LogFilter, open_log, select

    found = select(open_log(tmp_path / "logs.db"), LogFilter(disagreements=True))
    assert [(d.text, d.intent) for d in found] == [("zzkq vvrp", "oos")]
    assert found[0].shadow_intent not in (None, "oos")
