"""Which files a vision request may open: the user's own (minus devices, FIFOs, /proc, /sys),
none (a server: paths are text, images come attached), or only those inside one folder.

Absent and forbidden files get one and the same message, so errors tell nothing about which
paths or PIDs exist, and names are shown as written (``~`` is not expanded).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("enigma_vision")

import enigma_vision.plugin
from enigma_vision.api import answer_request, describe, describe_request
from enigma_vision.loader import decode_image_bytes, load_image
from enigma_vision.model import Captioner
from enigma_vision.synth import encode, generate

from enigma_core import EnigmaEngine
from enigma_core.config import Config
from enigma_core.context import FileAccess
from enigma_core.errors import EnigmaError
from enigma_core.plugins import build_plugin_manager


def _image(path: Path, index: int = 2, seed: int = 9) -> Path:
    """Write a procedural PNG to ``path``."""
    synth = generate(index, seed)
    path.write_bytes(encode(synth) if synth.fmt == "png" else _png(synth.image))
    return path


def _png(image: object) -> bytes:
    """PNG bytes of a PIL image."""
    import io

    buffer = io.BytesIO()
    image.save(buffer, "PNG")  # type: ignore[attr-defined]
    return buffer.getvalue()


def _message(name: str, files: FileAccess | None = None) -> str:
    """The one-line error of loading ``name`` under ``files``."""
    with pytest.raises(EnigmaError) as info:
        load_image(name, files=files)
    return str(info.value)


def absent(name: str) -> str:
    """The message for a file that is absent or not allowed."""
    return f"{name}: no such image file (or not allowed)"


def test_devices_fifos_proc_and_sys_read_as_absent(tmp_path: Path) -> None:
    """Devices, FIFOs, /proc (any PID), /sys, links into them and directories get exactly the
    message of a missing file; the user's own image still loads."""
    picture = _image(tmp_path / "pic.png")
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    link = tmp_path / "env.png"
    link.symlink_to("/proc/self/environ")
    names = [
        "/dev/zero", "/dev/null", str(fifo), str(link), str(tmp_path), "/proc/self/environ",
        f"/proc/{os.getpid()}/root{picture}", f"/proc/self/cwd/{os.path.relpath(picture)}",
        "/proc/1/status", "/proc/999999999/status", "/sys/kernel/notes",
        str(tmp_path / "missing.png"),
    ]  # fmt: skip
    for name in names:
        assert _message(name) == absent(name)
    assert load_image(picture).pixels.size


def test_tilde_is_expanded_for_reading_but_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``~`` reaches the user's own files; an error shows the name as written, not the home."""
    home = tmp_path / "home-of-someone"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    _image(home / "pic.png")
    assert describe_request("describe ~/pic.png", Captioner()).path == "~/pic.png"
    with pytest.raises(EnigmaError) as info:
        describe_request("what is in ~/secret/nothere.png?", Captioner())
    assert str(info.value) == absent("~/secret/nothere.png")
    assert str(home) not in str(info.value)


def test_within_a_folder_nothing_outside_it_is_read(tmp_path: Path) -> None:
    """``FileAccess.within(root)``: names resolve against root; links and ``..`` cannot leave it."""
    root = tmp_path / "shared"
    (root / "sub").mkdir(parents=True)
    _image(root / "in.png")
    outside = _image(tmp_path / "outside.png")
    (root / "escape.png").symlink_to(outside)
    (root / "sub" / "alias.png").symlink_to(root / "in.png")
    files = FileAccess.within(root)
    for name in ("in.png", str(root / "in.png"), "sub/alias.png", "sub/../in.png"):
        assert load_image(name, files=files).pixels.size
    for name in ("escape.png", "../outside.png", str(outside), "~/in.png", "/etc/hostname"):
        assert _message(name, files) == absent(name)
    assert describe_request("describe in.png", Captioner(), files=files).path == "in.png"
    with pytest.raises(EnigmaError, match="or not allowed"):
        describe_request(f"describe {outside}", Captioner(), files=files)


_NO_OPEN_SCRIPT = """
import json, sys
folder, request = sys.argv[1], sys.argv[2]
opened = []
sys.addaudithook(lambda event, args: opened.append(str(args[0]))
                 if event == "open" and folder in str(args[0]) else None)
from enigma_core.context import FileAccess
from enigma_core.errors import EnigmaError
from enigma_vision.api import answer_request
from enigma_vision.model import Captioner
try:
    answer_request(request, Captioner(), False, FileAccess.none())
    message = None
except EnigmaError as exc:
    message = str(exc)
print(json.dumps({"opened": opened, "message": message}))
"""


def test_server_policy_opens_no_file(tmp_path: Path) -> None:
    """``FileAccess.none()``: a named file, existing or not, is never opened; the message is the
    same either way and asks for an attachment."""
    _image(tmp_path / "there.png")
    messages = []
    for name in ("there.png", "missing.png"):
        request = f"describe {tmp_path / name}"
        done = subprocess.run(
            [sys.executable, "-c", _NO_OPEN_SCRIPT, str(tmp_path), request],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["opened"] == []
        messages.append(report["message"].replace(name, "NAME"))
    assert messages[0] == messages[1] and "attach the image" in messages[0]
    with pytest.raises(EnigmaError, match="attach an image"):
        describe_request("what is in this picture?", Captioner(), files=FileAccess.none())
    features = describe_request(
        "[E:vision] 1 red circle center", Captioner(), files=FileAccess.none()
    )
    assert features.features.objects  # a features string is still text, and still works


def test_attached_images_are_described_through_the_engine(tmp_path: Path) -> None:
    """An uploaded image (decoded by ``decode_image_bytes``) is described as its file would be,
    through the real engine and the plugin's hook; several images get one line each."""
    paths = [_image(tmp_path / f"p{i}.png", i, seed=31) for i in range(2)]
    uploads = [decode_image_bytes(p.read_bytes()) for p in paths]
    plugins = build_plugin_manager(
        entry_points=False, extra=[("enigma-vision", enigma_vision.plugin)]
    )
    engine = EnigmaEngine(config=Config(), plugin_manager=plugins)
    options = {"faces": False}
    one = engine.execute(
        "vision", "what is this?", images=uploads[:1], files=FileAccess.none(), options=options
    )
    from_file = describe(paths[0], engine.load("vision"), faces=False)
    assert one.output == from_file.caption
    assert one.data["features"] == from_file.features.to_dict()
    both = engine.execute("vision", "and these?", images=uploads, options=options)
    lines = both.output.splitlines()
    assert len(lines) == 2 and lines[0] == f"Image 1: {from_file.caption}"
    assert len(both.data["images"]) == 2
    with pytest.raises(EnigmaError, match="not opened here"):
        engine.execute("vision", f"describe {paths[1]}", files=FileAccess.none(), options=options)
    output, data = answer_request(f"describe {paths[1]}", engine.load("vision"), False)
    assert data["path"] == str(paths[1]) and output
