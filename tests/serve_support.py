"""Helpers for the ``enigma serve`` tests: a real server subprocess, images, a file-open watcher."""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import io
import os
import signal
import struct
import subprocess
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.venvs import Venv, clean_env

KEY = "test-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}


@dataclass
class Server:
    """A running ``enigma serve`` subprocess and where it listens."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        """Everything the server wrote on stderr so far."""
        return self.log_path.read_text(errors="replace")

    def client(self, key: str | None = KEY, timeout: float = 60) -> httpx.Client:
        """An httpx client for this server (with the API key unless ``key`` is None)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the server and wait for it; its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def start_server(
    venv: Venv, tmp: Path, *args: str, key: str | None = KEY, ready: bool = True
) -> Server:
    """``enigma serve --port 0 ARGS`` in ``venv``; returns once /readyz answers 200."""
    log_path = tmp / f"server-{time.monotonic_ns()}.log"
    home = tmp / "enigma_home"  # its own ENIGMA_HOME: no user config or trained model
    home.mkdir(exist_ok=True)
    env = {"ENIGMA_HOME": str(home)}
    if key:
        env["ENIGMA_API_KEY"] = key
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [venv.enigma, "serve", "--port", "0", *args],
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=clean_env(env),
        )
    return Server(proc, listening_url(proc, log_path, ready=ready), log_path)


def listening_url(
    proc: subprocess.Popen[bytes], log_path: Path, wait_s: float = 120, ready: bool = True
) -> str:
    """The URL a starting ``enigma serve`` prints ("listening on URL") to ``log_path``, once
    its /readyz says 200 (at once when not ``ready``); killed (its whole session when it has
    one) and an AssertionError with its log when it exits or is not ready in ``wait_s``."""
    deadline = time.monotonic() + wait_s
    url = None
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        if proc.poll() is not None:
            raise AssertionError(f"enigma serve exited {proc.returncode}:\n{text}")
        if url is None and "listening on " in text:
            url = text.split("listening on ", 1)[1].split()[0]
        if url is not None:
            if not ready:
                return url
            try:
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    if os.getpgid(proc.pid) == proc.pid:  # started with start_new_session: the whole group
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    raise AssertionError(f"enigma serve not ready in {wait_s:g} s:\n{log_path.read_text()}")


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    """A real PNG drawn with Pillow."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    """``data:`` URL of ``data``."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(side: int = 20000) -> bytes:
    """A PNG whose pixel data really inflates to ``side``² bytes (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit grayscale
    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [packer.compress(row) for _ in range(side)]
    idat = b"".join(parts) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def chat_body(text: str, model: str = "enigma", **extra: object) -> dict[str, object]:
    """A one-message chat completion body."""
    return {"model": model, "messages": [{"role": "user", "content": text}], **extra}


IN_OPEN = 0x20
IN_ACCESS = 0x01
IN_NONBLOCK = 0o4000


class OpenWatcher:
    """Linux inotify on files: did any process open or read them since the watch began?"""

    def __init__(self, *paths: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._fd = libc.inotify_init1(IN_NONBLOCK)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        self._names: dict[int, str] = {}
        for path in paths:
            wd = libc.inotify_add_watch(self._fd, str(path).encode(), IN_OPEN | IN_ACCESS)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")
            self._names[wd] = str(path)

    def opened(self) -> set[str]:
        """Paths opened or read since the last call."""
        seen: set[str] = set()
        while True:
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                return seen
            offset = 0
            while offset < len(data):
                wd, _mask, _cookie, length = struct.unpack_from("iIII", data, offset)
                seen.add(self._names.get(wd, "?"))
                offset += 16 + length

    def close(self) -> None:
        """Stop watching."""
        os.close(self._fd)
