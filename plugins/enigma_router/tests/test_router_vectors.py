"""Static word vectors distilled from all-MiniLM-L6-v2 (``vectors.py``) as router inputs.

The WordPiece tokeniser against hand-checked splits (BERT's uncased rules: lower case, accents
stripped, punctuation split off, greedy longest match), the shipped table's identity (its bytes'
sha256 is the one recorded next to it, which routers record and check), and a real training run
with and without vectors: the config records the table, the weights carry ``vec_table``, the
numpy-free path agrees with the numpy one, and another table is refused in one line.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from enigma_router import vectors

from enigma_core.errors import EnigmaError

REPO = Path(__file__).resolve().parents[3]
TRAIN = REPO / "data" / "specialized" / "router_training.txt"
HELDOUT = REPO / "data" / "specialized" / "router_heldout.txt"


# -- the tokeniser ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hello, World!", ["hello", ",", "world", "!"]),
        ("what's 2+2?", ["what", "'", "s", "2", "+", "2", "?"]),
        ("Café NAÏVE", ["cafe", "naive"]),
        ("ab\x01cd  e", ["abcd", "e"]),  # control characters vanish, they do not split
        ("a\x0bb a\x0cb a\x1cb caf\x85e", ["ab", "ab", "ab", "cafe"]),  # even those isspace() likes
        ("a\u2028b", ["a", "b"]),  # a line separator (Zl) is whitespace, not a control
        ("ΣΑΣ", ["σασ"]),  # lower-cased per character, as the package's tokenizer does
        ("tab\there\nnew", ["tab", "here", "new"]),
        ("東京へ", ["東", "京", "へ"]),  # CJK ideographs are words of their own
        ("¿Qué?", ["¿", "que", "?"]),
        ("", []),
    ],
)
def test_basic_words(text: str, words: list[str]) -> None:
    assert vectors.basic_words(text) == words


def test_ascii_fast_path_matches_the_general_rules() -> None:
    """The ASCII regex path gives what the character loop gives (forced by a non-ASCII space)."""
    for text in ["Send $20 to Bob's account, ASAP!!", "x-ray_vision 3.14 (test) [a]{b}~`|"]:
        assert vectors.basic_words(text + "\u00a0") == vectors.basic_words(text)


def test_wordpiece_greedy_longest_match() -> None:
    wp = vectors.WordPiece(["[UNK]", "un", "una", "##ff", "##aff", "##able", "able"])
    assert wp.word("unaffable") == (2, 3, 5)  # longest first: "una", "##ff", "##able"
    assert wp.word("able") == (6,)
    assert wp.word("unknownword") == (0,)  # any unsplittable rest: the whole word is [UNK]
    assert wp.word("a" * 101) == (0,)


def test_shipped_vocabulary_splits() -> None:
    table = vectors.load()
    vocab = {i: t for t, i in table.wordpiece.index.items()}
    assert [vocab[i] for i in table.ids("Subway sandwiches, please")] == [
        "subway",
        "sandwiches",
        ",",
        "please",
    ]
    assert [vocab[i] for i in table.ids("unaffable")] == ["una", "##ffa", "##ble"]


# -- the table -------------------------------------------------------------------------------------
def test_vocabulary_search_before_the_dictionary_gives_its_ids() -> None:
    """The first :data:`vectors.PROBES` look-ups search the vocabulary bytes: the same ids as
    the dictionary built afterwards (pieces at the start, the end, unknown, accented, ##)."""
    from enigma_router.evaluate import load_labelled

    table = vectors.load()
    blob = table.wordpiece._blob[1:-1]
    pieces = blob.decode("utf-8").split("\n")
    probe = [pieces[0], pieces[-1], "[UNK]", "##ing", "hello", "zzqxj", "é", "##", "東", "\n"]
    cold = vectors.WordPiece(blob)
    got = [cold._id(p) for p in probe]
    assert cold._index is None
    assert got == [cold.index.get(p, -1) for p in probe]
    assert got[:2] == [0, len(pieces) - 1] and got[-1] == -1 and len(cold) == len(pieces)
    words = [w for t in ODD + load_labelled(HELDOUT)[0][:30] for w in vectors.basic_words(t)]
    fresh = vectors.WordPiece(blob)
    assert [fresh.word(w) for w in words] == [table.wordpiece.word(w) for w in words]
    assert fresh._index is not None  # past PROBES look-ups


def test_shipped_table_identity() -> None:
    table = vectors.load()
    assert (table.rows, table.dims) == (30522, 128)
    assert table.file_sha256() == table.sha256  # the recorded digest is the file's
    assert "Apache-2.0" in table.meta["licence"]
    u = table.unit("book a table for two")
    assert abs(sum(x * x for x in u) - 1.0) < 1e-9
    import numpy as np

    assert np.allclose(table.units(["book a table for two"])[0], u, atol=1e-6)
    assert table.unit("") == [0.0] * 128


def test_another_table_is_refused_in_one_line() -> None:
    table = vectors.load()
    with pytest.raises(EnigmaError) as err:
        vectors.load_for({"file": table.path.name, "sha256": "0" * 64}, "runs/router")
    assert "\n" not in str(err.value) and "retrain" in str(err.value)


def test_a_broken_table_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ")
    (tmp_path / "bad.safetensors.sha256").write_text("0" * 64 + "  bad.safetensors\n")
    with pytest.raises(EnigmaError, match="not a router word-vector table"):
        vectors.StaticVectors(bad)
    with pytest.raises(EnigmaError, match="cannot read"):
        vectors.StaticVectors(tmp_path / "missing.safetensors")
    empty = tmp_path / "empty.safetensors"
    empty.write_bytes(b"")
    (tmp_path / "empty.safetensors.sha256").write_text("0" * 64 + "  empty.safetensors\n")
    with pytest.raises(EnigmaError, match="cannot read"):
        vectors.StaticVectors(empty)


# -- training and both inference paths -------------------------------------------------------------
def _train(out: Path, use_vectors: bool) -> Path:
    from enigma_router.recipe import DEFAULT_HYPER, make_router_recipe
    from enigma_router.trainer import RouterSettings

    from enigma_core.training.run import TrainArgs, run_training

    run_training(
        make_router_recipe(
            None,
            settings=RouterSettings(vectors=use_vectors),
            hyper=DEFAULT_HYPER.replace(epochs=3),
        ),
        TrainArgs(
            out=out,
            data=(TRAIN,),
            progress=False,
            threads=1,
            checkpoint_every=0,
            checkpoint_seconds=0,
        ),
    )
    return out


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("vectors")
    return {
        "with": _train(tmp / "with", True),
        "without": _train(tmp / "without", False),
    }


def test_training_records_the_table(trained: dict[str, Path]) -> None:
    from enigma_core.training.weights import open_weights

    config = json.loads((trained["with"] / "config.json").read_text())
    info = config["router"]["vectors"]
    table = vectors.load()
    assert info["sha256"] == table.sha256 and info["dims"] == 128
    arrays = open_weights(trained["with"] / "model.safetensors").arrays
    width = arrays["table"].shape[1]
    assert arrays["vec_table"].shape == (128, width)
    assert arrays["table"].shape[0] == arrays["feat_keys"].shape[0]
    plain = json.loads((trained["without"] / "config.json").read_text())
    assert plain["router"]["vectors"] is None
    assert "vec_table" not in open_weights(trained["without"] / "model.safetensors").arrays


def test_vectors_change_the_answers(trained: dict[str, Path]) -> None:
    """The vector columns carry weight: the two routers' probabilities differ."""
    from enigma_router.evaluate import load_labelled
    from enigma_router.inference import RouterModel

    texts = load_labelled(HELDOUT)[0][:50]
    a = RouterModel.load(trained["with"]).logits(texts)
    b = RouterModel.load(trained["without"]).logits(texts)
    assert abs(a - b).max() > 0.1


def test_pure_and_numpy_paths_agree_with_vectors(trained: dict[str, Path]) -> None:
    from enigma_router.evaluate import load_labelled
    from enigma_router.purepy import _load_pure

    pure = _load_pure(trained["with"])
    assert pure.vectors is not None
    full = pure.full()
    texts = load_labelled(HELDOUT)[0] + ["", "?!", "Ünïcödé wörds, ça va? 東京", "x" * 300]
    batch = full.bag_sums(texts)
    for i, text in enumerate(texts):
        acc = pure.bag_sum(text)
        one = full.bag_sum(text)
        assert max(abs(x - y) for x, y in zip(acc, one, strict=True)) < 1e-5, text
        assert max(abs(x - y) for x, y in zip(acc, batch[i], strict=True)) < 1e-5, text
        p, q = pure.classify(text), full.classify(text)
        assert p[0] == q[0] and abs(p[1] - q[1]) < 1e-5, text


ODD = [
    "",
    "   ",
    "?!",
    "Café NAÏVE naïve cafe\u0301s",  # precomposed and combining accents
    "ab\x01cd  e\x0bf\u200bg",  # control characters vanish (a vertical tab too)
    "page\x0cbreak a\x1cb caf\x85e line\u2028sep",  # controls isspace() accepts; a Zl space
    "東京へ行く Tokyo",
    "¿Qué?  ¡Sí!",
    "what's 2+2?? under_score x-ray (test) [a]{b}~`|",
    "card card card CARD card.",
    "\u2019s it’s \u00a0non-breaking\u3000space",
    "x" * 300,
    "İstanbul ΟΔΟΣ straße",
]


def test_cached_word_vectors_equal_the_uncached_ones(
    trained: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The numpy router sums cached per-part vectors (router tokens of plain-ASCII requests,
    whitespace chunks of the others): the same unit vectors as ``StaticVectors`` summing the
    pieces of the whole request, cold and warm, one by one and in batches (mixed and
    all-ASCII), and with a full cache (the requests past it go the long way)."""
    import numpy as np
    from enigma_router import inference
    from enigma_router.evaluate import load_labelled
    from enigma_router.inference import RouterModel

    texts = ODD + load_labelled(HELDOUT)[0][:40]
    plain = [t for t in texts if vectors.plain_ascii(t)]
    assert 0 < len(plain) < len(texts)
    table = vectors.load()
    want = table.units(texts)
    assert np.allclose(want, [table.unit(t) for t in texts], atol=1e-6)
    model = RouterModel.load(trained["with"])
    for _ in range(2):  # cold cache, then warm
        assert np.allclose(model._vec_units(texts, None), want, atol=1e-6)
        one = np.array([model._vec_unit(t) for t in texts])
        assert np.allclose(one, want, atol=1e-6)
    assert np.allclose(
        model._vec_units(plain, None), table.units(plain), atol=1e-6
    )  # the all-ASCII batch check
    expect = model._ngram_sums(texts) + want @ model.vec_table
    assert np.allclose(model.bag_sums(texts), expect, atol=1e-5)
    assert np.allclose(model.bag_sums(texts[::-1]), expect[::-1], atol=1e-5)
    monkeypatch.setattr(inference, "CACHE_LIMIT", 5)
    small = RouterModel.load(trained["with"])
    assert np.allclose(small._vec_units(texts, None), want, atol=1e-6)
    assert np.allclose([small._vec_unit(t) for t in texts], want, atol=1e-6)
    assert len(small._vid) == 5


def test_long_words_are_never_cache_keys(trained: dict[str, Path]) -> None:
    """Words and parts longer than ``CACHE_KEY_CHARS`` are worked out each time: no cache of
    the router holds such a key (a stream of long made-up words cannot grow memory), and the
    answers are those of the numpy-free path, one by one and in batches."""
    import numpy as np
    from enigma_router.features import CACHE_KEY_CHARS
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import _load_pure

    long_ascii = "pneumono" * 20  # 160 letters, one router token
    long_cjk = "東京へ行く" * 30  # 150 characters, one whitespace chunk
    texts = [
        f"draw a {long_ascii} please",
        f"{long_cjk} の絵を描いて",
        "write a python function",
        f"{long_ascii}{long_ascii} and {long_cjk}",
        "describe this picture",
    ]
    model, pure = RouterModel.load(trained["with"]), _load_pure(trained["with"])
    only_long = [long_ascii, f"{long_ascii} {long_ascii}", long_cjk, ""]
    fresh = model.classify_batch(only_long, budget=0.0)  # nothing cached yet, none cacheable
    assert [r[0] for r in fresh] == [pure.classify(t, budget=0.0)[0] for t in only_long]
    batch = model.classify_batch(texts, budget=0.0)
    for _ in range(2):  # cold, then warm
        for text, got in zip(texts, batch, strict=True):
            one, other = model.classify(text, budget=0.0), pure.classify(text, budget=0.0)
            assert one[0] == got[0] == other[0] and abs(one[1] - got[1]) < 1e-5
            assert abs(other[1] - got[1]) < 1e-5
        assert np.allclose(model.bag_sums(texts), [model.bag_sum(t) for t in texts], atol=1e-5)
    featurizer = model.featurizer
    long_rows, _, long_sq = featurizer.word_char(long_ascii)  # (training's per-word path)
    assert len(long_rows) and long_sq > 0 and featurizer.word_char("cat")
    caches = {
        "word vectors": model._wid,
        "word info": model._winfo,
        "vector parts": model._vid,
        "char keys": featurizer.hasher._chars,
        "crcs": featurizer.hasher._crcs,
        "word chars": featurizer._words,
        "pieces": model.vectors.wordpiece._cache,
        "pure words": pure._words,
    }
    for name, cache in caches.items():
        assert cache, name  # the short words were cached
        assert max(map(len, cache)) <= CACHE_KEY_CHARS, name


def test_a_router_with_another_table_is_refused(trained: dict[str, Path], tmp_path: Path) -> None:
    """A router whose recorded table is not the shipped one loads with a one-line error on both
    paths (config and weights edited together, as a router trained elsewhere would have)."""
    from enigma_router.inference import RouterModel
    from enigma_router.purepy import _load_pure

    from enigma_core.training.modeldir import META_KEY
    from enigma_core.training.weights import encode, open_weights

    out = tmp_path / "other"
    shutil.copytree(trained["with"], out)
    config = json.loads((out / "config.json").read_text())
    config["router"]["vectors"]["sha256"] = "f" * 64
    (out / "config.json").write_text(json.dumps(config))
    wf = open_weights(out / "model.safetensors")
    meta = dict(wf.metadata)
    stored = json.loads(meta[META_KEY])
    stored["router"]["vectors"]["sha256"] = "f" * 64
    meta[META_KEY] = json.dumps(stored)
    data = encode({k: v.copy() for k, v in wf.arrays.items()}, meta)
    del wf
    (out / "model.safetensors").write_bytes(data)
    for load in (RouterModel.load, _load_pure):
        with pytest.raises(EnigmaError) as err:
            load(out)
        assert "word vectors" in str(err.value) and "\n" not in str(err.value)


def test_big_batches_sum_as_small_ones() -> None:
    """Past ``BIG_BATCH`` pieces the sums read a transposed float32 copy: the same vectors."""
    import numpy as np
    from enigma_router.evaluate import load_labelled

    table = vectors.load()
    texts = load_labelled(HELDOUT)[0] + ["", "Ünïcödé wörds"]
    many = texts * (vectors.BIG_BATCH // len(texts) + 1)
    assert sum(len(table.ids(t)) for t in many) >= vectors.BIG_BATCH
    big = table.units(many)
    small = np.concatenate([table.units(many[i : i + 50]) for i in range(0, len(many), 50)])
    assert np.array_equal(big, small)
    assert np.allclose(big[: len(texts)], [table.unit(t) for t in texts], atol=1e-6)


def test_units_of_a_big_file_go_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """More requests than ``UNITS_CHUNK`` are gathered a chunk at a time: the same vectors."""
    import numpy as np
    from enigma_router.evaluate import load_labelled

    table = vectors.load()
    texts = load_labelled(HELDOUT)[0] + ["", "Ünïcödé wörds"]
    whole = table.units(texts)
    monkeypatch.setattr(vectors, "UNITS_CHUNK", 7)
    assert np.array_equal(table.units(texts), whole)
