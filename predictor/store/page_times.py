"""Store the app's own run time per click without ever making the click wait for it.

The app hands each figure to `PageTimes.submit`, which only puts it on a short queue; one
background thread writes it (one UPDATE of the prediction row). A busy or failing database,
or a full queue, drops the figure and counts it: a missing timing is harmless, a slow click
is not.
"""

from __future__ import annotations

import queue
import threading

from ..errors import PinpointError
from .feedback import FeedbackStore


class PageTimes:
    """A background writer of `predictions.page_ms`; safe to share between threads."""

    def __init__(self, store: FeedbackStore, capacity: int = 256):
        self.store = store
        self.written = 0
        self.dropped = 0
        self._queue: queue.Queue[tuple[int, float]] = queue.Queue(capacity)
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="pinpoint-page-times", daemon=True).start()

    def submit(self, prediction_id: int, page_ms: float) -> bool:
        """Queue one figure (never blocks); False, counted as dropped, when the queue is full."""
        try:
            self._queue.put_nowait((prediction_id, page_ms))
        except queue.Full:
            self._count(dropped=1)
            return False
        return True

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued figure is written or dropped (for tests and a clean stop)."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            prediction_id, page_ms = self._queue.get()
            try:
                stored = self.store.record_page_ms(prediction_id, page_ms)
                self._count(written=int(stored), dropped=int(not stored))
            except PinpointError:  # StoreBusy or StoreError: drop it, count it
                self._count(dropped=1)
            finally:
                self._queue.task_done()

    def _count(self, written: int = 0, dropped: int = 0) -> None:
        with self._lock:
            self.written += written
            self.dropped += dropped
