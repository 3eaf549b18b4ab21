"""The home-made task suite (``data/suite.txt``): small requests, each with unit tests.

Used by ``enigma eval code`` to measure pass@1: a candidate passes when the asserts of its
task all hold for the values its calls returned in the sandbox (:mod:`enigma_code.sandbox`).
Tests are checked here when the suite is read (:func:`enigma_code.verdict.compile_tests`):
``assert`` statements over calls of the entry function with literal arguments, never code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from enigma_code.verdict import compile_tests
from enigma_core.errors import EnigmaError

PARTS = ("tune", "report")


@dataclass(frozen=True)
class CodeTask:
    """One suite task: the request, the function name tests call, a reference and the tests."""

    id: str
    prompt: str
    entry: str
    reference: str
    tests: str
    line: int = 0
    part: str = "tune"
    """``tune`` (may be tuned on) or ``report`` (only reported: ``enigma eval code``'s pass@1)."""


def default_suite_path() -> Path:
    """The suite shipped inside the package."""
    return Path(str(resources.files("enigma_code") / "data" / "suite.txt"))


def parse_suite(text: str, name: str = "suite.txt") -> list[CodeTask]:
    """Parse the suite format; a malformed block raises ``name:line`` :class:`EnigmaError`."""
    tasks: list[CodeTask] = []
    block: dict[str, object] = {}
    section = ""

    def finish() -> None:
        if not block:
            return
        line = int(block["line"])  # type: ignore[arg-type]
        for key in ("prompt", "entry", "reference", "tests"):
            if not str(block.get(key, "")).strip():
                raise EnigmaError(f"{name}:{line}: task {block['id']!r} has no {key}")
        compile_tests(str(block["tests"]), str(block["entry"]), name, int(block["tests_at"]))
        tasks.append(
            CodeTask(
                id=str(block["id"]),
                prompt=str(block["prompt"]),
                entry=str(block["entry"]),
                reference=str(block["reference"]).strip("\n") + "\n",
                tests=str(block["tests"]).strip("\n") + "\n",
                line=line,
                part=str(block.get("part") or "tune"),
            )
        )

    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("### "):
            finish()
            block = {"id": raw[4:].strip(), "line": number}
            section = ""
        elif not block:
            if raw.strip() and not raw.startswith("#"):
                raise EnigmaError(f"{name}:{number}: text outside a '### id' block")
        elif raw.startswith("--- "):
            section = raw[4:].strip()
            if section not in ("reference", "tests"):
                raise EnigmaError(f"{name}:{number}: unknown section {section!r}")
            block[section] = ""
            block[f"{section}_at"] = number + 1
        elif section:
            block[section] = str(block[section]) + raw + "\n"
        elif raw.startswith(("prompt:", "entry:", "part:")):
            key, value = raw.split(":", 1)
            block[key] = value.strip()
            if key == "part" and block[key] not in PARTS:
                raise EnigmaError(f"{name}:{number}: part must be one of {', '.join(PARTS)}")
        elif raw.strip():
            raise EnigmaError(
                f"{name}:{number}: expected 'prompt:', 'entry:', 'part:' or '--- section'"
            )
    finish()
    ids = [t.id for t in tasks]
    if len(ids) != len(set(ids)):
        raise EnigmaError(f"{name}: duplicate task ids")
    return tasks


def load_suite(path: Path | None = None) -> list[CodeTask]:
    """Read the suite at ``path`` (default: the shipped one)."""
    path = Path(path) if path else default_suite_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnigmaError(f"{path}: cannot read task suite ({exc.strerror})") from None
    return parse_suite(text, path.name)
