"""Prometheus text exposition, by hand: request counts by status, latency histograms."""

from __future__ import annotations

import threading
from collections import defaultdict

# Seconds; a prediction on CPU takes milliseconds to seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
Labels = tuple[tuple[str, str], ...]


class _Histogram:
    def __init__(self) -> None:
        self.counts = [0] * len(BUCKETS)
        self.total = 0
        self.sum = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
        self.total += 1
        self.sum += seconds


class Metrics:
    """Counters and histograms keyed by a few bounded labels; safe across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[Labels, float]] = defaultdict(dict)
        self._histograms: dict[str, dict[Labels, _Histogram]] = defaultdict(dict)
        self._gauges: dict[str, float] = {}
        self._help: dict[str, str] = {}

    def count(self, name: str, help_text: str, **labels: str) -> None:
        """Add one to counter `name` with these labels."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help[name] = help_text
            self._counters[name][key] = self._counters[name].get(key, 0) + 1

    def observe(self, name: str, help_text: str, seconds: float, **labels: str) -> None:
        """Record one duration in histogram `name`."""
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._help[name] = help_text
            self._histograms[name].setdefault(key, _Histogram()).observe(seconds)

    def set(self, name: str, help_text: str, value: float) -> None:
        """Set an unlabeled gauge."""
        with self._lock:
            self._help[name] = help_text
            self._gauges[name] = value

    def render(self) -> str:
        """Return every metric in the Prometheus text format 0.0.4."""
        lines: list[str] = []
        with self._lock:
            for name, value in sorted(self._gauges.items()):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} gauge",
                          f"{name} {_number(value)}"]
            for name, series in sorted(self._counters.items()):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} counter"]
                lines += [f"{name}{_labels(k)} {_number(v)}" for k, v in sorted(series.items())]
            for name, histograms in sorted(self._histograms.items()):
                lines += [f"# HELP {name} {self._help[name]}", f"# TYPE {name} histogram"]
                for key, hist in sorted(histograms.items()):
                    lines += _histogram_lines(name, key, hist)
        return "\n".join(lines) + "\n"


def _histogram_lines(name: str, key: Labels, hist: _Histogram) -> list[str]:
    lines = [f"{name}_bucket{_labels(key + (('le', _number(b)),))} {c}"
             for b, c in zip(BUCKETS, hist.counts, strict=True)]
    lines.append(f"{name}_bucket{_labels(key + (('le', '+Inf'),))} {hist.total}")
    lines.append(f"{name}_sum{_labels(key)} {hist.sum!r}")
    lines.append(f"{name}_count{_labels(key)} {hist.total}")
    return lines


def _labels(key: Labels) -> str:
    if not key:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in key)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
