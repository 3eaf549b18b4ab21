"""Finding the image in a request, and the vision task run through the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("enigma_vision")

from enigma_vision.api import describe_request
from enigma_vision.model import Captioner
from enigma_vision.paths import find_features, find_image_path
from enigma_vision.synth import encode, generate

from enigma_core.errors import EnigmaError


def test_paths_in_requests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bare names, ~ paths with punctuation, quoted paths with spaces, unquoted with spaces."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_image_path("describe photo.jpg") == "photo.jpg"
    assert find_image_path("what is in ~/pics/cat.png?") == "~/pics/cat.png"  # as written
    assert find_image_path('caption "my pics/a b.webp" please') == "my pics/a b.webp"
    assert find_image_path("what do you see in 'x.GIF'") == "x.GIF"
    folder = tmp_path / "My Photos"
    folder.mkdir()
    (folder / "cat 1.png").write_bytes(b"x")
    request = f"describe {folder}/cat 1.png now"
    assert find_image_path(request) == str(folder / "cat 1.png")
    assert find_image_path("what is in this picture?") is None
    with pytest.raises(EnigmaError, match="offline"):
        find_image_path("describe https://example.com/cat.png")


def test_features_in_requests() -> None:
    """The seed's marker, or a comma list after a verb, is a features string."""
    assert find_features("[E:vision] person, smiling, beach") == "person, smiling, beach"
    assert find_features("describe: dog, grass, running") == "dog, grass, running"
    assert find_features("describe photo.jpg") is None


def test_describe_request(tmp_path: Path) -> None:
    """A request naming a file is captioned; a request without one is a one-line error."""
    synth = generate(2, seed=9)
    path = tmp_path / f"shot one.{synth.fmt}"
    path.write_bytes(encode(synth))
    result = describe_request(f'what is in "{path}"?', Captioner())
    assert result.path == str(path) and result.features.objects
    with pytest.raises(EnigmaError) as info:
        describe_request("what is in this picture?", Captioner())
    assert "\n" not in str(info.value)
    with pytest.raises(EnigmaError, match="no such image file"):
        describe_request(f"describe {tmp_path}/missing.png", Captioner())


def _enigma(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed ``enigma`` CLI of this interpreter."""
    exe = Path(sys.executable).with_name("enigma")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "enigma_core.cli.main"]
    env = {**os.environ, "ENIGMA_LOAD_PLUGINS": "vision"}
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120
    )


def test_route_json_exposes_features(tmp_path: Path) -> None:
    """``enigma route --json`` runs the vision task and shows the extracted features."""
    synth = generate(4, seed=9)
    path = tmp_path / f"pic.{synth.fmt}"
    path.write_bytes(encode(synth))
    done = _enigma("route", f"describe {path}", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["task"] == "vision"
    features = report["data"]["features"]
    assert {g["shape"] for g in features["objects"]} == {g.shape for g in synth.groups}
    assert report["output"] == report["data"]["caption"]
    missing = _enigma("route", "describe nothing-here.png", cwd=tmp_path)
    assert missing.returncode == 1
    assert "nothing-here.png" in missing.stderr and "Traceback" not in missing.stderr


def test_plugin_import_is_light() -> None:
    """Loading the plugin module imports neither Pillow, numpy, OpenCV nor torch."""
    script = (
        "import sys, enigma_vision.plugin\n"
        "heavy = [m for m in ('PIL', 'numpy', 'cv2', 'torch') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
