"""safetensors files with numpy only: memory-mapped reads, metadata, bounded header, atomic write.

Reading maps the file and returns read-only numpy views of its tensors (no copy, no dtype
conversion), so a model loads in the time it takes to parse the JSON header. The header is
validated (size limit, dtypes, shapes against byte ranges) before anything is mapped; every
problem is a one-line :class:`EnigmaError` naming the file. safetensors' own ``PanicException``
(a BaseException, raised under memory pressure) is turned into one line by :func:`guarded`.
"""

from __future__ import annotations

import json
import mmap
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from enigma_core.errors import EnigmaError

MAX_HEADER = 16 << 20
"""Largest JSON header accepted (real ones are a few KB)."""
DTYPES = {
    "F64": np.float64,
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
    "I16": np.int16,
    "I8": np.int8,
    "U8": np.uint8,
    "BOOL": np.bool_,
}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
T = TypeVar("T")


class WeightsFile:
    """A mapped safetensors file: ``arrays`` (read-only views) and its ``metadata``."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]):
        self.path = path
        self.arrays = arrays
        self.metadata = metadata


def read_header(path: str | Path) -> tuple[dict[str, Any], int]:
    """The parsed JSON header of a safetensors file and the offset where its data starts."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise EnigmaError(f"{p}: not a safetensors file (shorter than 8 bytes)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER:
                raise EnigmaError(f"{p}: not a safetensors file (header of {n} bytes)")
            raw = fh.read(n)
    except FileNotFoundError:
        raise EnigmaError(f"{p}: weights file not found") from None
    except OSError as exc:
        raise EnigmaError(f"{p}: cannot read weights ({exc.strerror or exc})") from None
    if len(raw) < n:
        raise EnigmaError(f"{p}: truncated safetensors file (header cut short)")
    try:
        header = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise EnigmaError(f"{p}: not a safetensors file (header is not JSON)") from None
    if not isinstance(header, dict):
        raise EnigmaError(f"{p}: not a safetensors file (header is not an object)")
    return header, 8 + n


def metadata_of(path: str | Path) -> dict[str, str]:
    """The ``__metadata__`` strings of a safetensors file (only its header is read)."""
    header, _ = read_header(path)
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}


def open_weights(path: str | Path) -> WeightsFile:
    """Map ``path`` and return its tensors as read-only numpy views (see module doc)."""
    p = Path(path)
    header, start = read_header(p)
    size = p.stat().st_size
    arrays: dict[str, np.ndarray] = {}
    specs = {k: v for k, v in header.items() if k != "__metadata__"}
    buf: Any = b""
    if specs and size > start:
        try:
            with p.open("rb") as fh:
                buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise EnigmaError(f"{p}: cannot map weights ({exc})") from None
    for name, spec in specs.items():
        arrays[name] = _view(p, buf, name, spec, start, size)
    meta = header.get("__metadata__") or {}
    meta = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
    return WeightsFile(p, arrays, meta)


def _view(p: Path, buf: Any, name: str, spec: Any, start: int, size: int) -> np.ndarray:
    """One tensor's numpy view after checking dtype, shape and byte range."""
    try:
        dtype = np.dtype(DTYPES[spec["dtype"]])
        shape = tuple(int(d) for d in spec["shape"])
        begin, end = (int(o) for o in spec["data_offsets"])
    except (KeyError, TypeError, ValueError):
        raise EnigmaError(f"{p}: tensor {name!r} has a malformed header entry") from None
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if min(shape, default=0) < 0 or end - begin != count * dtype.itemsize or begin < 0:
        raise EnigmaError(f"{p}: tensor {name!r} size does not match its shape")
    if start + end > size:
        raise EnigmaError(f"{p}: truncated safetensors file (tensor {name!r} is cut short)")
    if count == 0:
        return np.zeros(shape, dtype=dtype)
    return np.frombuffer(buf, dtype=dtype, count=count, offset=start + begin).reshape(shape)


def encode(tensors: dict[str, np.ndarray], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` (C-contiguous little-endian copies are made)."""
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        if not arr.flags.c_contiguous:  # (ascontiguousarray would turn a scalar into shape (1,))
            arr = arr.copy(order="C")
        if arr.dtype not in CODES:
            raise EnigmaError(f"weights: tensor {name!r} has unsupported dtype {arr.dtype}")
        data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {
            "dtype": CODES[arr.dtype],
            "shape": list(arr.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned, as safetensors writes it
    return b"".join([struct.pack("<Q", len(raw)), raw, *blobs])


def guarded(fn: Callable[[], T], path: str | Path, what: str = "weights") -> T:
    """Run ``fn`` (a safetensors call); its errors, even ``PanicException``, become one line."""
    try:
        return fn()
    except EnigmaError:
        raise
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except MemoryError:
        raise EnigmaError(f"{path}: out of memory while reading {what}") from None
    except BaseException as exc:  # safetensors' PanicException is a BaseException
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EnigmaError(f"{path}: cannot read {what} ({detail})") from None
