"""A path in a prompt is text: ``enigma serve`` never opens it unless ``--allow-files DIR``.

Checked two ways: what reaches a task (the probe plugin reports its file policy) and what the
kernel sees (inotify on the files named in the prompt, with a positive control).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serve_support import OpenWatcher, chat_body, png_bytes, start_server
from tests.venvs import Venv


def _report(server, text: str = "probe report") -> dict:
    with server.client() as client:
        response = client.post("/v1/chat/completions", json=chat_body(text, "enigma/probe"))
    assert response.status_code == 200, response.text
    return json.loads(response.json()["choices"][0]["message"]["content"])


def test_tasks_get_no_file_access_by_default(serve_venv: Venv, tmp_path: Path) -> None:
    server = start_server(serve_venv, tmp_path)
    try:
        assert _report(server)["files"] == {"allowed": False, "root": None}
    finally:
        assert server.stop() == 0


def test_allow_files_confines_to_the_resolved_dir(serve_venv: Venv, tmp_path: Path) -> None:
    target = tmp_path / "pictures"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    server = start_server(serve_venv, tmp_path, "--allow-files", str(tmp_path / "link"))
    try:
        assert _report(server)["files"] == {"allowed": True, "root": str(target.resolve())}
        assert f"files: within {tmp_path / 'link'}" in server.log()
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_allow_files_must_be_a_directory(serve_venv: Venv, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "x"
    if kind == "file":
        path.write_text("x")
    done = serve_venv.run("serve", "--port", "0", "--allow-files", str(path))
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        f"enigma: error: --allow-files {path}: "
        + ("no such directory" if kind == "missing" else "not a directory")
    )


def _vision(server, text: str):
    with server.client() as client:
        return client.post("/v1/chat/completions", json=chat_body(text, "enigma/vision"))


def test_paths_in_prompts_are_never_opened(serve_venv: Venv, tmp_path: Path) -> None:
    photo = tmp_path / "secret.png"
    photo.write_bytes(png_bytes(40, 30, (250, 0, 0)))
    server = start_server(serve_venv, tmp_path)
    watcher = OpenWatcher(photo)
    try:
        for text in (f"describe {photo}", "what is in /etc/passwd", f"what do you see in {photo}?"):
            response = _vision(server, text)
            assert response.status_code in (200, 400), response.text
            assert "root:" not in response.text
            data = response.json().get("enigma", {}).get("data", {})
            assert not data.get("features"), data
        assert watcher.opened() == set()
    finally:
        watcher.close()
        assert server.stop() == 0


def test_allowed_dir_files_are_read(serve_venv: Venv, tmp_path: Path) -> None:
    """Positive control for the watcher: with --allow-files, the named image is opened."""
    photo = tmp_path / "photo.png"
    photo.write_bytes(png_bytes(40, 30, (250, 0, 0)))
    server = start_server(serve_venv, tmp_path, "--allow-files", str(tmp_path))
    watcher = OpenWatcher(photo)
    try:
        response = _vision(server, f"describe {photo}")
        assert response.status_code == 200, response.text
        assert response.json()["enigma"]["data"]["features"]
        assert watcher.opened() == {str(photo)}
    finally:
        watcher.close()
        assert server.stop() == 0
