"""Prometheus metrics of one server (all workers summed when ``PROMETHEUS_MULTIPROC_DIR`` is set).

Label values come from fixed sets (route templates, installed intents and tasks, status codes),
so a client can never grow the number of series.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

disable_created_metrics()  # no *_created series: they double the output and say nothing here

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FAST_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)
SLOW_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def multiprocess_dir() -> str | None:
    """The shared metrics folder of a multi-worker server, or None for one process."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class Metrics:
    """Every metric of ``enigma serve``; see docs/SERVING.md for names and labels."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "enigma_requests",
            "HTTP requests answered, by endpoint, status and routing decision.",
            ["endpoint", "status", "intent", "task", "via"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "enigma_request_seconds",
            "Time from request to the last byte of the response.",
            ["endpoint"],
            buckets=SLOW_BUCKETS,
            registry=r,
        )
        self.classify_seconds = Histogram(
            "enigma_classify_seconds",
            "Time to classify one text (router model or keywords).",
            buckets=FAST_BUCKETS,
            registry=r,
        )
        self.execute_seconds = Histogram(
            "enigma_execute_seconds",
            "Time a task took to answer, by task.",
            ["task"],
            buckets=SLOW_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "enigma_requests_in_flight",
            "Requests being answered now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.rejections = Counter(
            "enigma_queue_rejections",
            "Requests refused with 429 because a lane was full, by lane.",
            ["lane"],
            registry=r,
        )
        self.model_loads = Counter(
            "enigma_model_loads", "Models loaded into memory, by task.", ["task"], registry=r
        )
        self.model_unloads = Counter(
            "enigma_model_unloads", "Models dropped from memory, by task.", ["task"], registry=r
        )
        self.plugin_errors = Counter(
            "enigma_plugin_errors",
            "Task failures attributed to a plugin, by plugin and kind (failed, timeout, exit).",
            ["plugin", "kind"],
            registry=r,
        )
        self._seen_models: set[str] = set()

    def track_models(self, loaded: list[str]) -> None:
        """Count loads and unloads since the last look at the engine's loaded models."""
        current = set(loaded)
        if current == self._seen_models:
            return
        for name in current - self._seen_models:
            self.model_loads.labels(name).inc()
        for name in self._seen_models - current:
            self.model_unloads.labels(name).inc()
        self._seen_models = current

    def render(self) -> bytes:
        """The exposition text: this process, or every worker's files summed."""
        if multiprocess_dir() is None:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        prom_multiprocess.MultiProcessCollector(combined)
        return generate_latest(combined)
