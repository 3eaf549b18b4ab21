"""Training-data parsers: each format, one-line ``file:line`` errors, the split, size warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from enigma_core.errors import EnigmaError
from enigma_core.formats import (
    IntentExample,
    PairExample,
    dataset_warnings,
    detect_format,
    load_examples,
    load_intent_examples,
    load_pair_examples,
    parse_code,
    parse_jsonl,
    parse_router,
    parse_vision,
    small_dataset_warning,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "specialized"

ROUTER = """Q: draw me a cat
A: [E:tool]image

Q: what is in this cat photo
A: [E:tool] vision
Q: tell me about cats
A: [E:tool]chat
# a comment between examples
Q: book me a flight to mars
A: [E:tool]out_of_scope
"""

VISION = """Q: [E:vision] person, smiling, outdoor, sunny
A: A person smiling outside on a sunny day.

Q: [E:vision] cat, sofa
A: A cat resting on a sofa.
It looks relaxed.
"""

CODE = """Q: write a function that adds two numbers
A: def add(a, b):
    return a + b

Q: write a stack class
A:
class Stack:
    def __init__(self):
        self.items = []

\tdef push(self, item):
        self.items.append(item)


Q: say hi
A: print("hi")  # A: inside code is fine
"""


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_router_format() -> None:
    ex = parse_router(ROUTER, "r.txt")
    assert [(e.text, e.intent) for e in ex] == [
        ("draw me a cat", "image"),
        ("what is in this cat photo", "vision"),
        ("tell me about cats", "chat"),
        ("book me a flight to mars", "oos"),
    ]
    assert ex[1].source == "r.txt" and ex[1].line == 4


def test_vision_format() -> None:
    ex = parse_vision(VISION, "v.txt")
    assert ex[0] == PairExample(
        "person, smiling, outdoor, sunny", "A person smiling outside on a sunny day.", "v.txt", 1
    )
    assert ex[1].completion == "A cat resting on a sofa.\nIt looks relaxed."


def test_code_format_keeps_code_exactly() -> None:
    ex = parse_code(CODE, "c.txt")
    assert [e.prompt for e in ex] == [
        "write a function that adds two numbers",
        "write a stack class",
        "say hi",
    ]
    assert ex[0].completion == "def add(a, b):\n    return a + b"
    assert ex[1].completion == (
        "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
        "\tdef push(self, item):\n        self.items.append(item)"
    )
    assert ex[2].completion == 'print("hi")  # A: inside code is fine'
    assert [e.line for e in ex] == [1, 5, 15]


def test_jsonl_formats() -> None:
    intents = parse_jsonl(
        '{"text": "hi", "intent": "chat"}\n\n{"text": "x", "intent": "OUT_OF_SCOPE"}\n', "i.jsonl"
    )
    assert intents == [
        IntentExample("hi", "chat", "i.jsonl", 1),
        IntentExample("x", "oos", "i.jsonl", 3),
    ]
    pairs = parse_jsonl('{"prompt": "p", "completion": "c\\n  d"}\n', "p.jsonl")
    assert pairs == [PairExample("p", "c\n  d", "p.jsonl", 1)]


def test_detection_and_loading(tmp_path: Path) -> None:
    r = write(tmp_path, "r.txt", ROUTER)
    v = write(tmp_path, "v.txt", VISION)
    c = write(tmp_path, "c.txt", CODE)
    j = write(tmp_path, "j.jsonl", json.dumps({"text": "hello", "intent": "chat"}) + "\n")
    p = write(tmp_path, "p.jsonl", json.dumps({"prompt": "a", "completion": "b"}) + "\n")
    assert [detect_format(f) for f in (r, v, c, j)] == ["router", "vision", "code", "jsonl"]
    assert len(load_intent_examples(r)) == 4 and len(load_intent_examples(j)) == 1
    assert len(load_pair_examples(v)) == 2 and len(load_pair_examples(c)) == 3
    assert len(load_pair_examples(p)) == 1 and len(load_examples(c)) == 3
    with pytest.raises(EnigmaError, match=r"c\.txt:2: answer has no \[E:tool\] intent"):
        load_intent_examples(c)
    with pytest.raises(EnigmaError, match="holds vision pairs"):
        load_intent_examples(v)
    with pytest.raises(EnigmaError, match="expected prompt/completion"):
        load_pair_examples(j)
    crlf = write(tmp_path, "crlf.txt", ROUTER.replace("\n", "\r\n"))
    assert [e.text for e in load_intent_examples(crlf)] == [e.text for e in parse_router(ROUTER)]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "router_training.txt",
            "Q: hi\nA: chat\n",
            "router_training.txt:2: answer has no [E:tool]",
        ),
        ("r.txt", "Q: hi\nA: [E:tool]\n", "r.txt:2: empty intent"),
        ("r.txt", "Q: hi\nA: [E:tool]two words\n", "r.txt:2: intent 'two words' must be one word"),
        ("r.txt", "Q: hi\nQ: there\nA: [E:tool]chat\n", "r.txt:1: question has no"),
        ("r.txt", "Q: a\nA: [E:tool]chat\nA: [E:tool]chat\n", "r.txt:3: answer without a 'Q:'"),
        ("r.txt", "Q: a\nA: [E:tool]chat\nstray text\n", "r.txt:3: expected a line starting"),
        ("r.txt", "Q: a\nmore text\nA: [E:tool]chat\n", "r.txt:2: expected 'A: [E:tool]"),
        ("r.txt", "Q:   \nA: [E:tool]chat\n", "r.txt:1: empty question"),
        ("r.txt", "Q: a\nA: [E:tool]chat\nQ: dangling\n", "r.txt:3: question has no"),
        ("v.txt", "Q: [E:vision] cat\nA: a cat\nQ: dog\nA: a dog\n", "v.txt:3: question has no"),
        ("v.txt", "Q: [E:vision]\nA: nothing\n", "v.txt:1: no features after [E:vision]"),
        ("v.txt", "Q: [E:vision] cat\nA:\n\n", "v.txt:2: empty answer"),
        ("c.txt", "Q: do it\nQ: again\nA: pass\n", "c.txt:1: question has no 'A:' answer"),
        ("c.txt", "A: orphan\n", "c.txt:1: answer without a 'Q:'"),
        ("j.jsonl", '{"text": "a", "intent": "x"}\n{bad\n', "j.jsonl:2: invalid JSON"),
        ("j.jsonl", "[1, 2]\n", "j.jsonl:1: expected a JSON object"),
        ("j.jsonl", '{"text": "a"}\n', "j.jsonl:1: field 'intent' is missing"),
        ("j.jsonl", '{"text": "a", "intent": 3}\n', "j.jsonl:1: field 'intent' must be a string"),
        ("j.jsonl", '{"text": " ", "intent": "x"}\n', "j.jsonl:1: field 'text' is empty"),
        ("j.jsonl", '{"foo": 1}\n', "j.jsonl:1: needs fields"),
        (
            "j.jsonl",
            '{"text":"a","intent":"b"}\n{"prompt":"p","completion":"c"}\n',
            "j.jsonl:2: mixes",
        ),
        ("u.txt", b"Q: fine\nA: [E:tool]chat\nQ: caf\xe9\n", "u.txt:3: invalid UTF-8 (byte 0xe9)"),
        ("e.txt", "just some prose\n", "e.txt: cannot tell the data format"),
    ],
)
def test_malformed_lines_give_one_line_errors(
    tmp_path: Path, name: str, content: str | bytes, expected: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(EnigmaError) as info:
        load_examples(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path)) and expected in message


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(EnigmaError, match=r"nope\.txt: file not found"):
        load_examples(tmp_path / "nope.txt")


def _intents(n_per: dict[str, int]) -> list[IntentExample]:
    return [
        IntentExample(f"{label} request number {i}", label)
        for label, n in n_per.items()
        for i in range(n)
    ]


def test_small_dataset_warnings() -> None:
    warning = small_dataset_warning(37, "router_training.txt", minimum=50)
    assert warning is not None and "37" in warning and "router_training.txt" in warning
    assert small_dataset_warning(500) is None
    warnings = dataset_warnings(_intents({"chat": 60, "vision": 3}), "r.txt")
    assert warnings == ["r.txt: intent 'vision' has only 3 examples (at least 10 recommended)"]


def test_shipped_router_data_is_valid_and_disjoint_from_heldout() -> None:
    train = load_intent_examples(DATA / "router_training.txt")
    heldout = load_intent_examples(DATA / "router_heldout.txt")
    assert len(train) >= 800 and len(heldout) >= 200
    labels = {"chat", "code", "image", "vision"}
    assert {e.intent for e in train} == labels == {e.intent for e in heldout}
    seen = {e.text.casefold().strip() for e in train}
    assert len(seen) == len(train)
    assert not seen & {e.text.casefold().strip() for e in heldout}
