"""A verified answer or none: sample drafts silently, check them by behaviour, show only a pass.

Nothing a draft produced reaches the user before the checks: drafts are decoded with no stream,
checked by :mod:`enigma_code.verify` in the sandbox, and only the chosen code is emitted, at once.
When no draft passes, the answer says so plainly and its status is ``no_answer``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from enigma_code.generate import CodeModel, CodeOptions, syntax_error, trim_to_parse
from enigma_code.sandbox_isolation import Isolation
from enigma_code.verify import Draft, check_draft, choose

NO_ANSWER = "# no verified function found for this request: {why}\n"
DEFAULT_DRAFTS = 5


@dataclass
class VerifiedAnswer:
    """What the user gets: verified code, or the no-answer message and why."""

    code: str
    verified: bool
    drafts: int = 0
    tokens: int = 0
    seconds: float = 0.0
    checks: dict[str, Any] = field(default_factory=dict)
    agreement: float = 0.0
    reason: str = ""

    @property
    def output(self) -> str:
        """The text shown: the code, or one plain comment line saying none was verified."""
        return self.code if self.verified else NO_ANSWER.format(why=self.reason or "none passed")

    def to_data(self) -> dict[str, Any]:
        """The ``TaskResult.data`` form."""
        return {
            "verified": self.verified,
            "parses": self.verified,
            "drafts": self.drafts,
            "tokens": self.tokens,
            "seconds": round(self.seconds, 4),
            "checks": self.checks,
            "agreement": self.agreement,
            **({} if self.verified else {"reason": self.reason}),
        }


def sample_drafts(
    model: CodeModel, request: str, options: CodeOptions, count: int
) -> tuple[list[Draft], int]:
    """``count`` drafts (greedy first, then sampled), none shown; plus the tokens spent."""
    from enigma_core.inference import SamplingParams

    drafts: list[Draft] = []
    tokens = 0
    for i in range(count):
        temperature = options.temperature if i == 0 else options.retry_temperature
        params = SamplingParams(
            max_new_tokens=options.max_new_tokens,
            temperature=temperature,
            top_p=options.top_p,
            seed=options.seed + i,
        )
        code, used, _, reason = model.attempt(request, params, None, options.max_lines,
                                              options.guided)
        tokens += used
        error = syntax_error(code)
        if error is not None and reason == "length":
            trimmed = trim_to_parse(code)
            if trimmed is not None:
                code, error = trimmed, None
        draft = Draft(code=code)
        if error is not None:
            draft.status, draft.reason = "syntax_error", error
        drafts.append(draft)
    return drafts, tokens


def verified_code(
    model: CodeModel,
    request: str,
    iso: Isolation | None,
    options: CodeOptions | None = None,
    drafts: int = DEFAULT_DRAFTS,
) -> VerifiedAnswer:
    """Sample ``drafts`` answers, check each in the sandbox ``iso``, keep the agreed one.

    ``iso`` None (no sandbox here) means nothing can be run, so nothing is verified."""
    options = options or CodeOptions()
    start = time.perf_counter()
    sampled, tokens = sample_drafts(model, request, options, max(1, drafts))
    if iso is None:
        return VerifiedAnswer("", False, len(sampled), tokens, time.perf_counter() - start,
                              reason="no sandbox to run the drafts in")
    for draft in sampled:
        if draft.status == "pending":
            check_draft(draft, request, iso)
    result = choose(sampled)
    return VerifiedAnswer(
        result.code, result.verified, len(sampled), tokens, time.perf_counter() - start,
        result.checks, result.agreement, result.reason,
    )
