"""The Predictor now serving, swapped for a new one without a restart or a dropped request.

One mechanism for every "switch models while running": the service's SIGHUP reload, and
promoting a model version from the app. A caller leases the current Predictor for one
prediction; a swap only changes which one the next lease gets, and a replaced Predictor is
closed when its last lease ends, so a prediction in flight finishes on the models it began on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from .errors import NoModels, ReloadBusy
from .predict import Predictor

T = TypeVar("T")


@dataclass(frozen=True)
class Swapped:
    """What a reload changed: model versions before and after, and how long loading took."""

    before: dict[str, str]
    after: dict[str, str]
    load_s: float


class LivePredictor:
    """Hold the current Predictor; swap it atomically; close old ones once nobody uses them."""

    def __init__(self, predictor: Predictor | None = None):
        self._current = predictor
        self._leases: dict[int, int] = {}  # id(predictor) -> predictions running on it
        self._retired: dict[int, Predictor] = {}
        self._lock = threading.Lock()
        self._reloading = threading.Lock()  # one reload at a time; the others are refused

    @property
    def current(self) -> Predictor | None:
        return self._current

    @contextmanager
    def lease(self) -> Iterator[Predictor]:
        """Yield the current Predictor; it stays open until the block ends, even if replaced."""
        with self._lock:
            predictor = self._current
            if predictor is None:
                raise NoModels("no models are loaded")
            self._leases[id(predictor)] = self._leases.get(id(predictor), 0) + 1
        try:
            yield predictor
        finally:
            self._release(predictor)

    def call(self, job: Callable[[Predictor], T]) -> T:
        """Return job(predictor) on the current Predictor, held open until the job ends."""
        with self.lease() as predictor:
            return job(predictor)

    def swap(self, new: Predictor) -> Predictor | None:
        """Serve `new` from the next lease on; return the one it replaced (closed when idle)."""
        with self._lock:
            old, self._current = self._current, new
            if old is not None and old is not new:
                self._retired[id(old)] = old
        if old is not None and old is not new:
            self._close_if_idle(old)
        return old

    def reload(self, load: Callable[[], Predictor],
               prepare: Callable[[Predictor], None] | None = None) -> Swapped:
        """Load (and `prepare`, e.g. warm up) new models, then swap them in.

        If loading fails the running models stay and the error propagates; while another
        reload is running this one raises ReloadBusy at once.
        """
        if not self._reloading.acquire(blocking=False):
            raise ReloadBusy("a reload is already running")
        try:
            started = time.perf_counter()
            new = load()
            try:
                if prepare is not None:
                    prepare(new)
            except BaseException:
                new.close()
                raise
            old = self.swap(new)
            return Swapped(versions(old), versions(new), time.perf_counter() - started)
        finally:
            self._reloading.release()

    def close(self) -> None:
        """Close the current Predictor and any retired one (call once nothing runs)."""
        with self._lock:
            every = [*self._retired.values(), *([self._current] if self._current else [])]
            self._retired.clear()
            self._current = None
        for predictor in every:
            predictor.close()

    def _release(self, predictor: Predictor) -> None:
        with self._lock:
            left = self._leases[id(predictor)] - 1
            if left:
                self._leases[id(predictor)] = left
            else:
                del self._leases[id(predictor)]
        self._close_if_idle(predictor)

    def _close_if_idle(self, predictor: Predictor) -> None:
        with self._lock:
            if id(predictor) in self._leases or self._retired.get(id(predictor)) is not predictor:
                return
            del self._retired[id(predictor)]
        predictor.close()


def versions(predictor: Predictor | None) -> dict[str, str]:
    """Return {model name: version} of a Predictor (empty for None)."""
    return {} if predictor is None else {m.spec.name: m.spec.version for m in predictor.models}
