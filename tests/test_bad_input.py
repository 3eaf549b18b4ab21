"""Bad input gets one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.venvs import Venv


def _one_line_error(done) -> str:
    assert done.returncode != 0
    err = done.stderr.decode("utf-8", "replace").strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


def test_empty_request(core_venv: Venv) -> None:
    assert "empty request" in _one_line_error(core_venv.run("route", ""))


def test_one_megabyte_request(core_venv: Venv) -> None:
    big = "a" * (1 << 20)
    assert "too long" in _one_line_error(core_venv.run("route", "-", stdin=big.encode()))


def test_invalid_utf8_on_stdin(core_venv: Venv) -> None:
    assert "UTF-8" in _one_line_error(core_venv.run("route", "-", stdin=b"hello \xff\xfe world"))


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"enabled": "yes"}'])
def test_unreadable_config(core_venv: Venv, tmp_path: Path, content: bytes) -> None:
    (tmp_path / "config.json").write_bytes(content)
    err = _one_line_error(core_venv.run("route", "hello", env={"ENIGMA_HOME": str(tmp_path)}))
    assert "config.json" in err


def test_batch_keeps_order_and_reports_bad_lines(core_venv: Venv, tmp_path: Path) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_text("hello there\n\nwrite a function\ndescribe cat.png\n", encoding="utf-8")
    done = core_venv.run("classify", "--batch", str(batch))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode().splitlines()
    assert [line.split('"intent": "')[1].split('"')[0] for line in lines] == [
        "chat",
        "code",
        "vision",
    ]


def test_missing_batch_file(core_venv: Venv, tmp_path: Path) -> None:
    err = _one_line_error(core_venv.run("route", "--batch", str(tmp_path / "nope.txt")))
    assert "nope.txt" in err


def test_unknown_plugin_info(core_venv: Venv) -> None:
    assert "no plugin named" in _one_line_error(core_venv.run("plugins", "info", "nosuch"))


def test_training_without_torch_says_how_to_get_it(code_venv: Venv) -> None:
    err = _one_line_error(code_venv.run("train", "code"))
    assert "training needs torch" in err and "enigma-core[torch]" in err
