"""Model directory layout and ``config.json`` reading; torch-free so the numpy runtime can use it.

A trained model directory holds ``model.safetensors`` (weights) and ``config.json`` (model
config, preset, task, labels, tokenizer sha256, training args, data hashes, metrics, version).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from enigma_core.errors import EnigmaError, TokenizerMismatchError
from enigma_core.presets import ModelConfig

if TYPE_CHECKING:
    from enigma_core.tokenizer import SharedTokenizer

from enigma_core.training.files import (
    CHECKPOINT_DIR,
    CONFIG_FILE,
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_JSON,
    PLOT_FILE,
    STATE_FILE,
    WEIGHTS_FILE,
    read_json,
    sha256_bytes,
    sha256_file,
)

__all__ = [  # the file names and readers are re-exported from training.files
    "CHECKPOINT_DIR",
    "CONFIG_FILE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_JSON",
    "PLOT_FILE",
    "STATE_FILE",
    "WEIGHTS_FILE",
    "check_tokenizer",
    "check_weights_hash",
    "model_config_of",
    "model_summary",
    "read_json",
    "read_meta",
    "sha256_bytes",
    "sha256_file",
]


def read_meta(model_dir: str | Path) -> dict[str, Any]:
    """The ``config.json`` of a trained model directory, checked for format and weights file."""
    directory = Path(model_dir)
    meta = read_json(directory / CONFIG_FILE, "model config")
    if meta.get("format") != FORMAT_NAME:
        raise EnigmaError(f"{directory / CONFIG_FILE}: not an enigma model config (no format)")
    if int(meta.get("format_version", 0)) > FORMAT_VERSION:
        raise EnigmaError(
            f"{directory / CONFIG_FILE}: format_version {meta.get('format_version')} is newer "
            f"than this enigma supports ({FORMAT_VERSION}); upgrade enigma-core"
        )
    if "model" not in meta or not isinstance(meta["model"], dict):
        raise EnigmaError(f"{directory / CONFIG_FILE}: field 'model' (model config) is missing")
    if not (directory / WEIGHTS_FILE).is_file():
        raise EnigmaError(f"{directory / WEIGHTS_FILE}: weights file not found")
    return meta


def model_summary(model_dir: str | Path) -> dict[str, Any] | None:
    """Path, task, preset and metrics of a model from its ``config.json`` (weights not read).

    What generation plugins answer from ``enigma_model_info``; None when no model is there.
    """
    directory = Path(model_dir)
    if not (directory / CONFIG_FILE).is_file():
        return None
    meta = read_meta(directory)
    return {
        "path": str(directory),
        "task": meta.get("task"),
        "preset": meta.get("preset"),
        "metrics": meta.get("metrics", {}),
    }


def model_config_of(meta: dict[str, Any]) -> ModelConfig:
    """The :class:`ModelConfig` stored in a model's metadata."""
    return ModelConfig.from_dict(meta["model"])


def check_tokenizer(meta: dict[str, Any], tokenizer: SharedTokenizer, where: str = "model") -> None:
    """Refuse a model trained with another tokenizer (:class:`TokenizerMismatchError`)."""
    expected = (meta.get("tokenizer") or {}).get("sha256")
    if not expected:
        raise TokenizerMismatchError(
            f"{where}: config.json records no tokenizer sha256; retrain it with 'enigma train'"
        )
    if expected != tokenizer.sha256:
        raise TokenizerMismatchError(
            f"{where} was trained with tokenizer sha256 {expected} but the current tokenizer is "
            f"{tokenizer.sha256} ({tokenizer.path or 'bytes'}); use the tokenizer it was trained "
            "with or retrain the model with 'enigma train'"
        )


def check_weights_hash(model_dir: str | Path, meta: dict[str, Any]) -> None:
    """Refuse weights that are not the ones ``config.json`` describes (e.g. a torn update),
    and a ``config.json`` whose protected entries (labels, ...) differ from the weights' copy."""
    from enigma_core.training.modeldir import check_protected, embedded
    from enigma_core.training.weights import metadata_of

    path = Path(model_dir) / WEIGHTS_FILE
    expected = meta.get("weights_sha256")
    if expected and sha256_file(path) != expected:
        raise EnigmaError(
            f"{path}: weights do not match config.json (sha256 differs); the directory was "
            "changed or a training run was interrupted; rerun 'enigma train ... --resume'"
        )
    stored = embedded(metadata_of(path), path)
    if stored is not None:
        check_protected(meta, stored, Path(model_dir))
