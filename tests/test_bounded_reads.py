"""Bounded reads (issue 12): requests, batch files, config.json and the tokenizer file.

Real `enigma` commands on real files, devices and pipes; property-based tests (hypothesis)
for the line reader, the batch reader and the config parser.
"""

from __future__ import annotations

import io
import json
import os
import resource
import select
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from enigma_core.bounded import MAX_REQUEST_BYTES, iter_lines, read_file
from enigma_core.cli.common import read_batch
from enigma_core.config import MAX_DEPTH, load_config
from enigma_core.errors import EnigmaError
from enigma_core.tokenizer import SharedTokenizer

ENIGMA = str(Path(sys.executable).with_name("enigma"))
FIXTURE_OK = HealthCheck.function_scoped_fixture  # tmp_path is reused; each example rewrites it
MEMORY_CAP = 768 << 20  # enigma classify needs ~100 MB; reading /dev/zero whole dies here


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _enigma(
    *args: str, stdin: bytes | None = None, home: Path | None = None
) -> tuple[int, str, str]:
    """Run `enigma` under a 768 MB address-space cap: exit status, stdout, stderr."""
    env = dict(os.environ)
    if home is not None:
        env["ENIGMA_HOME"] = str(home)
    proc = subprocess.Popen(
        [ENIGMA, *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_limit_memory,
    )
    out, err = proc.communicate(stdin, timeout=120)
    return proc.returncode, out.decode(), err.decode()


def _one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_classify_batch_dev_zero_ends_with_one_line_and_bounded_memory() -> None:
    code, _, err = _enigma("classify", "--batch", "/dev/zero")
    assert code == 1
    assert _one_line(err) == "enigma: error: /dev/zero:1: line is longer than 1 MB"


def test_route_stdin_request_is_bounded() -> None:
    code, _, err = _enigma("route", "-", stdin=b"a" * (3 * MAX_REQUEST_BYTES))
    assert code == 1
    assert "stdin: request is longer than 1 MB" in _one_line(err)


def test_batch_lines_are_answered_before_the_input_ends() -> None:
    """Streaming, not reading whole: the first answer comes while stdin is still open."""
    proc = subprocess.Popen(
        [ENIGMA, "classify", "--batch", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin and proc.stdout
    try:
        proc.stdin.write(b"hello there\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)  # reading whole would hang here
        assert ready, "no answer while the batch input is still open"
        first = json.loads(proc.stdout.readline())
        assert first["text"] == "hello there"
        proc.stdin.write(b"write a function that adds numbers\n")
        proc.stdin.close()
        second = json.loads(proc.stdout.readline())
        assert second["text"] == "write a function that adds numbers"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()


def test_a_long_batch_line_names_its_line(tmp_path: Path) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_bytes(b"hello\n" + b"x" * (MAX_REQUEST_BYTES + 1) + b"\nbye\n")
    with pytest.raises(EnigmaError, match=r"batch\.txt:2: line is longer than 1 MB"):
        list(read_batch(batch))


LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"),
    max_size=30,
)


@given(st.lists(LINE, max_size=20), st.sampled_from([b"\n", b"\r\n"]), st.booleans())
@settings(max_examples=200, deadline=None)
def test_iter_lines_returns_every_line_with_its_number(
    lines: list[str], newline: bytes, final_newline: bool
) -> None:
    data = newline.join(line.encode() for line in lines)
    if final_newline and lines:
        data += newline
    got = list(iter_lines(io.BytesIO(data), "x"))
    expected = list(enumerate(lines, start=1))
    if lines and not final_newline and lines[-1] == "":
        expected = expected[:-1]  # a trailing empty piece is no line at all
    assert got == expected


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=40))
@settings(max_examples=300, deadline=None)
def test_iter_lines_never_yields_a_line_over_the_limit(data: bytes, limit: int) -> None:
    try:
        for number, text in iter_lines(io.BytesIO(data), "x", max_line=limit):
            assert len(text.encode()) <= limit
            assert number >= 1
    except EnigmaError as exc:
        assert str(exc).startswith("x:") and "\n" not in str(exc)


@given(lines=st.lists(LINE, max_size=15))
@settings(max_examples=100, deadline=None, suppress_health_check=[FIXTURE_OK])
def test_read_batch_skips_blank_lines_and_keeps_numbers(tmp_path: Path, lines: list[str]) -> None:
    batch = tmp_path / "batch.txt"
    batch.write_bytes("\n".join(lines).encode())
    expected = [(n, t) for n, t in enumerate(lines, start=1) if t.strip()]
    assert list(read_batch(batch)) == expected


def _config(home: Path, data: bytes) -> Path:
    path = home / "config.json"
    path.write_bytes(data)
    return path


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=15,
)


@given(
    value=st.one_of(
        JSON,
        st.dictionaries(
            st.sampled_from(["enabled", "shared_tokenizer", "default_task", "models", "x"]),
            JSON,
            max_size=4,
        ),
    )
)
@settings(max_examples=300, deadline=None, suppress_health_check=[FIXTURE_OK])
def test_any_json_config_loads_or_fails_with_one_line_naming_the_file(
    tmp_path: Path, value: object, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, json.dumps(value).encode())
    try:
        load_config(path)
    except EnigmaError as exc:
        assert str(exc).startswith(f"{path}: ") and "\n" not in str(exc)
    capsys.readouterr()


def test_deeply_nested_config_is_one_line(tmp_path: Path) -> None:
    for depth in (MAX_DEPTH + 1, 100_000):  # under and over Python's recursion limit
        nested = b'{"models": ' + b"[" * depth + b"]" * depth + b"}"
        path = _config(tmp_path, nested)
        with pytest.raises(EnigmaError, match=rf"nested deeper than {MAX_DEPTH} levels"):
            load_config(path)
    code, _, err = _enigma("route", "hello", home=tmp_path)
    assert code == 1 and "nested deeper" in _one_line(err)


def test_oversized_config_is_refused_before_parsing(tmp_path: Path) -> None:
    path = _config(tmp_path, b'{"enabled": true, "x": "' + b"a" * (2 << 20) + b'"}')
    with pytest.raises(EnigmaError, match=r"config\.json: config is larger than 1 MB"):
        load_config(path)


def _capped_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh Python under the memory cap and a timeout: a regression that
    reads a device whole, or blocks on a FIFO, fails this test instead of the machine."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        check=False,
    )


def test_config_that_is_a_device_or_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)  # opening it for reading would block forever without O_NONBLOCK
    for path in (fifo, Path("/dev/zero")):
        done = _capped_python(
            "from enigma_core.config import load_config\n"
            "from enigma_core.errors import EnigmaError\n"
            f"try:\n    load_config(__import__('pathlib').Path({str(path)!r}))\n"
            "except EnigmaError as exc:\n    print(exc)\n"
        )
        assert done.stdout.strip() == f"{path}: config is not a regular file", done.stderr


def test_unknown_config_keys_warn_with_the_closest_known_key(tmp_path: Path) -> None:
    config = {
        "shared_tokeniser": None,
        "models": {"code": {"pth": "x"}},
        "log": {"max_row": 5},
        "plugin_section": {},
    }
    _config(tmp_path, json.dumps(config).encode())
    code, _, err = _enigma("config", "show", home=tmp_path)
    assert code == 0, err
    assert "unknown key 'shared_tokeniser' (did you mean 'shared_tokenizer'?)" in err
    assert "unknown key 'models.code.pth' (did you mean 'path'?)" in err
    assert "unknown key 'log.max_row' (did you mean 'max_rows'?)" in err
    assert "plugin_section" not in err  # top-level sections may belong to plugins


def test_tokenizer_file_is_read_with_a_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.model"
    with big.open("wb") as f:
        f.truncate(65 << 20)  # sparse: no disk used, and never read
    with pytest.raises(EnigmaError, match=r"big\.model: tokenizer is larger than 64 MB"):
        SharedTokenizer.load(big)
    with pytest.raises(EnigmaError, match="tokenizer file not found"):
        SharedTokenizer.load(tmp_path / "missing.model")
    done = _capped_python(
        "from enigma_core.tokenizer import SharedTokenizer\n"
        "from enigma_core.errors import EnigmaError\n"
        "try:\n    SharedTokenizer.load('/dev/zero')\n"
        "except EnigmaError as exc:\n    print(exc)\n"
    )
    assert done.stdout.strip() == "/dev/zero: tokenizer is not a regular file", done.stderr


def test_a_shared_tokenizer_in_config_pointing_at_dev_zero_is_one_line(tmp_path: Path) -> None:
    _config(tmp_path, json.dumps({"shared_tokenizer": "/dev/zero"}).encode())
    code, _, err = _enigma("route", "write a function that adds numbers", home=tmp_path)
    assert code == 1 and "not a regular file" in _one_line(err)


def test_read_file_refuses_a_file_that_grows_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert read_file(path, 10, "data") == b"x" * 10
    with pytest.raises(EnigmaError, match="data is larger than 9 bytes"):
        read_file(path, 9, "data")


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("bench", "code", "--tokens", "-5"), "--tokens"),
        (("bench", "code", "--threads", "0"), "--threads"),
        (("eval", "code", "--max-attempts", "0"), "--max-attempts"),
        (("eval", "router", "--model", "m", "--data", "d", "--threshold", "5"), "--threshold"),
        (("eval", "router", "--model", "m", "--data", "d", "--margin", "-1"), "--margin"),
        (("data", "vision", "--synthetic", "-3"), "--synthetic"),
        (("bench", "vision", "--images", "0"), "--images"),
    ],
)
def test_number_options_out_of_range_are_refused(args: tuple[str, ...], option: str) -> None:
    code, _, err = _enigma(*args)
    assert code == 2, err
    assert f"Invalid value for '{option}'" in err


def test_a_key_with_a_line_break_is_escaped_in_the_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A key holding "\\n" (found by the fuzz test above) still gives one line, escaped."""
    path = _config(tmp_path, json.dumps({"models": {"a\nb": 1}}).encode())
    with pytest.raises(EnigmaError) as err:
        load_config(path)
    assert "\n" not in str(err.value) and "a\\nb" in str(err.value)
    load_config(_config(tmp_path, json.dumps({"lgo\n": {}}).encode()))
    assert capsys.readouterr().err.count("\n") <= 1
