"""``enigma eval code``: held-out perplexity, parse rate, exact match and suite pass@1.

Perplexity is exp(mean NLL) of the held-out completions (eos included) given their prompts.
The parse rate and exact match come from generating an answer for held-out prompts (files the
model never trained on). pass@1 runs one final answer per suite task against its unit tests,
each in the sandbox (:mod:`enigma_code.sandbox`, OS-isolated; the report names the backend) —
model output never runs in this process, and pass or fail is decided here from its values.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from enigma_code.answer import DEFAULT_DRAFTS
from enigma_code.candidates import Library
from enigma_code.generate import CodeModel, CodeOptions, write_code
from enigma_code.sandbox import DEFAULT_TIMEOUT_S, resolve_isolation, run_candidate
from enigma_code.sandbox_isolation import Isolation
from enigma_code.suite import CodeTask
from enigma_code.suite_eval import suite_report
from enigma_core.training.recipe import QAPair


def normalize(code: str) -> str:
    """Code compared for exact match: trailing spaces and blank lines ignored."""
    return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def perplexity(model: CodeModel, pairs: Sequence[QAPair]) -> dict[str, float]:
    """Mean per-token NLL and perplexity of completions given prompts (numpy forward)."""
    tok = model.tokenizer
    block = model.model.config.block_size
    nll, count = 0.0, 0
    for pair in pairs:
        prompt = model.prompt_ids(pair.prompt)
        ids = (prompt + tok.encode(pair.completion, add_eos=True))[:block]
        if len(ids) <= len(prompt):
            continue
        logits = model.model.logits(ids[:-1])[len(prompt) - 1 :].astype(np.float64)
        targets = np.asarray(ids[len(prompt) :])
        top = logits.max(axis=1)
        logz = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        nll += float((logz - logits[np.arange(len(targets)), targets]).sum())
        count += len(targets)
    mean = nll / max(count, 1)
    return {"tokens": count, "nll": round(mean, 4), "perplexity": round(math.exp(mean), 3)}


@dataclass
class _Tally:
    """Running counts over generated answers."""

    n: int = 0
    parses: int = 0
    first_parses: int = 0
    attempts: int = 0
    tokens: int = 0
    seconds: float = 0.0

    def add(self, parses: bool, attempts: int, tokens: int, seconds: float) -> None:
        self.n += 1
        self.parses += parses
        self.first_parses += parses and attempts == 1
        self.attempts += attempts
        self.tokens += tokens
        self.seconds += seconds

    def summary(self) -> dict[str, float]:
        n = max(self.n, 1)
        return {
            "generated": self.n,
            "parse_rate": round(self.parses / n, 4),
            "first_attempt_parse_rate": round(self.first_parses / n, 4),
            "mean_attempts": round(self.attempts / n, 3),
            "tokens_per_s": round(self.tokens / self.seconds, 1) if self.seconds else 0.0,
        }


def heldout_generation(
    model: CodeModel,
    pairs: Sequence[QAPair],
    options: CodeOptions,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Generate for each held-out prompt: parse rate, attempts and exact match."""
    tally, exact = _Tally(), 0
    for i, pair in enumerate(pairs):
        answer = write_code(model, pair.prompt, options)
        tally.add(answer.parses, answer.attempts, answer.tokens, answer.seconds)
        exact += normalize(answer.code) == normalize(pair.completion)
        if progress:
            progress(i + 1, len(pairs))
    return {**tally.summary(), "exact_match": round(exact / max(len(pairs), 1), 4)}


def suite_pass_at_1(
    model: CodeModel,
    tasks: Sequence[CodeTask],
    options: CodeOptions,
    timeout: float = DEFAULT_TIMEOUT_S,
    progress: Callable[[int, int], None] | None = None,
    isolation: Isolation | None = None,
) -> dict[str, Any]:
    """One answer per task, run against its tests in the sandbox; pass@1 and outcome counts.

    ``isolation`` None means the best backend here (refusing when there is none)."""
    iso = isolation or resolve_isolation()
    tally, passed, statuses = _Tally(), [], Counter()
    for i, task in enumerate(tasks):
        answer = write_code(model, task.prompt, options)
        tally.add(answer.parses, answer.attempts, answer.tokens, answer.seconds)
        result = run_candidate(answer.code, task.tests, task.entry, timeout=timeout, isolation=iso)
        statuses[result.status] += 1
        if result.passed:
            passed.append(task.id)
        if progress:
            progress(i + 1, len(tasks))
    return {
        "tasks": len(tasks),
        "pass_at_1": round(len(passed) / max(len(tasks), 1), 4),
        "passed": passed,
        "outcomes": dict(sorted(statuses.items())),
        "isolation": iso.name,
        "sandbox_python": iso.python,
        **tally.summary(),
    }


def evaluate(
    model: CodeModel,
    heldout: Sequence[QAPair],
    tasks: Sequence[CodeTask],
    options: CodeOptions,
    limit: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
    isolation: Isolation | None = None,
    drafts: int = DEFAULT_DRAFTS,
    library: Library | None = None,
    retrieved: int = 0,
) -> dict[str, Any]:
    """Every figure of ``enigma eval code`` as one JSON-ready dict (suite: verified answers,
    :mod:`enigma_code.suite_eval`; ``isolation`` None means the best backend here)."""
    sample = _spread(heldout, limit) if limit else list(heldout)

    def step(stage: str) -> Callable[[int, int], None] | None:
        return (lambda i, n: progress(stage, i, n)) if progress else None

    return {
        "model": str(model.directory),
        "heldout": {
            "examples": len(heldout),
            **perplexity(model, heldout),
            **heldout_generation(model, sample, options, step("held-out")),
        },
        "suite": suite_report(
            model,
            tasks,
            options,
            isolation or resolve_isolation(),
            drafts,
            progress=step("suite"),
            library=library,
            retrieved=retrieved,
        ),
        "options": options.__dict__,
    }


def _spread(items: Sequence[QAPair], limit: int) -> list[QAPair]:
    """``limit`` items evenly spread over ``items`` (deterministic, covers every module)."""
    if limit >= len(items):
        return list(items)
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]
