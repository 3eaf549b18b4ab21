"""The real-photo evaluation: hand-written facts, photos read from installed packages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from enigma_vision.model import Captioner
from enigma_vision.realeval import Photo, evaluate_real, load_photos, locate

from enigma_core.errors import EnigmaError

KEY_KINDS = {
    "kind", "tone", "saturation", "contrast", "colour", "half", "background", "faces",
    "face_place", "region", "scene", "time", "subject", "subject_place", "object",
}  # fmt: skip


def test_facts_file_has_thirty_photos_with_facts_and_false_statements() -> None:
    """At least 30 real photos, each with true facts and false statements in known keys."""
    photos = load_photos()
    real = [p for p in photos if p.is_photo]
    assert len(real) >= 30
    for photo in photos:
        assert photo.facts and photo.false, photo.id
        for key in photo.fact_keys() | photo.false_keys() | set(photo.doubtful):
            assert key.split(":", 1)[0] in KEY_KINDS, (photo.id, key)
    assert len({p.id for p in photos}) == len(photos)


def test_a_missing_package_is_skipped_with_the_reason() -> None:
    """A photo whose package is not installed is located as None plus how to install it."""
    ghost = Photo("ghost/x", "no_such_package_xyz", "no-such-package", "x.png", (), (), ())
    file, reason = locate(ghost)
    assert file is None and "not installed" in reason and "pip install no-such-package" in reason


def test_bad_facts_file_is_a_one_line_error(tmp_path: Path) -> None:
    """A fact both true and false, or a missing field, names the photo."""
    bad = tmp_path / "facts.json"
    entry = {"id": "a/b", "package": "p", "path": "x", "facts": [{"key": "kind:photo", "say": "x"}],
             "false": [{"key": "kind:photo", "say": "y"}]}  # fmt: skip
    bad.write_text(json.dumps({"photos": [entry]}))
    with pytest.raises(EnigmaError, match=r"a/b.*both true and false"):
        load_photos(bad)
    bad.write_text(json.dumps({"photos": [{"id": "c"}]}))
    with pytest.raises(EnigmaError, match="photo 1: missing field"):
        load_photos(bad)


def test_real_photos_get_no_false_statement_and_two_facts_each() -> None:
    """On every installed photo: 0 false statements, no unjudged claim, >= 2 facts on average."""
    available = [p for p in load_photos() if locate(p)[0] is not None]
    if not available:
        pytest.skip("no package with sample photos installed (pip install scikit-image ...)")
    report = evaluate_real(Captioner(), faces=True)
    every = report["all_pictures"]
    assert every["false_statements"] == 0, [r for r in report["rows"] if r["false"]]
    assert every["unjudged_claims"] == 0, [r for r in report["rows"] if r["unjudged"]]
    if report.get("photos", 0) >= 20:
        assert report["true_facts_per_photo"] >= 2.0


def test_eval_vision_real_command(tmp_path: Path) -> None:
    """`enigma eval vision --real --json` runs as a user would and reports the figures."""
    env = {**os.environ, "ENIGMA_HOME": str(tmp_path)}
    done = subprocess.run(
        [str(Path(sys.executable).parent / "enigma"), "eval", "vision", "--real", "--template",
         "--json"], capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    if done.returncode != 0 and "no real photo available" in done.stderr:
        pytest.skip(done.stderr.strip())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"false_statements", "true_facts_per_photo", "words_per_caption"} <= set(
        report["all_pictures"]
    )
    assert report["all_pictures"]["false_statements"] == 0
