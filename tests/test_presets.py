"""Size presets: 15 of them, the seed's sizes, exact analytic parameter counts, ``enigma sizes``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from enigma_core.cli.sizes_cmd import sizes
from enigma_core.errors import EnigmaError
from enigma_core.model import EnigmaTransformer
from enigma_core.presets import (
    PRESET_NAMES,
    ModelConfig,
    config_for,
    count_parameters,
    fp32_megabytes,
    get_preset,
    size_table,
)


def test_fifteen_presets_from_nano_to_xxl_growing() -> None:
    assert len(PRESET_NAMES) == 15
    assert PRESET_NAMES[0] == "nano" and PRESET_NAMES[-1] == "xxl"
    counts = [row["parameters"] for row in size_table()]
    assert counts == sorted(counts) and len(set(counts)) == 15


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("nano", 0.8e6, 1.3e6), ("tiny", 4.0e6, 6.0e6), ("small", 24e6, 30e6)],
)
def test_seed_sizes(name: str, low: float, high: float) -> None:
    assert low <= count_parameters(config_for(name)) <= high


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_builds_with_the_analytic_count(name: str) -> None:
    """Built on the meta device (no memory), so even xxl is checked against the real module."""
    for n_labels in (0, 7):
        config = config_for(name, n_labels=n_labels)
        with torch.device("meta"):
            model = EnigmaTransformer(config)
        real = sum(p.numel() for p in model.parameters())
        assert real == count_parameters(config), (name, n_labels)


def test_sizes_command_matches_real_counts(capsys: pytest.CaptureFixture[str]) -> None:
    sizes(vocab_size=8192, json_out=True)
    rows = json.loads(capsys.readouterr().out)["sizes"]
    assert [r["name"] for r in rows] == list(PRESET_NAMES)
    for row in rows[:4]:  # small enough to build for real on CPU
        model = EnigmaTransformer(config_for(row["name"]))
        assert row["parameters"] == sum(p.numel() for p in model.parameters())
        assert row["fp32_mb"] == round(fp32_megabytes(row["parameters"]), 2)
    sizes(vocab_size=8192, json_out=False)
    table = capsys.readouterr().out
    assert "nano" in table and "xxl" in table and f"{rows[0]['parameters']:,}" in table


def test_bad_configs_are_one_line_errors() -> None:
    with pytest.raises(EnigmaError, match="not divisible by n_head"):
        ModelConfig(n_embd=100, n_head=3)
    with pytest.raises(EnigmaError, match=r"unknown model size 'huger'.*nano.*xxl"):
        get_preset("huger")
    with pytest.raises(EnigmaError, match="unknown field"):
        ModelConfig.from_dict({**ModelConfig().to_dict(), "rope": True})
    assert ModelConfig.from_dict(config_for("tiny").to_dict()) == config_for("tiny")


def test_runtime_modules_do_not_import_torch() -> None:
    code = (
        "import sys, enigma_core.presets, enigma_core.inference, enigma_core.training.recipe, "
        "enigma_core.cli.sizes_cmd, enigma_core.cli.train_cmd; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_core_module_imports_torch_when_imported() -> None:
    """Every ``enigma_core`` module, the torch trainer's included, imports without torch: torch
    is loaded inside the functions that build, train or save a model (on first use)."""
    code = (
        "import importlib, pkgutil, sys, enigma_core\n"
        "for m in pkgutil.walk_packages(enigma_core.__path__, 'enigma_core.'):\n"
        "    if m.name.startswith('enigma_core.serve.ray_serve.'):\n"
        "        continue  # needs Ray itself (an optional extra), not torch\n"
        "    importlib.import_module(m.name)\n"
        "    assert 'torch' not in sys.modules, m.name\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]
