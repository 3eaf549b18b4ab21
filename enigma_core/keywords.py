"""Keyword routing: the fallback classifier used when no router model is available."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from enigma_core.types import Classification

REGEX_PREFIX = "re:"


def _pattern(keyword: str) -> str:
    """Word keywords match on word boundaries; punctuation/space edges as-is; ``re:`` a regex."""
    if keyword.startswith(REGEX_PREFIX):
        return keyword[len(REGEX_PREFIX) :]
    escaped = re.escape(keyword.strip().lower())
    left = r"(?<!\w)" if keyword[:1].isalnum() else ""
    right = r"(?!\w)" if keyword.rstrip()[-1:].isalnum() and not keyword.endswith(" ") else ""
    return left + escaped + right


def _weight(keyword: str) -> float:
    """Longer phrases are stronger evidence: one point per word (a regex counts as one)."""
    if keyword.startswith(REGEX_PREFIX):
        return 1.0
    return float(max(1, len(keyword.split())))


class KeywordClassifier:
    """Scores each intent by the keywords found in a request; longer phrases weigh more."""

    def __init__(self, keywords: Mapping[str, Iterable[str]]) -> None:
        self._rules: list[tuple[str, list[tuple[re.Pattern[str], float]]]] = []
        for intent, words in keywords.items():
            rules = []
            for word in dict.fromkeys(w for w in words if w and w.strip()):
                try:
                    rules.append((re.compile(_pattern(word)), _weight(word)))
                except re.error:
                    continue  # a plugin's broken regex keyword is ignored, not fatal
            if rules:
                self._rules.append((intent, rules))

    @property
    def intents(self) -> list[str]:
        """Intents this classifier can answer."""
        return [intent for intent, _ in self._rules]

    def scores(self, text: str) -> dict[str, float]:
        """Intent → summed weight of matching keywords (only intents with a match)."""
        lowered = text.lower()
        found: dict[str, float] = {}
        for intent, rules in self._rules:
            score = sum(weight for pattern, weight in rules if pattern.search(lowered))
            if score:
                found[intent] = score
        return found

    def classify(self, text: str, default: str, top_k: int = 3) -> Classification:
        """Best keyword intent, or ``default`` with via=default when nothing matched."""
        scores = self.scores(text)
        if not scores:
            return Classification(intent=default, confidence=0.0, via="default")
        total = sum(scores.values()) + 0.5
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], self.intents.index(kv[0])))
        scored = [(intent, score / total) for intent, score in ranked[:top_k]]
        best, confidence = scored[0]
        return Classification(
            intent=best, confidence=confidence, via="keywords", alternatives=scored[1:]
        )
