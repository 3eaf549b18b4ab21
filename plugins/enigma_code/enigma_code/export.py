"""Export a trained code model as the package's default weights, stored in float16.

``python -m enigma_code.export runs/code/tiny plugins/enigma_code/enigma_code/weights``
copies ``config.json`` and the source index and writes ``model.safetensors`` in float16 (half
the size; the numpy runtime computes in float32 either way). ``config.json`` records the new
file's sha256 so the core's weights check still holds, and ``export.dtype``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from enigma_code.retrieval import INDEX_JSON, INDEX_WEIGHTS
from enigma_core.atomic import atomic_write_bytes, atomic_write_json
from enigma_core.errors import EnigmaError
from enigma_core.training.meta import CONFIG_FILE, WEIGHTS_FILE, read_meta, sha256_file


def export_weights(src: Path, dst: Path, dtype: str = "float16") -> dict[str, object]:
    """Write ``src``'s model into ``dst`` with weights cast to ``dtype``; returns a summary."""
    from safetensors.numpy import load_file, save

    meta = read_meta(src)
    if dtype not in ("float16", "float32"):
        raise EnigmaError(f"export: dtype must be float16 or float32, not {dtype!r}")
    tensors = load_file(str(src / WEIGHTS_FILE))
    cast = {name: np.ascontiguousarray(t.astype(dtype)) for name, t in tensors.items()}
    dst.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(dst / WEIGHTS_FILE, save(cast))
    for name in (INDEX_JSON, INDEX_WEIGHTS):
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    meta["weights_sha256"] = sha256_file(dst / WEIGHTS_FILE)
    meta["export"] = {"dtype": dtype, "from": str(src)}
    atomic_write_json(dst / CONFIG_FILE, meta)
    for name in (WEIGHTS_FILE, CONFIG_FILE, INDEX_JSON, INDEX_WEIGHTS):
        if (dst / name).is_file():
            os.chmod(dst / name, 0o644)  # package data, readable by every user
    return {"out": str(dst), "dtype": dtype, "bytes": (dst / WEIGHTS_FILE).stat().st_size}


def main(argv: list[str] | None = None) -> None:
    """``python -m enigma_code.export SRC DST [float16|float32]``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        raise SystemExit("usage: python -m enigma_code.export SRC_DIR DST_DIR [float16|float32]")
    try:
        print(json.dumps(export_weights(Path(args[0]), Path(args[1]), *args[2:])))
    except EnigmaError as exc:
        raise SystemExit(f"enigma: error: {exc}") from None


if __name__ == "__main__":
    main()
