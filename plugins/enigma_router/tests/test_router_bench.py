"""Router bench helpers: metrics, table, and the baselines' skip messages (no full bench run)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from enigma_router.bench import bench_fasttext, format_table, macro_f1, read_jsonl, run_bench

from enigma_core.errors import EnigmaError


def test_macro_f1_is_unweighted_mean_over_gold_labels() -> None:
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "c"]
    # a: P 1 R .5 F .667; b: P .5 R 1 F .667; c: 1
    assert macro_f1(gold, pred) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)


def test_table_lists_rows_and_skips() -> None:
    results = {
        "toy": [
            {
                "system": "ours",
                "accuracy": 0.9,
                "macro_f1": 0.8,
                "ece": 0.0312,
                "train_seconds": 1.0,
                "train_cpu_seconds": 0.9,
                "p50_ms": 0.05,
                "batched_qps": 20000.0,
                "cpu_qps": 21000.0,
                "cold_qps": 15000.0,
                "size_bytes": 2_000_000,
            },
            {"system": "fasttext (tuned)", "skipped": "not installed"},
        ]
    }
    table = format_table(results)
    row = "| toy | ours | 90.00 | 80.00 | 0.031 | 1.0 (0.9) | 0.050 | 20,000 | 21,000 | 15,000 |"
    assert row in table
    assert "skipped: not installed" in table
    assert all(line.count("|") == table.splitlines()[0].count("|") for line in table.splitlines())


def test_row_ece_is_computed_from_confidences() -> None:
    from enigma_router.bench import _row

    row = _row("x", ["a", "b", "a", "b"], ["a", "b", "b", "b"], [0.9, 0.9, 0.9, 0.9])
    assert row["accuracy"] == 0.75 and row["ece"] == pytest.approx(0.15)
    assert _row("svm", ["a"], ["a"])["ece"] is None


def test_missing_fasttext_venv_is_skipped_with_reason(tmp_path: Path) -> None:
    row = bench_fasttext(tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "no-python")
    assert "skipped" in row and "setup_baselines.sh" in row["skipped"]


def test_bad_benchmark_line_and_missing_root_are_one_line_errors(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text(json.dumps({"text": "hi"}) + "\n", encoding="utf-8")
    with pytest.raises(EnigmaError, match=r"x.jsonl:1"):
        read_jsonl(bad)
    with pytest.raises(EnigmaError, match="not found"):
        run_bench(tmp_path, ["nope"])
