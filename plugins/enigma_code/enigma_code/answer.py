"""A verified answer or none: sample drafts silently, check them by behaviour, show only a pass.

Nothing a draft produced reaches the user before the checks: drafts are decoded with no stream,
checked by :mod:`enigma_code.verify` in the sandbox, and only the chosen code is emitted, at once.
When no draft passes, the answer says so plainly and its status is ``no_answer``.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from enigma_code.candidates import Borrowed, Library, coverage, name_in_request
from enigma_code.generate import CodeModel, CodeOptions, syntax_error, trim_to_parse
from enigma_code.sandbox_isolation import Isolation
from enigma_code.verify import (
    NAMED_RELEVANT,
    RELEVANT,
    Draft,
    agree,
    check_draft,
    choose,
    choose_with_retrieved,
    wanted_arity,
)

NO_ANSWER = "# no verified function found for this request: {why}\n"
DEFAULT_DRAFTS = 5
DEFAULT_RETRIEVED = 5


@dataclass
class VerifiedAnswer:
    """What the user gets: verified code, or the no-answer message and why."""

    code: str
    verified: bool
    drafts: int = 0
    """The model's drafts sampled (retrieved functions are counted in ``checks``)."""
    tokens: int = 0
    seconds: float = 0.0
    checks: dict[str, Any] = field(default_factory=dict)
    agreement: float = 0.0
    reason: str = ""
    borrowed: Borrowed | None = None
    """The retrieved function shown, when the answer is one (attribution goes with it)."""
    pointer: Borrowed | None = None
    """A function this Python already has that does what was asked (checked in the sandbox
    like the answer), named with its import under an answer that is not that function."""

    @property
    def output(self) -> str:
        """The text shown: the code, or one plain comment line saying none was verified."""
        if not self.verified:
            return NO_ANSWER.format(why=self.reason or "none passed")
        code = self.code
        if self.borrowed is not None:
            code = self.borrowed.attribution() + code
        if self.pointer is not None:
            code += self.pointer.attribution()
        return code

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
            **({"retrieved": self.borrowed.to_dict()} if self.borrowed else {}),
            **({"library": self.pointer.to_dict()} if self.pointer else {}),
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
        code, used, _, reason = model.attempt(
            request, params, None, options.max_lines, options.guided
        )
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


def adapt_arity(code: str, request: str) -> str:
    """A library function that takes only ``*args`` (``merge(*dicts)``) gets a thin wrapper
    with the arguments the request asks for (two for "two dictionaries", else two):
    ``def merge_two(first, second): return merge(first, second)``. Other code is unchanged."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    if not defs:
        return code
    fn = defs[-1]
    required = len(fn.args.posonlyargs + fn.args.args) - len(fn.args.defaults)
    if required > 0 or fn.args.vararg is None:
        return code
    names = ("first", "second", "third", "fourth")  # no type hint: probed as the request says
    params = ", ".join(names[: max(wanted_arity(request), 2)])
    return f"{code.rstrip()}\n\n\ndef {fn.name}_two({params}):\n    return {fn.name}({params})\n"


def retrieved_drafts(
    library: Library | None, request: str, count: int
) -> list[tuple[Draft, Borrowed]]:
    """The ``count`` best library functions for ``request`` as unchecked drafts."""
    if library is None or count <= 0:
        return []
    return [
        (
            Draft(
                code=adapt_arity(item.code, request),
                origin=f"{item.home}.{item.name}",
                relevance=coverage(request, item),
                named=name_in_request(item.name, request),
                installed=bool(item.call),
            ),
            item,
        )
        for _, item in library.search(request, count)
    ]


@dataclass
class CheckedDrafts:
    """Every draft of one request after the sandbox checks (model first, then retrieved)."""

    sampled: list[Draft]
    retrieved: list[tuple[Draft, Borrowed]]
    tokens: int
    model_seconds: float
    seconds: float

    def answer(self, use_retrieved: bool = True) -> VerifiedAnswer:
        """The verdict over the model's drafts alone or with the retrieved ones."""
        found = [d for d, _ in self.retrieved] if use_retrieved else []
        result, chosen = choose_with_retrieved(self.sampled, found)
        borrowed = next((item for draft, item in self.retrieved if draft is chosen), None)
        seconds = self.seconds if use_retrieved else self.model_seconds
        pointer = None
        if use_retrieved and result.verified and (borrowed is None or not borrowed.call):
            shown = chosen or next(d for d in self.sampled if d.code == result.code)
            pointer = installed_pointer(self.retrieved, shown)
        return VerifiedAnswer(
            result.code,
            result.verified,
            len(self.sampled),
            self.tokens,
            seconds,
            result.checks,
            result.agreement,
            result.reason,
            borrowed,
            pointer,
        )


def installed_pointer(retrieved: Sequence[tuple[Draft, Borrowed]], shown: Draft) -> Borrowed | None:
    """The best-ranked function this Python already has (:mod:`enigma_code.installed`) that
    passed the checks, is on topic (:data:`~enigma_code.verify.RELEVANT`) and either is named
    as the request says or behaves like the answer shown on the probes; None when none is."""
    for draft, item in retrieved:
        if not item.call or draft is shown or draft.status != "kept":
            continue
        if draft.relevance < RELEVANT:
            continue
        if draft.named or agree(draft.behaviour, shown.behaviour):
            return item
    return None


def check_all(
    model: CodeModel,
    request: str,
    iso: Isolation,
    options: CodeOptions,
    drafts: int,
    library: Library | None,
    retrieved: int,
) -> CheckedDrafts:
    """Sample and check the model's drafts, then retrieve and check library functions (timed
    separately, so one run gives the model-only and the with-retrieval figures). Retrieved
    functions run only when they could be shown: the model's drafts did not verify and their
    relevance reaches :data:`~enigma_code.verify.RELEVANT`."""
    start = time.perf_counter()
    sampled, tokens = sample_drafts(model, request, options, max(1, drafts))
    for draft in sampled:
        if draft.status == "pending":
            check_draft(draft, request, iso)
    model_seconds = time.perf_counter() - start
    pairs = retrieved_drafts(library, request, retrieved)
    model_verified = choose(sampled).verified
    for draft, item in pairs:  # only what could change the answer (or name an installed
        # function next to it) runs in the sandbox
        if model_verified and not (item.call and draft.named and draft.relevance >= RELEVANT):
            draft.status, draft.reason = "not_needed", "the model's drafts verified"
        elif draft.relevance < (NAMED_RELEVANT if draft.named else RELEVANT):
            draft.status, draft.reason = "not_relevant", f"relevance {draft.relevance:.2f}"
        else:
            check_draft(draft, request, iso)
    return CheckedDrafts(sampled, pairs, tokens, model_seconds, time.perf_counter() - start)


def verified_code(
    model: CodeModel,
    request: str,
    iso: Isolation | None,
    options: CodeOptions | None = None,
    drafts: int = DEFAULT_DRAFTS,
    library: Library | None = None,
    retrieved: int = DEFAULT_RETRIEVED,
) -> VerifiedAnswer:
    """Sample ``drafts`` answers and take the ``retrieved`` best ``library`` functions, check
    each in the sandbox ``iso``, keep the agreed one (:func:`choose_with_retrieved`).

    ``iso`` None (no sandbox here) means nothing can be run, so nothing is verified."""
    options = options or CodeOptions()
    if iso is None:
        start = time.perf_counter()
        sampled, tokens = sample_drafts(model, request, options, max(1, drafts))
        return VerifiedAnswer(
            "",
            False,
            len(sampled),
            tokens,
            time.perf_counter() - start,
            reason="no sandbox to run the drafts in",
        )
    checked = check_all(model, request, iso, options, drafts, library, retrieved)
    return checked.answer(use_retrieved=True)
