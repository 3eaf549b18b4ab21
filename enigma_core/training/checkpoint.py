"""Checkpoints and exported models on disk: safetensors + JSON only, every write atomic.

Resume state lives in ``<out>/checkpoint/``: one ``ckpt-<step>.safetensors`` (current weights,
best weights, AdamW moments, torch RNG) and ``state.json`` (loop state), written in that order so
``state.json`` is the commit point; older step files are deleted afterwards. The usable model is
``<out>/model.safetensors`` + ``<out>/config.json``. Nothing here calls ``torch.load``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.atomic import atomic_write_bytes, atomic_write_json
from enigma_core.errors import EnigmaError
from enigma_core.model import build_model, load_weights
from enigma_core.training.meta import (
    CHECKPOINT_DIR,
    STATE_FILE,
    WEIGHTS_FILE,
    check_tokenizer,
    check_weights_hash,
    model_config_of,
    read_json,
    read_meta,
    sha256_bytes,
    sha256_file,
)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from enigma_core.tokenizer import SharedTokenizer

STATE_VERSION = 1


def rng_tensors() -> dict[str, torch.Tensor]:
    """Torch RNG states (CPU and, when present, CUDA) as uint8 tensors."""
    import torch

    out = {"rng.cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["rng.cuda"] = torch.cuda.get_rng_state()
    return out


def restore_rng(tensors: dict[str, torch.Tensor]) -> None:
    """Restore RNG states saved by :func:`rng_tensors`."""
    import torch

    if "rng.cpu" in tensors:
        torch.set_rng_state(tensors["rng.cpu"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])


def prefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``tensors`` with ``prefix`` added to every name, moved to contiguous CPU memory."""
    return {prefix + k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}


def unprefixed(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors whose names start with ``prefix``, with it removed."""
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def save_checkpoint(
    out_dir: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any]
) -> Path:
    """Write ``ckpt-<step>.safetensors`` then ``state.json`` (the commit), drop older steps."""
    from safetensors.torch import save

    ckpt_dir = Path(out_dir) / CHECKPOINT_DIR
    name = f"ckpt-{step:08d}.safetensors"
    path = ckpt_dir / name
    atomic_write_bytes(path, save(tensors))
    record = {
        "version": STATE_VERSION,
        **state,
        "step": step,
        "file": name,
        "sha256": sha256_file(path),
    }
    atomic_write_json(ckpt_dir / STATE_FILE, record)
    for old in ckpt_dir.glob("ckpt-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return path


def read_checkpoint(out_dir: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]] | None:
    """``(state, tensors)`` of the last committed checkpoint, or None when there is none."""
    from safetensors.torch import load_file

    ckpt_dir = Path(out_dir) / CHECKPOINT_DIR
    if not (ckpt_dir / STATE_FILE).is_file():
        return None
    state = read_json(ckpt_dir / STATE_FILE, "checkpoint state")
    if int(state.get("version", 0)) != STATE_VERSION:
        raise EnigmaError(f"{ckpt_dir / STATE_FILE}: unsupported checkpoint version")
    path = ckpt_dir / str(state.get("file", ""))
    if not path.is_file():
        raise EnigmaError(f"{path}: checkpoint file named by state.json is missing")
    if sha256_file(path) != state.get("sha256"):
        raise EnigmaError(f"{path}: checkpoint is corrupt (sha256 differs from state.json)")
    from enigma_core.training.weights import guarded

    return state, guarded(lambda: load_file(str(path)), path, "checkpoint")


def clear_checkpoints(out_dir: Path) -> None:
    """Remove an old run's resume state (a fresh, non-resumed run starts clean)."""
    ckpt_dir = Path(out_dir) / CHECKPOINT_DIR
    (ckpt_dir / STATE_FILE).unlink(missing_ok=True)
    for old in ckpt_dir.glob("ckpt-*.safetensors"):
        old.unlink(missing_ok=True)


def export_model(
    out_dir: Path,
    model: nn.Module,
    meta: dict[str, Any],
    half: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    protected_keys: tuple[str, ...] = (),
) -> None:
    """Write ``model.safetensors`` then ``config.json`` (which records the weights' sha256).

    Tensors named in ``half`` are stored in float16; those in ``exclude`` are left out. The
    protected config entries (labels, ...) are stored inside the weights file too, and the old
    model stays in ``.previous/`` until both files are written (``modeldir.commit``). The same
    weights and config always give the same bytes (a resumed run equals an uninterrupted one).
    """
    import json

    import torch

    from enigma_core.model import model_tensors
    from enigma_core.training import modeldir, weights

    tensors = model_tensors(model)
    for name in exclude:
        tensors.pop(name, None)
    for name in half:
        if name in tensors:
            if not tensors[name].is_floating_point():
                raise EnigmaError(f"export: {name!r} is not a floating-point tensor")
            tensors[name] = tensors[name].half()
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise EnigmaError(f"training produced non-finite weights in {name!r}; lower --lr")
    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = {**meta, "model_id": modeldir.model_id(cpu, meta, protected_keys)}
    stored = modeldir.protected(meta, protected_keys)
    # Our encoder, not safetensors' save(): that one writes ``__metadata__`` keys in a random
    # (Rust HashMap) order, so one model exported twice gave different bytes half the time.
    arrays = {k: v.numpy() for k, v in cpu.items()}
    blob = weights.encode(arrays, {"format": "pt", modeldir.META_KEY: json.dumps(stored)})
    config = {**meta, "weights_sha256": sha256_bytes(blob)}
    modeldir.commit(Path(out_dir), lambda p: atomic_write_bytes(p, blob), config)


def load_checkpoint(
    model_dir: str | Path,
    tokenizer: SharedTokenizer | None = None,
    device: str = "cpu",
    *,
    build: Any = None,
) -> tuple[nn.Module, dict[str, Any]]:
    """Load a trained model directory as a torch model in eval mode; returns ``(model, meta)``.

    Refuses a model trained with another tokenizer than ``tokenizer`` (default: the shipped
    one) with :class:`~enigma_core.errors.TokenizerMismatchError`. ``build(config)`` overrides
    the model class (for recipes with a custom ``build_model``). Uses safetensors only.
    """
    if tokenizer is None:
        from enigma_core.tokenizer import load_default

        tokenizer = load_default()
    from enigma_core.training.modeldir import committed_dir
    from enigma_core.training.weights import guarded

    directory = committed_dir(model_dir)
    meta = read_meta(directory)
    check_tokenizer(meta, tokenizer, where=str(directory))
    check_weights_hash(directory, meta)
    model = (build or build_model)(model_config_of(meta))
    guarded(lambda: load_weights(model, directory / WEIGHTS_FILE), directory / WEIGHTS_FILE)
    return model.to(device).eval(), meta
