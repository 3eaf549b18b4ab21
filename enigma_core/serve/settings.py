"""What an ``enigma serve`` process is configured with; validated once, shared by all workers."""

from __future__ import annotations

import ipaddress
import json
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError

DEFAULT_MAX_BODY = 8 * 1024 * 1024
"""Largest request body accepted (bytes): room for a few base64 images, far from RAM limits."""


@dataclass(frozen=True)
class ServeSettings:
    """Options of ``enigma serve`` (see ``enigma serve --help`` for what each one means)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    api_key: str | None = None
    allow_files: str | None = None
    router_model: str | None = None
    threads: int = 4
    queue: int = 64
    timeout: float = 60.0
    max_body: int = DEFAULT_MAX_BODY
    grace: float = 30.0
    preload: bool = False
    access_log: bool = True

    def validate(self) -> ServeSettings:
        """Refuse impossible values with one line naming the option; return self."""
        checks = [
            (1 <= self.port <= 65535 or self.port == 0, "--port must be 0..65535"),
            (1 <= self.workers <= 64, "--workers must be 1..64"),
            (1 <= self.threads <= 256, "--threads must be 1..256"),
            (0 <= self.queue <= 100_000, "--queue must be 0..100000"),
            (0 < self.timeout <= 86_400, "--timeout must be more than 0 and at most 86400 s"),
            (1024 <= self.max_body <= 1 << 30, "--max-body-mb must be 0.001..1024"),
            (0 <= self.grace <= 3600, "--grace must be 0..3600 s"),
            (self.api_key is None or self.api_key.strip() != "", "--api-key must not be empty"),
        ]
        for ok, message in checks:
            if not ok:
                raise EnigmaError(message)
        if self.allow_files is not None:
            root = Path(self.allow_files).expanduser()
            try:
                mode = root.stat().st_mode
            except OSError:
                raise EnigmaError(f"--allow-files {self.allow_files}: no such directory") from None
            if not stat.S_ISDIR(mode):
                raise EnigmaError(f"--allow-files {self.allow_files}: not a directory")
        return self

    @property
    def loopback(self) -> bool:
        """True when the server only listens on this machine."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def to_json(self) -> str:
        """Serialised form handed to worker processes (on their stdin, never argv or env)."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        """Inverse of :meth:`to_json`."""
        data: dict[str, Any] = json.loads(text)
        return cls(**data)
