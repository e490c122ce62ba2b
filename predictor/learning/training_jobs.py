"""Retrain in a background thread, one training at a time per process, with its progress.

The app keeps one TrainingJobs per process, so a page reload (or another tester) sees the
training that is running, its progress and, once done, its result or error.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace

from ..errors import PinpointError


class TrainingBusy(PinpointError):
    """A training is already running in this process; wait for it to finish."""


@dataclass(frozen=True)
class TrainingStatus:
    """What the current (or last) training is doing: fraction done, last message, outcome."""

    model: str
    started: float
    fraction: float = 0.0
    message: str = "starting"
    result: dict | None = None
    error: str | None = None

    @property
    def running(self) -> bool:
        return self.result is None and self.error is None


class TrainingJobs:
    """Start `retrain` in a thread; refuse a second one while the first runs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: TrainingStatus | None = None

    def status(self) -> TrainingStatus | None:
        """Return the running or last training's status (None before the first)."""
        return self._status

    def start(self, model: str, *, manifest: str | os.PathLike | None, db_url: str | None,
              epochs: int = 8) -> None:
        """Start retraining `model` from the store's labels; raise TrainingBusy if one runs."""
        with self._lock:
            if self._status is not None and self._status.running:
                raise TrainingBusy(f"{self._status.model} is still training")
            self._status = TrainingStatus(model, time.time())
        thread = threading.Thread(target=self._run, args=(model, manifest, db_url, epochs),
                                  name="pinpoint-retrain", daemon=True)
        thread.start()

    def _run(self, model: str, manifest, db_url: str | None, epochs: int) -> None:  # noqa: ANN001
        from ..store.feedback import FeedbackStore
        from .retrain import RetrainOptions, retrain

        def progress(fraction: float, message: str) -> None:
            self._update(fraction=fraction, message=message)

        store = None
        try:
            store = FeedbackStore(db_url)
            result = retrain(model, manifest=manifest, store=store,
                             options=RetrainOptions(epochs=epochs), progress=progress)
            self._update(fraction=1.0, message="done", result=result)
        except Exception as exc:  # shown on the page; the thread must not die silently
            self._update(error=f"{type(exc).__name__}: {exc}"[:500])
        finally:
            if store is not None:
                store.close()

    def _update(self, **changes: object) -> None:
        with self._lock:
            assert self._status is not None
            self._status = replace(self._status, **changes)  # type: ignore[arg-type]
