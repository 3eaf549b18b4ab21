"""The word-vector table is Apache-2.0 (from all-MiniLM-L6-v2): its licence travels with it."""

from __future__ import annotations

from enigma_router import vectors


def test_licence_text_ships_next_to_the_table() -> None:
    """Apache-2.0 section 4(a): recipients get the licence text; the table's metadata agrees."""
    licence = vectors.TABLE_PATH.with_suffix(".LICENSE")
    text = licence.read_text(encoding="utf-8")
    assert "Apache License" in text and "Version 2.0" in text
    assert "all-MiniLM-L6-v2" in text and "Changes made" in text
    assert "apache" in " ".join(vectors.load().meta.values()).lower()
