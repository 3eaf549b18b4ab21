"""Per-process server state: the one shared engine, its lanes, metrics and lifecycle flags."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from enigma_core.context import FileAccess
from enigma_core.serve.batcher import Batcher
from enigma_core.serve.lanes import Lane, contained
from enigma_core.serve.metrics import Metrics
from enigma_core.serve.settings import ServeSettings

if TYPE_CHECKING:
    from enigma_core.engine import EnigmaEngine

CLASSIFY_QUEUE = 1024
"""Classify requests allowed to wait (at least): each is sub-millisecond work."""


def classify_now(
    state: ServerState, texts: list[str], options: dict[str, Any]
) -> list[tuple[str, Any]]:
    """(text, Classification) for each text, in order: one :meth:`classify_many` call."""
    start = time.perf_counter()
    results = state.engine.classify_many(texts, options)
    share = (time.perf_counter() - start) / len(texts)
    observe = state.metrics.classify_seconds.observe
    for _ in texts:
        observe(share)
    return list(zip(texts, results, strict=True))


def classify_jobs(
    state: ServerState, jobs: list[tuple[list[str], dict[str, Any]]]
) -> list[tuple[bool, Any]]:
    """The classify thread's batch: ``(ok, results or exception)`` per request, in order.

    Requests with the same options share one :meth:`classify_many` call; if that call fails,
    its requests are retried one by one so that only the bad one fails.
    """
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (_texts, options) in enumerate(jobs):
        groups.setdefault(tuple(sorted(options.items())), []).append(i)
    out: list[tuple[bool, Any]] = [(False, None)] * len(jobs)
    for members in groups.values():
        texts = [text for i in members for text in jobs[i][0]]
        ok, value = contained(classify_now, (state, texts, jobs[members[0]][1]))
        if ok:
            pos = 0
            for i in members:
                n = len(jobs[i][0])
                out[i] = (True, value[pos : pos + n])
                pos += n
        elif len(members) == 1:
            out[members[0]] = (False, value)
        else:
            for i in members:
                out[i] = contained(classify_now, (state, *jobs[i]))
    return out


def log(message: str) -> None:
    """One server log line on stderr (never a request body, header or key)."""
    sys.stderr.write(f"enigma serve: {message}\n")
    sys.stderr.flush()


@dataclass
class ServerState:
    """Everything handlers share inside one worker process."""

    settings: ServeSettings
    engine: EnigmaEngine
    metrics: Metrics = field(default_factory=Metrics)
    ready: bool = False
    draining: bool = False
    in_flight: int = 0
    ready_detail: dict[str, Any] = field(default_factory=dict)
    classifier: Batcher = field(init=False)
    execute_lane: Lane = field(init=False)
    files: FileAccess = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        reject = self.metrics.rejections.labels
        self.classifier = Batcher(
            "classify",
            lambda jobs: classify_jobs(self, jobs),
            max(s.queue, CLASSIFY_QUEUE),
            lambda n: reject(n).inc(),
        )
        self.execute_lane = Lane("execute", s.threads, s.queue, lambda n: reject(n).inc())
        self.files = (
            FileAccess.within(s.allow_files) if s.allow_files is not None else FileAccess.none()
        )

    def track_models(self) -> None:
        """Update the model load/unload counters from the engine's cache."""
        self.metrics.track_models(self.engine.loaded())

    def shutdown(self) -> None:
        """Stop the lanes (running calls finish in their threads)."""
        self.classifier.shutdown()
        self.execute_lane.shutdown()
