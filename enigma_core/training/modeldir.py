"""Model directories on disk: writable checks, updates that never lose a model, protected config.

- :func:`check_writable` runs before training: a read-only or file-typed ``ENIGMA_HOME`` or an
  unwritable ``--out`` is a one-line error before any data is read.
- :func:`commit` replaces ``model.safetensors`` + ``config.json``: it first hard-links the
  current pair into ``.previous/``, then writes weights and config (each atomic), then drops
  ``.previous/``. A kill between the two writes leaves a mismatched pair next to a complete
  ``.previous/``, and :func:`committed_dir` (what loaders call) answers ``.previous/`` then.
- :func:`protected` picks what inference depends on (labels, tokenizer, task, head, model
  shape, the recipe's ``protected_meta`` and a ``model_id``); it is stored inside the
  weights file, and :func:`check_protected` refuses a ``config.json`` that disagrees with it
  (e.g. hand-reordered labels, which would silently route requests to the wrong task).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from enigma_core.errors import EnigmaError
from enigma_core.training.files import CONFIG_FILE, WEIGHTS_FILE

PREVIOUS = ".previous"
META_KEY = "enigma"
ALWAYS_PROTECTED = ("task", "head", "labels", "tokenizer", "model", "model_id")


def check_writable(out: Path) -> None:
    """Create ``out`` if needed and prove a file can be written there (one-line errors)."""
    for parent in (out, *out.parents):
        if parent.exists():
            if not parent.is_dir():
                raise EnigmaError(f"{parent}: is a file, not a directory (cannot write {out})")
            break
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise EnigmaError(f"{out}: cannot write the model here ({_reason(exc)})") from None


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    return exc.strerror or str(exc)


def write_or_fail(path: Path, write: Callable[[], None]) -> None:
    """Run a write of ``path``; an OSError (disk full, permissions) names the path."""
    try:
        write()
    except OSError as exc:
        raise EnigmaError(f"{path}: cannot write ({_reason(exc)})") from None


def protected(meta: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The entries of ``meta`` inference depends on (JSON-normalised), for the weights file."""
    wanted = (*ALWAYS_PROTECTED, *keys)
    return {k: json.loads(json.dumps(meta[k])) for k in wanted if k in meta}


def model_id(tensors: dict[str, Any], meta: dict[str, Any], keys: Iterable[str]) -> str:
    """The id tying one export's weights to its ``config.json``: a hash of the tensors' bytes
    and the protected config, so the same training gives the same id (and the same files)."""
    import numpy as np  # here: loading a model (the CLI's numpy-free path) does not need it

    digest = hashlib.sha256()
    for name in sorted(tensors):
        arr = tensors[name]
        data = arr.numpy() if hasattr(arr, "numpy") else arr
        digest.update(name.encode() + b"\0" + memoryview(np.ascontiguousarray(data)).cast("B"))
    stored = protected({k: v for k, v in meta.items() if k != "model_id"}, keys)
    digest.update(json.dumps(stored, sort_keys=True).encode())
    return digest.hexdigest()[:32]


def embedded(metadata: dict[str, str], where: Path) -> dict[str, Any] | None:
    """The protected config stored in a weights file's metadata (None for older files)."""
    raw = metadata.get(META_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise EnigmaError(f"{where}: its '{META_KEY}' metadata is not JSON") from None
    if not isinstance(data, dict):
        raise EnigmaError(f"{where}: its '{META_KEY}' metadata is not an object")
    return data


def check_protected(meta: dict[str, Any], stored: dict[str, Any], directory: Path) -> None:
    """Refuse a ``config.json`` whose protected entries differ from the weights' copy."""
    for key, value in stored.items():
        have = json.loads(json.dumps(meta.get(key)))
        if have != value:
            raise EnigmaError(
                f"{directory / CONFIG_FILE}: '{key}' differs from what {WEIGHTS_FILE} was "
                "trained with (the file was edited or belongs to another model); restore it "
                "or retrain"
            )


def _pair_matches(directory: Path) -> bool:
    """Whether ``directory``'s weights and config belong to the same export."""
    from enigma_core.training.files import read_json, sha256_file
    from enigma_core.training.weights import metadata_of

    config, weights = directory / CONFIG_FILE, directory / WEIGHTS_FILE
    if not (config.is_file() and weights.is_file()):
        return False
    try:
        meta = read_json(config, "model config")
        stored = embedded(metadata_of(weights), weights)
        if stored is not None:
            return stored.get("model_id") == meta.get("model_id")
        expected = meta.get("weights_sha256")
        return not expected or sha256_file(weights) == expected
    except EnigmaError:
        return False


def committed_dir(directory: str | Path) -> Path:
    """Where a model's consistent files are: ``directory``, or its ``.previous/`` after a
    training run was killed in the middle of replacing them."""
    d = Path(directory)
    prev = d / PREVIOUS
    if not prev.is_dir() or _pair_matches(d):
        return d
    return prev if _pair_matches(prev) else d


def commit(out: Path, write_weights: Callable[[Path], None], config: dict[str, Any]) -> None:
    """Replace ``out``'s model with new weights + config, keeping the old pair until done."""
    import shutil  # here: loading a model (every request's path) does not need it

    from enigma_core.atomic import atomic_write_json

    out.mkdir(parents=True, exist_ok=True)
    prev = out / PREVIOUS
    if _pair_matches(out):  # keep the current model (a leftover .previous is older: replace it)
        shutil.rmtree(prev, ignore_errors=True)
        tmp = out / f"{PREVIOUS}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in (WEIGHTS_FILE, CONFIG_FILE):
            write_or_fail(tmp / name, lambda n=name: _link_or_copy(out / n, tmp / n))
        os.replace(tmp, prev)
    write_or_fail(out / WEIGHTS_FILE, lambda: write_weights(out / WEIGHTS_FILE))
    write_or_fail(out / CONFIG_FILE, lambda: atomic_write_json(out / CONFIG_FILE, config))
    shutil.rmtree(prev, ignore_errors=True)


def _link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link (the writes replace files, so the link keeps the old bytes), else copy."""
    try:
        os.link(src, dst)
    except OSError:
        import shutil

        shutil.copy2(src, dst)
