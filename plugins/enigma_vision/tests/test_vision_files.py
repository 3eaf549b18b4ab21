"""Image files the vision plugin must refuse cleanly: missing, empty, corrupt, truncated, bombs.

Each bad file gives an EnigmaError whose message is one line naming the file; a 20000×20000
header is refused from the header alone, without allocating the pixel buffer.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

pytest.importorskip("enigma_vision")

from enigma_vision.api import describe_image
from enigma_vision.loader import load_image
from enigma_vision.synth import encode, generate
from PIL import Image

from enigma_core.errors import EnigmaError


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk with its CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(width: int = 20000, height: int = 20000) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` RGB pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def bomb_jpeg(size: int = 20000) -> bytes:
    """A real small JPEG whose SOF marker is patched to claim ``size``×``size`` pixels."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 10, 10)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, size, size)
    return bytes(data)


def _good_bytes(fmt: str = "png") -> bytes:
    """A valid procedural image file in ``fmt``."""
    image = generate(3, seed=11).image
    buffer = io.BytesIO()
    image.save(buffer, {"png": "PNG", "jpg": "JPEG"}[fmt])
    return buffer.getvalue()


def _refused(path: Path, *words: str) -> str:
    """Assert that loading ``path`` raises a one-line EnigmaError naming it; return the text."""
    with pytest.raises(EnigmaError) as info:
        load_image(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message
    return message


def test_missing_empty_and_directory(tmp_path: Path) -> None:
    """Missing files, empty files and directories are one-line errors."""
    _refused(tmp_path / "nope.png", "no such image file")
    (tmp_path / "empty.jpg").write_bytes(b"")
    _refused(tmp_path / "empty.jpg", "empty")
    _refused(tmp_path, "no such image file (or not allowed)")


def test_not_an_image(tmp_path: Path) -> None:
    """Random bytes and text with an image extension are refused."""
    (tmp_path / "noise.png").write_bytes(bytes(range(256)) * 4)
    _refused(tmp_path / "noise.png", "not a readable image")
    (tmp_path / "notes.jpg").write_text("hello, not a jpeg\n")
    _refused(tmp_path / "notes.jpg")


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_truncated(tmp_path: Path, fmt: str) -> None:
    """A file cut in the middle is refused, not padded with grey."""
    data = _good_bytes(fmt)
    path = tmp_path / f"cut.{fmt}"
    path.write_bytes(data[: len(data) // 2])
    _refused(path)


def test_corrupt_pixel_data(tmp_path: Path) -> None:
    """A valid PNG header followed by garbage image data is refused."""
    header = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"\x12\x34garbage-not-zlib" * 4)
        + _chunk(b"IEND", b"")
    )
    path = tmp_path / "garbage.png"
    path.write_bytes(data)
    _refused(path)


@pytest.mark.parametrize(("name", "maker"), [("bomb.png", bomb_png), ("bomb.jpg", bomb_jpeg)])
def test_decompression_bomb_refused_from_header(tmp_path: Path, name: str, maker: object) -> None:
    """A 20000×20000 header is refused before decoding, in a process that stays small."""
    path = tmp_path / name
    path.write_bytes(maker())  # type: ignore[operator]
    assert path.stat().st_size < 2000
    script = (
        "import json, resource, sys\n"
        "from enigma_core.errors import EnigmaError\n"
        "from enigma_vision.loader import load_image\n"
        "try:\n"
        "    load_image(sys.argv[1]); message = None\n"
        "except EnigmaError as exc:\n"
        "    message = str(exc)\n"
        # VmHWM is this process's own peak; ru_maxrss would include the forking parent's.
        "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM:')]\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "rss = int(hwm[0].split()[1]) if hwm else peak\n"
        "print(json.dumps({'message': message, 'rss_kb': rss}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["message"] is not None and "too large" in report["message"]
    assert "20000x20000" in report["message"] or "pixels" in report["message"]
    assert report["rss_kb"] < 400_000  # decoding would need 1.2 GB


def test_describe_image_of_bad_file_is_one_line(tmp_path: Path) -> None:
    """The public API passes the loader's one-line error through."""
    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png())
    with pytest.raises(EnigmaError, match="too large"):
        describe_image(path)
    with pytest.raises(EnigmaError, match="no such image file"):
        describe_image(str(tmp_path / "missing photo.jpg"))


def test_formats_and_modes(tmp_path: Path) -> None:
    """PNG, JPEG, WebP, GIF (first frame), RGBA, palette and 16-bit grey all load."""
    base = generate(5, seed=2).image
    frames = [base, Image.new("RGB", base.size, (0, 0, 0))]
    base.save(tmp_path / "a.webp", "WEBP", quality=90)
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:], duration=100)
    base.convert("RGBA").save(tmp_path / "a_rgba.png")
    base.convert("P").save(tmp_path / "a_p.png")
    Image.new("I;16", (40, 30), 30000).save(tmp_path / "a16.png")
    (tmp_path / "a.png").write_bytes(encode(generate(5, seed=2)))
    for name in ("a.webp", "a.gif", "a_rgba.png", "a_p.png", "a16.png", "a.png"):
        loaded = load_image(tmp_path / name)
        assert loaded.pixels.ndim == 3 and loaded.pixels.shape[2] == 3
        assert max(loaded.pixels.shape[:2]) <= 160
    gif = load_image(tmp_path / "a.gif")
    assert gif.pixels.mean() > 20  # the first frame, not the black second one


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    """A landscape JPEG tagged "rotate 90°" is measured as the portrait a viewer sees."""
    image = Image.new("RGB", (200, 100), (245, 245, 245))
    image.paste((35, 80, 210), (0, 0, 100, 100))  # blue left half as stored
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "turned.jpg"
    image.save(path, "JPEG", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert (loaded.width, loaded.height) == (100, 200)
    assert loaded.pixels.shape[0] > loaded.pixels.shape[1]
    top, bottom = loaded.pixels[:40].mean(), loaded.pixels[-40:].mean()
    assert top < bottom  # the stored left (blue, darker) half is now on top


def png16(width: int, height: int) -> bytes:
    """A 16-bit grey PNG of zeros, compressed row by row (never held uncompressed)."""
    header = struct.pack(">IIBBBBB", width, height, 16, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + 2 * width)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


_PEAK_SCRIPT = (
    "import json, sys\n"
    "from enigma_core.errors import EnigmaError\n"
    "from enigma_vision.loader import load_image\n"
    "try:\n"
    "    shape = list(load_image(sys.argv[1]).pixels.shape); message = None\n"
    "except EnigmaError as exc:\n"
    "    shape, message = None, str(exc)\n"
    "hwm = [x for x in open('/proc/self/status') if x.startswith('VmHWM:')]\n"
    "print(json.dumps({'message': message, 'shape': shape, 'rss_kb': int(hwm[0].split()[1])}))\n"
)


def _peak(path: Path) -> dict[str, object]:
    """Load ``path`` in a fresh interpreter; its message or pixel shape, and its peak RSS."""
    if not Path("/proc/self/status").is_file():
        pytest.skip("needs /proc/self/status (Linux) to read a process's peak memory")
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_SCRIPT, str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_16_bit_png_bomb_stays_small(tmp_path: Path) -> None:
    """A 172 KB 16-bit PNG of 9400x9400 (under Pillow's own limit) took 2 GB and 8 s: it is
    refused from its header now; a 4000x4000 one is decoded reduced, in bounded memory."""
    bomb = tmp_path / "deep.png"
    bomb.write_bytes(png16(9400, 9400))
    assert bomb.stat().st_size < 200_000
    report = _peak(bomb)
    assert report["message"] is not None and "too large" in str(report["message"])
    assert "9400x9400" in str(report["message"])
    assert int(report["rss_kb"]) < 150_000  # the old loader peaked at 2,021,884 kB
    big = tmp_path / "deep4k.png"
    big.write_bytes(png16(4000, 4000))
    report = _peak(big)
    assert report["message"] is None and report["shape"] == [160, 160, 3]
    assert int(report["rss_kb"]) < 250_000  # the old loader peaked at 396,332 kB


def test_decode_image_bytes_has_the_file_limits() -> None:
    """Uploads get the file checks: bombs, 16-bit bombs, junk and empty data are one-line
    errors; a good upload comes back RGB, upright, reduced, with its original size noted."""
    from enigma_vision.loader import decode_image_bytes, loaded_from_image

    for data, word in ((bomb_png(), "too large"), (bomb_jpeg(), "too large"),
                       (png16(9400, 9400), "too large"), (b"", "empty"),
                       (b"not an image at all", "not a readable image"),
                       (_good_bytes("png")[:300], "")):  # fmt: skip
        with pytest.raises(EnigmaError) as info:
            decode_image_bytes(data)
        assert "\n" not in str(info.value) and word in str(info.value)
        assert str(info.value).startswith("uploaded image: ")
    big = Image.new("RGB", (3000, 1000), (20, 40, 200))
    buffer = io.BytesIO()
    big.save(buffer, "PNG")
    image = decode_image_bytes(buffer.getvalue())
    assert (
        image.mode == "RGB"
        and max(image.size) <= 1280
        and image.info["enigma_size"]
        == (
            3000,
            1000,
        )
    )
    loaded = loaded_from_image(image)
    assert (loaded.width, loaded.height, loaded.format) == (3000, 1000, "PNG")
    assert loaded.pixels.shape == (53, 160, 3)
    assert image.size == decode_image_bytes(buffer.getvalue()).size  # the upload is untouched
