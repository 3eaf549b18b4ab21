"""The hand-written code training data: format, size, and every answer checked by running it.

These answers are our own data (not model output), so running them here is fine.
"""

from __future__ import annotations

import ast
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from enigma_code.mining import defined_name
from enigma_code.qa import read_pairs

REPO = Path(__file__).resolve().parents[3]

DATA = REPO / "data" / "specialized" / "code_training.txt"
EXTRA = REPO / "data" / "specialized" / "code_training_extra.txt"  # not in the default data
Check = Callable[[Any, Path], None]


def _file(tmp: Path, text: str) -> str:
    path = tmp / "f.txt"
    path.write_text(text, encoding="utf-8")
    return str(path)


CHECKS: dict[str, Check] = {
    "reverse_string": lambda f, t: f("abc") == "cba" or _fail(),
    "read_csv": lambda f, t: f(_file(t, "a,b\n1,2\n")) == [["a", "b"], ["1", "2"]] or _fail(),
    "read_csv_dicts": lambda f, t: f(_file(t, "a,b\n1,2\n")) == [{"a": "1", "b": "2"}] or _fail(),
    "write_csv": lambda f, t: (
        (f(str(t / "o.csv"), [[1, 2]]), (t / "o.csv").read_bytes())[1] == b"1,2\r\n" or _fail()
    ),
    "read_text": lambda f, t: f(_file(t, "hi\n")) == "hi\n" or _fail(),
    "write_text": lambda f, t: (
        (f(str(t / "w.txt"), "yo"), (t / "w.txt").read_text())[1] == "yo" or _fail()
    ),
    "read_lines": lambda f, t: f(_file(t, "a\nb\n")) == ["a", "b"] or _fail(),
    "count_words_in_file": lambda f, t: f(_file(t, "a b\nc\n")) == 3 or _fail(),
    "load_json": lambda f, t: f(_file(t, '{"a": 1}')) == {"a": 1} or _fail(),
    "save_json": lambda f, t: (
        (f(str(t / "j.json"), {"a": 1}), (t / "j.json").read_text())[1]
        .replace(" ", "")
        .replace("\n", "")
        == '{"a":1}'
        or _fail()
    ),
    "merge_sorted": lambda f, t: f([1, 4, 6], [2, 3, 7]) == [1, 2, 3, 4, 6, 7] or _fail(),
    "binary_search": lambda f, t: (f([1, 3, 5, 7], 5), f([1, 3], 2)) == (2, -1) or _fail(),
    "word_frequencies": lambda f, t: f("a b A")["a"] == 2 or _fail(),
    "most_common": lambda f, t: f([1, 2, 2, 3]) == 2 or _fail(),
    "last_word": lambda f, t: (f("hello big world"), f("")) == ("world", "") or _fail(),
    "is_even": lambda f, t: (f(4), f(3)) == (True, False) or _fail(),
    "max_of_three": lambda f, t: f(1, 9, 3) == 9 or _fail(),
    "min_max": lambda f, t: f([3, 1, 2]) == (1, 3) or _fail(),
    "sort_by_key": lambda f, t: f([{"a": 2}, {"a": 1}], "a") == [{"a": 1}, {"a": 2}] or _fail(),
    "sort_by_value": lambda f, t: list(f({"x": 2, "y": 1})) == ["y", "x"] or _fail(),
    "trim": lambda f, t: f("  a ") == "a" or _fail(),
    "squash": lambda f, t: f("A b C") == "abc" or _fail(),
    "is_number": lambda f, t: (f("123"), f("1a")) == (True, False) or _fail(),
    "to_ints": lambda f, t: f(["1", "22"]) == [1, 22] or _fail(),
    "length": lambda f, t: f([1, 2]) == 2 or _fail(),
    "keys_of": lambda f, t: f({"a": 1, "b": 2}) == ["a", "b"] or _fail(),
    "sum_even": lambda f, t: f([1, 2, 3, 4]) == 6 or _fail(),
    "circle_area": lambda f, t: abs(f(1) - 3.14159) < 1e-4 or _fail(),
    "fahrenheit_to_celsius": lambda f, t: f(212) == 100 or _fail(),
    "km_to_miles": lambda f, t: abs(f(10) - 6.21371) < 1e-6 or _fail(),
    "Stack": lambda f, t: _stack(f()),
    "Queue": lambda f, t: _queue(f()),
    "has_key": lambda f, t: (f({"a": 1}, "a"), f({}, "a")) == (True, False) or _fail(),
    "get_or_default": lambda f, t: (f({"a": 1}, "a"), f({}, "a", 5)) == (1, 5) or _fail(),
    "count_upper": lambda f, t: f("HeLLo") == 3 or _fail(),
    "underscores": lambda f, t: f("a b c") == "a_b_c" or _fail(),
    "split_commas": lambda f, t: f("a, b,c") == ["a", "b", "c"] or _fail(),
    "list_files": lambda f, t: (
        (_file(t, "x"), (t / "sub").mkdir(), f(str(t)))[2] == ["f.txt"] or _fail()
    ),
    "find_python_files": lambda f, t: (
        ((t / "a.py").write_text(""), f(str(t)))[1] == [str(t / "a.py")] or _fail()
    ),
    "file_exists": lambda f, t: (f(_file(t, "")), f(str(t / "nope"))) == (True, False) or _fail(),
    "extension": lambda f, t: f("a/b.tar.gz") == ".gz" or _fail(),
    "today_string": lambda f, t: f() == datetime.date.today().isoformat() or _fail(),
    "parse_date": lambda f, t: f("2024-01-31") == datetime.date(2024, 1, 31) or _fail(),
    "days_between": lambda f, t: (
        f(datetime.date(2024, 1, 31), datetime.date(2024, 1, 1)) == 30 or _fail()
    ),
    "random_password": lambda f, t: (len(f(16)) == 16 and f().isalnum()) or _fail(),
    "pick_random": lambda f, t: f([7]) == 7 or _fail(),
    "shuffled": lambda f, t: sorted(f([3, 1, 2])) == [1, 2, 3] or _fail(),
    "to_dict": lambda f, t: f(["a", "b"], [1, 2]) == {"a": 1, "b": 2} or _fail(),
    "group_by_first_letter": lambda f, t: (
        f(["ab", "ac", "b"]) == {"a": ["ab", "ac"], "b": ["b"]} or _fail()
    ),
    "n_largest": lambda f, t: f([5, 1, 9, 3], 2) == [9, 5] or _fail(),
    "is_empty": lambda f, t: (f([]), f([0])) == (True, False) or _fail(),
    "drop_none": lambda f, t: f([1, None, 0]) == [1, 0] or _fail(),
    "unique_sorted": lambda f, t: f([3, 1, 3]) == [1, 3] or _fail(),
    "compound_interest": lambda f, t: abs(f(100, 0.1, 2) - 121) < 1e-9 or _fail(),
    "hypotenuse": lambda f, t: f(3, 4) == 5 or _fail(),
    "round2": lambda f, t: f(3.14159) == 3.14 or _fail(),
    "with_commas": lambda f, t: f(1234567) == "1,234,567" or _fail(),
    "zero_pad": lambda f, t: f(7, 3) == "007" or _fail(),
    "has_prefix": lambda f, t: (f("python", "py"), f("python", "th")) == (True, False) or _fail(),
    "extract_numbers": lambda f, t: f("a1 b-22 c333") == [1, -22, 333] or _fail(),
    "is_valid_email": lambda f, t: (
        (f("a@b.io"), f("a@b"), f("a b@c.de")) == (True, False, False) or _fail()
    ),
    "count_file_lines": lambda f, t: f(_file(t, "a\nb\nc\n")) == 3 or _fail(),
    "take": lambda f, t: f([1, 2, 3], 2) == [1, 2] or _fail(),
    "every_other": lambda f, t: f([1, 2, 3, 4, 5]) == [1, 3, 5] or _fail(),
    "dot": lambda f, t: f([1, 2, 3], [4, 5, 6]) == 32 or _fail(),
    "add_matrices": lambda f, t: f([[1, 2]], [[3, 4]]) == [[4, 6]] or _fail(),
    "memoize": lambda f, t: _memo(f),
    "timed": lambda f, t: f(lambda x: x + 1)(1) == 2 or _fail(),
    "run_command": lambda f, t: f(["echo", "hi"]) == "hi\n" or _fail(),
    "fetch": lambda f, t: callable(f) or _fail(),  # needs the network: only defined here
    "ascii_code": lambda f, t: f("A") == 65 or _fail(),
    "to_chars": lambda f, t: f("ab") == ["a", "b"] or _fail(),
    "same_elements": lambda f, t: (f([1, 2], [2, 1]), f([1], [1, 1])) == (True, False) or _fail(),
    "middle": lambda f, t: f([1, 2, 3, 4]) == [2, 3] or _fail(),
    "retry": lambda f, t: _retry(f),
    "truncate": lambda f, t: (f("hello world", 8), f("hi", 8)) == ("hello...", "hi") or _fail(),
    "hours_to_seconds": lambda f, t: f(2) == 7200 or _fail(),
    "swap": lambda f, t: f(1, 2) == (2, 1) or _fail(),
    "remainder": lambda f, t: f(17, 5) == 2 or _fail(),
    "count_digits": lambda f, t: f("a1b22") == 3 or _fail(),
    "is_all_upper": lambda f, t: (f("ABC"), f("AbC")) == (True, False) or _fail(),
    "upper_words": lambda f, t: f(["a", "bc"]) == ["A", "BC"] or _fail(),
    "word_lengths": lambda f, t: f("hi there you") == [2, 5, 3] or _fail(),
    "drop_first": lambda f, t: (f([1, 2, 3]), f([])) == ([2, 3], []) or _fail(),
    "first_char": lambda f, t: (f("xyz"), f("")) == ("x", "") or _fail(),
    "is_between": lambda f, t: (f(5, 1, 9), f(0, 1, 9)) == (True, False) or _fail(),
    "double": lambda f, t: f(21) == 42 or _fail(),
    "half": lambda f, t: f(5) == 2.5 or _fail(),
    "negate": lambda f, t: (f(3), f(-2)) == (-3, 2) or _fail(),
    "to_hours_minutes": lambda f, t: f(135) == (2, 15) or _fail(),
    "sum_of_squares": lambda f, t: f([1, 2, 3]) == 14 or _fail(),
    "count_negative": lambda f, t: f([-1, 2, -3, 0]) == 2 or _fail(),
    "positives": lambda f, t: f([-1, 2, 0, 5]) == [2, 5] or _fail(),
    "sorted_keys": lambda f, t: f({"b": 1, "a": 2}) == ["a", "b"] or _fail(),
    "sum_values": lambda f, t: f({"a": 1, "b": 2}) == 3 or _fail(),
    "contains": lambda f, t: (f([1, 2], 2), f([1, 2], 3)) == (True, False) or _fail(),
    "last_chars": lambda f, t: (f("python", 2), f("python", 0)) == ("on", "") or _fail(),
    "remove_vowels": lambda f, t: f("Education") == "dctn" or _fail(),
    "hide_digits": lambda f, t: f("pin 1234!") == "pin ####!" or _fail(),
    "to_words": lambda f, t: f(" a  b ") == ["a", "b"] or _fail(),
    "word_length_map": lambda f, t: f(["hi", "you"]) == {"hi": 2, "you": 3} or _fail(),
    "count_true": lambda f, t: f([1, 0, True, None, "x"]) == 3 or _fail(),
    "rectangle_area": lambda f, t: f(3, 4) == 12 or _fail(),
    "square_perimeter": lambda f, t: f(5) == 20 or _fail(),
    "hours_to_minutes": lambda f, t: f(2) == 120 or _fail(),
    "numbers_between": lambda f, t: f(3, 6) == [3, 4, 5, 6] or _fail(),
    "times_table": lambda f, t: (f(3)[:3] == [3, 6, 9] and len(f(3)) == 10) or _fail(),
    "count_spaces": lambda f, t: f("a b  c") == 3 or _fail(),
    "first_space": lambda f, t: (f("ab cd"), f("abcd")) == (2, -1) or _fail(),
    "all_positive": lambda f, t: (f([1, 2]), f([1, -2])) == (True, False) or _fail(),
    "has_zero": lambda f, t: (f([1, 0]), f([1, 2])) == (True, False) or _fail(),
    "spread": lambda f, t: f([4, 9, 1]) == 8 or _fail(),
    "swap_case": lambda f, t: f("aBc") == "AbC" or _fail(),
    "middle_char": lambda f, t: (f("abc"), f("abcd")) == ("b", "c") or _fail(),
    "sum_to": lambda f, t: (f(4), f(0)) == (10, 0) or _fail(),
    "increment_all": lambda f, t: f([1, 5]) == [2, 6] or _fail(),
    "with_index": lambda f, t: f(["a", "b"]) == [(0, "a"), (1, "b")] or _fail(),
    "has_word": lambda f, t: (
        (f("the cat sat", "cat"), f("concat", "cat")) == (True, False) or _fail()
    ),
    "cube_root": lambda f, t: abs(f(27) - 3) < 1e-9 or _fail(),
    "count_capitalized": lambda f, t: f("Ada met Bob today") == 2 or _fail(),
    "is_int": lambda f, t: (f("-12"), f("1.5"), f("x")) == (True, False, False) or _fail(),
    "celsius_to_kelvin": lambda f, t: abs(f(0) - 273.15) < 1e-9 or _fail(),
    "pounds_to_kg": lambda f, t: abs(f(10) - 4.5359237) < 1e-9 or _fail(),
    "percentage": lambda f, t: (f(1, 4), f(3, 0)) == (25.0, 0.0) or _fail(),
    "average_word_length": lambda f, t: (f("ab abcd"), f("")) == (3.0, 0.0) or _fail(),
    "shortest": lambda f, t: (f(["abc", "a", "ab"]), f([])) == ("a", None) or _fail(),
    "count_even": lambda f, t: f([1, 2, 4, 7, 0]) == 3 or _fail(),
    "odds": lambda f, t: f([1, 2, 3, -5]) == [1, 3, -5] or _fail(),
    "scale": lambda f, t: f([1, 2], 3) == [3, 6] or _fail(),
    "argmax": lambda f, t: f([3, 9, 2, 9]) == 1 or _fail(),
    "only_letters": lambda f, t: (f("abc"), f("ab1"), f("")) == (True, False, False) or _fail(),
    "count_lower": lambda f, t: f("Hello World") == 8 or _fail(),
    "reverse_words": lambda f, t: f("one two three") == "three two one" or _fail(),
    "center_text": lambda f, t: f("ab", 6) == "  ab  " or _fail(),
    "days_in_month": lambda f, t: (f(2024, 2), f(2023, 2), f(2023, 4)) == (29, 28, 30) or _fail(),
    "weekday_name": lambda f, t: f(datetime.date(2024, 1, 1)) == "Monday" or _fail(),
    "age": lambda f, t: (
        (
            f(datetime.date(2000, 6, 15), datetime.date(2024, 6, 14)),
            f(datetime.date(2000, 6, 15), datetime.date(2024, 6, 15)),
        )
        == (23, 24)
        or _fail()
    ),
    "triangle_area": lambda f, t: f(4, 3) == 6 or _fail(),
    "sphere_volume": lambda f, t: abs(f(1) - 4.18879020478639) < 1e-9 or _fail(),
    "mode": lambda f, t: f([1, 3, 3, 2]) == 3 or _fail(),
    "normalize": lambda f, t: (f([2, 4, 6]), f([5, 5])) == ([0.0, 0.5, 1.0], [0.0, 0.0]) or _fail(),
    "drop_empty": lambda f, t: f({"a": 1, "b": "", "c": None, "d": []}) == {"a": 1} or _fail(),
    "pick": lambda f, t: (
        f({"a": 1, "b": 2, "c": 3}, ["a", "c", "z"]) == {"a": 1, "c": 3} or _fail()
    ),
    "get_path": lambda f, t: (
        (f({"a": {"b": 2}}, ["a", "b"]), f({"a": 1}, ["a", "b"], 0)) == (2, 0) or _fail()
    ),
    "parse_query": lambda f, t: f("a=1&b=x") == {"a": "1", "b": "x"} or _fail(),
    "domain": lambda f, t: f("https://example.com/a?b=1") == "example.com" or _fail(),
    "is_ip": lambda f, t: (
        (f("10.0.0.1"), f("::1"), f("10.0.0.300")) == (True, True, False) or _fail()
    ),
    "md5_hex": lambda f, t: f("") == "d41d8cd98f00b204e9800998ecf8427e" or _fail(),
    "to_base64": lambda f, t: f("hi") == "aGk=" or _fail(),
    "file_size": lambda f, t: f(_file(t, "abc")) == 3 or _fail(),
    "ensure_dir": lambda f, t: (
        (f(str(t / "x" / "y")), f(str(t / "x" / "y")), (t / "x" / "y").is_dir())[2] or _fail()
    ),
    "append_line": lambda f, t: (
        (f(str(t / "a.txt"), "one"), f(str(t / "a.txt"), "two"), (t / "a.txt").read_text())[2]
        == "one\ntwo\n"
        or _fail()
    ),
    "stem": lambda f, t: f("/tmp/report.final.pdf") == "report.final" or _fail(),
    "total": lambda f, t: (f([1, 2, 3]), f([])) == (6, 0) or _fail(),
    "same_ignoring_case": lambda f, t: (f("Abc", "aBC"), f("a", "b")) == (True, False) or _fail(),
    "above": lambda f, t: f([1, 5, 3, 8], 3) == [5, 8] or _fail(),
}


def _fail() -> None:
    raise AssertionError("wrong result")


def _stack(s: Any) -> None:
    s.push(1)
    s.push(2)
    assert s.pop() == 2 and not s.is_empty()


def _queue(q: Any) -> None:
    q.enqueue(1)
    q.enqueue(2)
    assert q.dequeue() == 1


def _memo(memoize: Any) -> None:
    calls = []

    @memoize
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    assert (square(3), square(3), calls) == (9, 9, [3])


def _retry(retry: Any) -> None:
    state = {"n": 0}

    def flaky() -> str:
        state["n"] += 1
        if state["n"] < 3:
            raise OSError("try again")
        return "ok"

    assert retry(flaky) == "ok" and state["n"] == 3


def test_the_data_file_has_enough_parseable_requests() -> None:
    pairs = read_pairs(DATA)
    assert len(pairs) >= 60
    pairs += read_pairs(EXTRA)
    assert len({p.prompt for p in pairs}) == len(pairs)
    for pair in pairs:
        ast.parse(pair.completion)
        assert defined_name(pair.completion), pair.source


@pytest.mark.parametrize(
    "pair", read_pairs(DATA) + read_pairs(EXTRA), ids=lambda p: p.source.rsplit("/", 1)[-1]
)
def test_every_answer_does_what_its_request_asks(pair: Any, tmp_path: Path) -> None:
    name = defined_name(pair.completion)
    assert name in CHECKS, f"no check for {name} ({pair.source})"
    namespace: dict[str, Any] = {}
    exec(compile(pair.completion, pair.source, "exec"), namespace)
    CHECKS[name](namespace[name], tmp_path)
