"""The shared tokenizer: exact round-trip, fixed ids, sha256 identity, training, CLI errors."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from enigma_core.cli.tokenizer_cmd import app
from enigma_core.errors import EnigmaError, TokenizerMismatchError
from enigma_core.tokenizer import (
    BOS_ID,
    EOS_ID,
    NEWLINE_ID,
    PAD_ID,
    TOOL_ID,
    UNK_ID,
    VISION_ID,
    SharedTokenizer,
    default_tokenizer_path,
    load_default,
    train_tokenizer,
)

CORPUS = (
    """Q: draw me a cat
A: [E:tool]image
Q: what is in this cat photo
A: [E:tool]vision
Q: [E:vision] person, smiling, outdoor
A: A person smiling outside.
def add(a, b):
    return a + b
class Stack:
\tdef push(self, item):
\t\tself.items.append(item)
"""
    * 3
)

SAMPLES = [
    "",
    "hello world",
    "  two leading spaces and trailing   ",
    "def f(x):\n    if x:\n        return 1\n\n    return 0\n",
    "\tdef tabbed():\n\t\tpass\r\n",
    "a\n\n\n\nb",
    "\n",
    "x  =  1   # many   spaces",
    "héllo wörld – “quotes” — 日本語 テキスト 🐱🚀 ﬁ e\u0301",
    "literal \u2581 space mark and \u2581\u2581 two",
    "[E:tool]chat and [E:vision] person, dog",
    "zero\x00byte and \x7f del",
    "if (a < b && c >= d) { return x->y; }",
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> SharedTokenizer:
    """A tokenizer really trained on a tiny corpus (fast: well under a second)."""
    root = tmp_path_factory.mktemp("tok")
    corpus = root / "corpus.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    return train_tokenizer([corpus], root / "tiny.model", vocab_size=320)


@pytest.fixture(scope="module")
def shipped() -> SharedTokenizer:
    """The default tokenizer that ships inside enigma_core."""
    return load_default()


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip_is_exact(text: str, tiny: SharedTokenizer, shipped: SharedTokenizer) -> None:
    for tok in (tiny, shipped):
        ids = tok.encode(text)
        assert all(0 <= i < tok.vocab_size for i in ids)
        assert UNK_ID not in ids
        assert tok.decode(ids) == text


def test_round_trip_of_real_python_source(shipped: SharedTokenizer) -> None:
    source = Path(json.__file__).read_text(encoding="utf-8")
    assert shipped.decode(shipped.encode(source)) == source


def test_fixed_ids_and_markers(tiny: SharedTokenizer, shipped: SharedTokenizer) -> None:
    for tok in (tiny, shipped):
        assert (tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id) == (0, 1, 2, 3)
        assert (PAD_ID, UNK_ID, BOS_ID, EOS_ID) == (0, 1, 2, 3)
        assert tok.marker_ids == {"[E:tool]": TOOL_ID, "[E:vision]": VISION_ID}
        assert tok.encode("[E:tool]") == [TOOL_ID]
        assert tok.encode("[E:vision]") == [VISION_ID]
        assert tok.encode("\n") == [NEWLINE_ID]
        ids = tok.encode("A: [E:tool]code", add_bos=True, add_eos=True)
        assert ids[0] == BOS_ID and ids[-1] == EOS_ID and TOOL_ID in ids
        assert tok.decode(ids) == "A: [E:tool]code"


def test_encode_batch_matches_encode(shipped: SharedTokenizer) -> None:
    batch = shipped.encode_batch(SAMPLES, add_bos=True, add_eos=True)
    assert batch == [shipped.encode(t, add_bos=True, add_eos=True) for t in SAMPLES]


def test_concatenation_is_safe(shipped: SharedTokenizer) -> None:
    """Prompt ids + completion ids decode to prompt + completion (no dummy prefix)."""
    prompt, completion = "Q: sort a list\nA: ", "    return sorted(xs)\n"
    ids = shipped.encode(prompt) + shipped.encode(completion)
    assert shipped.decode(ids) == prompt + completion
    assert shipped.decode(shipped.encode(completion)) == completion


def test_prefix_space_gives_first_word_its_mid_sentence_pieces(shipped: SharedTokenizer) -> None:
    ids = shipped.encode("draw me a cat", prefix_space=True)
    assert ids == shipped.encode(" draw me a cat")
    assert shipped.id_to_piece(ids[0]) == "\u2581draw"
    assert shipped.decode(ids) == " draw me a cat"
    batch = shipped.encode_batch(["draw me a cat", "hi"], add_bos=True, prefix_space=True)
    assert batch == [
        shipped.encode(t, add_bos=True, prefix_space=True) for t in ["draw me a cat", "hi"]
    ]


def test_shipped_tokenizer_is_small_packaged_and_identified() -> None:
    path = default_tokenizer_path()
    assert path.parent.name == "assets" and path.parent.parent.name == "enigma_core"
    assert path.stat().st_size < 1_000_000
    tok = load_default()
    assert tok is load_default()  # cached
    assert tok.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert tok.vocab_size == 8192
    assert len(tok.encode("draw me a picture of a cat")) < 12


def test_shipped_manifest_matches_frozen_corpus() -> None:
    """The snapshot the shipped tokenizer was trained on is intact, so it can be rebuilt."""
    manifest = json.loads(default_tokenizer_path().with_suffix(".manifest.json").read_text())
    assert manifest["sha256"] == load_default().sha256
    root = Path(__file__).resolve().parents[1]
    for item in manifest["inputs"]:
        data = (root / item["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == item["sha256"], item["path"]


def test_training_is_deterministic_and_hash_identifies(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    a = train_tokenizer([corpus], tmp_path / "a.model", vocab_size=320)
    b = train_tokenizer([corpus], tmp_path / "b.model", vocab_size=320)
    assert (tmp_path / "a.model").read_bytes() == (tmp_path / "b.model").read_bytes()
    assert a.sha256 == b.sha256 == hashlib.sha256((tmp_path / "a.model").read_bytes()).hexdigest()
    other = tmp_path / "d.txt"
    other.write_text(CORPUS + "another line about dragons and castles\n" * 5, encoding="utf-8")
    c = train_tokenizer([other], tmp_path / "c.model", vocab_size=320)
    assert c.sha256 != a.sha256
    a.require_sha256(b.sha256)
    with pytest.raises(TokenizerMismatchError) as info:
        a.require_sha256(c.sha256, what="router model")
    msg = str(info.value)
    assert c.sha256[:12] in msg and a.sha256[:12] in msg and "\n" not in msg
    assert not list(tmp_path.glob("*.tmp"))  # atomic write left no temp files


def test_load_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(EnigmaError, match=r"missing\.model: tokenizer file not found"):
        SharedTokenizer.load(tmp_path / "missing.model")
    junk = tmp_path / "junk.model"
    junk.write_bytes(b"this is not a sentencepiece model")
    with pytest.raises(EnigmaError, match="not a SentencePiece tokenizer model") as info:
        SharedTokenizer.load(junk)
    assert "\n" not in str(info.value)


def test_decode_rejects_ids_outside_vocab(tiny: SharedTokenizer) -> None:
    with pytest.raises(EnigmaError, match="outside the vocabulary"):
        tiny.decode([5, tiny.vocab_size])


def test_jsonl_data_contributes_text_not_syntax(tmp_path: Path) -> None:
    rows = [{"text": f"zebra crossing number {i}", "intent": "chat"} for i in range(40)]
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    tok = train_tokenizer([data], tmp_path / "j.model", vocab_size=300)
    assert tok.pieces("{") == ["<0x7B>"]  # never seen: JSON syntax was not trained on
    assert tok.pieces("z") == ["z"]  # the text itself was


def test_training_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nbroken \xff byte\n")
    with pytest.raises(EnigmaError, match=r"bad\.txt:2: invalid UTF-8"):
        train_tokenizer([bad], tmp_path / "x.model", vocab_size=320)
    with pytest.raises(EnigmaError, match="too small"):
        train_tokenizer([bad], tmp_path / "x.model", vocab_size=100)
    assert not (tmp_path / "x.model").exists()


def test_cli_train_and_info(tmp_path: Path) -> None:
    corpus = tmp_path / "c.txt"
    corpus.write_text(CORPUS, encoding="utf-8")
    out = tmp_path / "t.model"
    runner = CliRunner()
    result = runner.invoke(
        app, ["train", "--data", str(corpus), "--vocab-size", "320", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    loaded = SharedTokenizer.load(out)
    assert facts["sha256"] == loaded.sha256 and facts["vocab_size"] == loaded.vocab_size <= 320
    manifest = json.loads(Path(facts["manifest"]).read_text(encoding="utf-8"))
    assert manifest["sha256"] == loaded.sha256 and manifest["inputs"][0]["path"] == str(corpus)
    result = runner.invoke(app, ["info", "--path", str(out), "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["special_ids"]["[E:tool]"] == TOOL_ID and info["path"] == str(out)
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0 and load_default().sha256 in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "{tmp}/nope.txt"], "nope.txt: file not found"),
        (["train", "--data", "{tmp}/bad.txt", "--vocab-size", "320"], "bad.txt:1: invalid UTF-8"),
        (["info", "--path", "{tmp}/nope.model"], "nope.model: tokenizer file not found"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "bad.txt").write_bytes(b"\xfe\xff")
    result = CliRunner().invoke(app, [a.format(tmp=tmp_path) for a in args])
    assert result.exit_code != 0
    assert isinstance(result.exception, EnigmaError)
    assert message in str(result.exception) and "\n" not in str(result.exception)
