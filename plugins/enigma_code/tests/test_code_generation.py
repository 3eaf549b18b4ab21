"""Code generation: the stop rule, streaming, the ast check with resampling, and the task hook.

A nano model is really trained (a few seconds, one thread) on a handful of Q/A pairs with a
small tokenizer, then decoded with the numpy runtime.
"""

from __future__ import annotations

from pathlib import Path

import enigma_code.plugin
import pytest
from enigma_code.constraints import PyLexer, banned_tokens, closing_table, repeating_token
from enigma_code.generate import CodeModel, CodeOptions, syntax_error, write_code
from enigma_code.recipe import code_recipe
from enigma_code.stopping import FunctionStop, cut_function

from enigma_core import EnigmaEngine
from enigma_core.config import Config, ModelEntry
from enigma_core.plugins import build_plugin_manager
from enigma_core.tokenizer import SharedTokenizer, train_tokenizer

REPO = Path(__file__).resolve().parents[3]

TRAINING = """\
Q: write a function that greets someone by name
A: def greet(name):
    return "hello " + name


print(greet("bob"))

Q: write a function that doubles each number of a list
A: def double_all(numbers):
    result = []
    for n in numbers:
        result.append(n * 2)
    return result

Q: write a broken function
A: def broken(x:
    return x
"""


def test_stop_rule_ends_at_the_first_line_back_at_column_zero() -> None:
    text = (
        'import os\n\n@cache\ndef f(a,\n      b):\n    s = """\nx\n"""\n    return s\n\n\ndef g():'
    )
    assert (
        cut_function(text)
        == 'import os\n\n@cache\ndef f(a,\n      b):\n    s = """\nx\n"""\n    return s\n'
    )
    assert cut_function("def f():\n    return 1\nQ: next question\nA: x") == (
        "def f():\n    return 1\n"
    )
    assert cut_function("class A:\n    def m(self):\n        return 1\n\nprint(A())") == (
        "class A:\n    def m(self):\n        return 1\n"
    )


def test_stop_rule_streams_the_same_text_in_any_pieces() -> None:
    text = "def f(x):\n    y = x\n\n    return y\n\n\nprint(f(1))\n"
    for size in (1, 2, 3, 7, 100):
        stop, shown = FunctionStop(), []
        for i in range(0, len(text), size):
            shown.append(stop.feed(text[i : i + size]))
            if stop.done:
                break
        assert stop.done
        assert "".join(shown) == "def f(x):\n    y = x\n\n    return y"  # no trailing newlines
        assert stop.finish() == "def f(x):\n    y = x\n\n    return y\n"


def _lexed(text: str) -> PyLexer:
    lexer = PyLexer()
    for ch in text:  # piece boundaries must not matter
        lexer.feed(ch)
    return lexer


def test_guards_forbid_only_what_cannot_parse() -> None:
    newline, eos = 6, 3
    open_string = _lexed("def f(x):\n    return 'abc")
    assert open_string.in_line_string
    assert banned_tokens(open_string, [], [newline], eos) == [newline, eos]
    header_only = _lexed("def f(a,\n      b):\n")
    assert not header_only.can_end  # no body yet: eos is banned, newlines are fine
    assert banned_tokens(header_only, [], [newline], eos) == [eos]
    assert not _lexed("def f():\n    return g(1,\n").can_end  # open bracket
    assert not _lexed('def f():\n    s = """\nabc').can_end  # open triple-quoted string
    done = _lexed("def f():\n    return 'it\\'s'")
    assert done.can_end and banned_tokens(done, [10, 11], [newline], eos) == []
    closers = closing_table(["", "x", ")", "))", "]", "),", "(a)", "')'"])
    assert closers == [(")", [2, 5]), ("))", [3]), ("]", [4])]  # "(a)" opens first: safe
    call = _lexed("def f(x):\n    return g(h(x")
    assert banned_tokens(call, [], [newline], eos, closers) == [eos, 4]  # "]" cannot close "("
    done_line = _lexed("def f(x):\n    return x")
    assert set(banned_tokens(done_line, [], [newline], eos, closers)) == {2, 3, 4, 5}
    assert repeating_token([9] + [5] * 8) == 5  # a ninth 5 in a row is banned
    assert repeating_token([9, 5, 5, 5]) is None  # digits repeat legitimately (1000)
    assert repeating_token([1, 2] * 4) == 1  # "x, x, x, x, ..."
    assert repeating_token([1, 2, 3, 1, 2, 4]) is None


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[CodeModel, Path, Path]:
    """A nano model that memorised TRAINING, with its tokenizer (trained on the repo data)."""
    from enigma_core.training.run import TrainArgs, run_training

    root = tmp_path_factory.mktemp("code_model")
    data = root / "code.txt"
    data.write_text(TRAINING, encoding="utf-8")
    tok_path = root / "tokenizer.model"
    train_tokenizer([REPO / "data/specialized/code_training.txt", data], tok_path, 400)
    out = root / "model"
    args = TrainArgs(
        out=out,
        data=(data,),
        valid=data,
        size="nano",
        epochs=40,
        lr=3e-3,
        batch_size=4,
        threads=1,
        progress=False,
        tokenizer=tok_path,
    )  # fmt: skip  (valid=data: every pair is trained on, none carved away)
    run_training(code_recipe(), args)
    return CodeModel.load(out, SharedTokenizer.load(tok_path)), out, tok_path


def test_generation_streams_token_by_token_and_stops_at_the_function_end(
    trained: tuple[CodeModel, Path, Path],
) -> None:
    model = trained[0]
    pieces: list[str] = []
    answer = write_code(model, "write a function that greets someone by name", emit=pieces.append)
    assert answer.code == 'def greet(name):\n    return "hello " + name\n'  # print(...) cut
    assert answer.parses and answer.attempts == 1 and answer.finish_reason == "stop"
    assert len(pieces) > 3 and all(pieces)
    assert "".join(pieces) == answer.code
    loop = write_code(model, "write a function that doubles each number of a list")
    assert loop.code.startswith("def double_all(numbers):\n") and loop.parses


def test_unparseable_answers_are_resampled_and_reported(
    trained: tuple[CodeModel, Path, Path],
) -> None:
    model = trained[0]
    shown: list[str] = []
    options = CodeOptions(max_attempts=3, max_new_tokens=40)
    answer = write_code(model, "write a broken function", options, emit=shown.append)
    assert answer.attempts == 3 or answer.parses
    assert answer.parses == (syntax_error(answer.code) is None)
    if not answer.parses:
        assert len(answer.errors) == 3 and "sampling again (attempt 2)" in "".join(shown)


def test_threads_share_one_model_and_get_the_serial_answers(
    trained: tuple[CodeModel, Path, Path],
) -> None:
    """One loaded model, 8 threads, sampled and greedy requests: answers and streamed text are
    the serial ones (each call decodes into its own KV cache; no lock serialises them)."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    model = trained[0]
    requests = [
        "write a function that greets someone by name",
        "write a function that doubles each number of a list",
        "write a broken function",
    ]
    jobs = [(requests[i % 3], CodeOptions(temperature=0.8 * (i % 2), seed=i % 4, max_attempts=2))
            for i in range(24)]  # fmt: skip

    def run(job: tuple[str, CodeOptions]) -> tuple[str, int, str]:
        """One request's code, token count and streamed text."""
        pieces: list[str] = []
        answer = write_code(model, job[0], job[1], emit=pieces.append)
        return answer.code, answer.tokens, "".join(pieces)

    serial = [run(job) for job in jobs]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(8) as pool:
            threaded = list(pool.map(run, jobs))
    finally:
        sys.setswitchinterval(interval)
    assert threaded == serial


def _engine(model_dir: Path, tok_path: Path) -> EnigmaEngine:
    config = Config(shared_tokenizer=str(tok_path), models={"code": ModelEntry(str(model_dir))})
    plugins = build_plugin_manager(entry_points=False, extra=[("enigma-code", enigma_code.plugin)])
    return EnigmaEngine(config=config, plugin_manager=plugins)


def test_the_task_hook_shows_a_verified_function_at_once_and_lists_sources(
    trained: tuple[CodeModel, Path, Path],
) -> None:
    _, model_dir, tok_path = trained
    pieces: list[str] = []
    result = _engine(model_dir, tok_path).route(
        "write a function that greets someone by name",
        emit=pieces.append,
        options={"show_sources": True},
    )
    assert result.task == "code" and result.status == "ok"
    assert result.output == 'def greet(name):\n    return "hello " + name\n'
    assert "".join(pieces) == result.output and len(pieces) > 3  # after the checks passed
    assert result.data["verified"] is True and result.data["agreement"] >= 0.5
    assert result.data["checks"]["outcomes"]["kept"] >= 3
    top = result.data["sources"][0]
    assert top["name"] == "greet" and top["source"] == "code.txt" and top["line"] == 1
    assert "code.txt:1 greet" in result.data["after_stream"]


def test_no_failed_draft_is_shown_and_the_status_is_no_answer(
    trained: tuple[CodeModel, Path, Path],
) -> None:
    _, model_dir, tok_path = trained
    pieces: list[str] = []
    engine = _engine(model_dir, tok_path)
    for request in (
        "write a function that computes the airspeed of a swallow",
        "write a broken function",
    ):
        pieces.clear()
        result = engine.route(request, emit=pieces.append, options={"drafts": 3})
        assert result.status == "no_answer", result.data
        assert result.output.startswith("# no verified function found for this request")
        assert "".join(pieces) == result.output and "def " not in result.output
        assert result.data["verified"] is False and result.data["drafts"] == 3
        assert result.data["reason"] and "checks" in result.data


def test_guards_never_ban_real_code_from_the_standard_library() -> None:
    from enigma_code.mining import mine, stdlib_root

    from enigma_core.tokenizer import load_default

    tok = load_default()
    closers = closing_table([tok.decode([i]) for i in range(tok.vocab_size)])
    root = stdlib_root()  # a few of its packages: real code the guards must let through
    pairs = [p for d in ("json", "email", "collections", "logging") for p in mine([root / d])]
    assert len(pairs) > 150
    false_bans = 0
    for pair in pairs:
        ids = [*tok.encode(pair.completion.rstrip("\n")), tok.eos_id]
        lexer, done, text = PyLexer(), [], ""
        for token in ids:
            if token in banned_tokens(lexer, done, [tok.newline_id], tok.eos_id, closers):
                false_bans += 1
                break
            done.append(token)
            new = tok.decode(done)
            lexer.feed(new[len(text) :])
            text = new
    assert false_bans <= len(pairs) // 100


def test_float16_export_answers_the_same(
    trained: tuple[CodeModel, Path, Path], tmp_path: Path
) -> None:
    from enigma_code.export import export_weights

    model, model_dir, tok_path = trained
    summary = export_weights(model_dir, tmp_path / "fp16")
    assert summary["bytes"] < (model_dir / "model.safetensors").stat().st_size * 0.6
    half = CodeModel.load(tmp_path / "fp16", SharedTokenizer.load(tok_path))
    request = "write a function that doubles each number of a list"
    assert write_code(half, request).code == write_code(model, request).code


def test_bad_options_and_missing_models_are_one_line_errors(tmp_path: Path) -> None:
    from enigma_core.errors import EnigmaError

    with pytest.raises(EnigmaError, match="'max_new_tokens' must be a int"):
        CodeOptions.from_options({"max_new_tokens": "many"})
    assert CodeOptions.from_options({"max_tokens": 9, "other": 1}).max_new_tokens == 9
    with pytest.raises(EnigmaError, match="no code model here"):
        CodeModel.load(tmp_path)


# --- the shipped model answers exactly as before the decoding loop moved into the core ---------

EXPECTED = Path(__file__).with_name("data") / "decoding_expected.json"
DECODING_CASES: tuple[tuple[str, dict[str, object]], ...] = (
    ("write a function that reverses a string", {}),
    ("write a function that returns the sum of a list of numbers", {}),
    ("how do I read a csv in python", {}),
    ("implement binary search in python", {}),
    ("write a function that reverses a string", {"guided": False}),
    ("write a function that counts vowels in a string", {"guided": False}),
    ("write a function that returns the sum of a list of numbers", {"temperature": 0.8, "seed": 3}),
    ("implement a stack class", {"temperature": 0.9, "top_p": 0.8, "seed": 11, "max_attempts": 2}),
    ("write a function that checks if a number is prime", {"max_new_tokens": 20}),
    ("write a function that merges two sorted lists", {"max_lines": 3}),
    ("write a function that merges two sorted lists", {"max_new_tokens": 14}),
    ("write a function that reads a json file and prints it", {}),
    ("write a function that counts words in a file", {"temperature": 1.2, "seed": 5}),
    ("write a python script that prints hello", {"temperature": 0.7, "seed": 1}),
)


def decoding_outputs(model: CodeModel) -> list[dict[str, object]]:
    """Every case's answer and streamed pieces (what must not change when decoding is moved)."""
    out: list[dict[str, object]] = []
    for request, raw in DECODING_CASES:
        pieces: list[str] = []
        answer = write_code(model, request, CodeOptions(**raw), emit=pieces.append)  # type: ignore[arg-type]
        data = answer.to_data()
        out.append(
            {
                "request": request,
                "options": raw,
                "code": answer.code,
                "pieces": pieces,
                **{k: data[k] for k in ("parses", "attempts", "tokens", "finish_reason")},
                "syntax_errors": data["syntax_errors"],
                "trimmed": data["trimmed"],
            }
        )
    return out


def _weights_sha(directory: Path) -> str:
    """The weights hash recorded in a model's config.json."""
    import json

    return str(json.loads((directory / "config.json").read_text())["weights_sha256"])


def test_shipped_model_answers_as_recorded_before_the_core_loop() -> None:
    """Outputs recorded from the plugin's own loop (before it moved into the core) still come out:
    same code, same streamed pieces, same attempts and token counts for every option mix."""
    import json

    from enigma_code.generate import WEIGHTS_DIR

    recorded = json.loads(EXPECTED.read_text(encoding="utf-8"))
    if recorded["weights_sha256"] != _weights_sha(WEIGHTS_DIR):
        pytest.skip("the shipped code weights changed since the outputs were recorded")
    assert decoding_outputs(CodeModel.load()) == recorded["cases"]


if __name__ == "__main__":  # record: python plugins/enigma_code/tests/test_code_generation.py
    import json
    import sys

    from enigma_code.generate import WEIGHTS_DIR

    record = {
        "weights_sha256": _weights_sha(WEIGHTS_DIR),
        "cases": decoding_outputs(CodeModel.load()),
    }
    json.dump(record, sys.stdout, indent=1, ensure_ascii=False)
    print()
