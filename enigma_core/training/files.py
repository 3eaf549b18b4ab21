"""The files of a model directory and the low-level readers every model loader shares.

File names, sha256 of files and bytes, and a bounded JSON reader (one-line errors). Imports
nothing else of the core's training package, so everything there may import it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
PLOT_FILE = "loss.png"
CHECKPOINT_DIR = "checkpoint"
STATE_FILE = "state.json"
FORMAT_NAME = "enigma-model"
FORMAT_VERSION = 1


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of in-memory bytes (what a file written from them will hash to)."""
    return hashlib.sha256(data).hexdigest()


MAX_JSON = 16 << 20
"""Largest config/state JSON file read (real ones are a few KB); larger is refused unread."""


def read_json(path: Path, what: str) -> dict[str, Any]:
    """A JSON object from ``path``; missing, oversized or malformed files are one-line errors."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_JSON + 1)
        if len(raw) > MAX_JSON:
            raise EnigmaError(f"{path}: {what} is larger than {MAX_JSON >> 20} MB; not read")
        data = json.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise EnigmaError(f"{path}: {what} not found") from None
    except json.JSONDecodeError as exc:
        raise EnigmaError(f"{path}:{exc.lineno}: {what} is not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise EnigmaError(f"{path}: cannot read {what} ({reason})") from None
    if not isinstance(data, dict):
        raise EnigmaError(f"{path}: {what} must be a JSON object")
    return data
