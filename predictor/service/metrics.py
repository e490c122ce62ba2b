"""Prometheus metrics through prometheus-client: request counts by status, latency histograms.

Under several uvicorn workers `python -m predictor serve` sets PROMETHEUS_MULTIPROC_DIR, and
every scrape then adds up all workers (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

# Seconds; a prediction on CPU takes milliseconds to seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# How a gauge adds up over live workers: in flight sums, ready is 1 only if all are ready.
_GAUGE_MODES = {"pinpoint_predictions_in_flight": "livesum", "pinpoint_ready": "livemin"}

disable_created_metrics()  # no *_created series: nobody reads them, they double the output


def multiprocess() -> bool:
    """True when metrics are shared between worker processes through files."""
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Metrics:
    """Counters, histograms and gauges created on first use, with a few bounded labels."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()

    def count(self, name: str, help_text: str, **labels: str) -> None:
        """Add one to counter `name` with these labels."""
        self._get(Counter, name, help_text, labels).inc()

    def observe(self, name: str, help_text: str, seconds: float, **labels: str) -> None:
        """Record one duration in histogram `name`."""
        self._get(Histogram, name, help_text, labels, buckets=BUCKETS).observe(seconds)

    def set(self, name: str, help_text: str, value: float) -> None:
        """Set an unlabeled gauge."""
        mode = _GAUGE_MODES.get(name, "livemax")
        self._get(Gauge, name, help_text, {}, multiprocess_mode=mode).set(value)

    def render(self) -> str:
        """Return every metric in the Prometheus text format (all workers' in multiprocess)."""
        registry = self.registry
        if multiprocess():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
        return generate_latest(registry).decode()

    def _get(self, kind: type, name: str, help_text: str, labels: dict[str, str],
             **options: Any) -> Any:
        with self._lock:
            metric = self._made.get(name)
            if metric is None:
                metric = kind(name, help_text, sorted(labels), registry=self.registry, **options)
                self._made[name] = metric
        return metric.labels(**labels) if labels else metric
