"""Predictions off the event loop: a bounded pool and a deadline."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from .errors import DeadlineExceeded, Overloaded

T = TypeVar("T")


class BoundedRunner:
    """Run at most `slots` jobs at once in threads; refuse the next one; wait `deadline_s`.

    A slot is freed when its thread really finishes, not when the caller gives up, so work
    that outlives its deadline still counts against the bound.
    """

    def __init__(self, slots: int, deadline_s: float):
        self.slots, self.deadline_s = slots, deadline_s
        self._free = threading.BoundedSemaphore(slots)
        self._pool = ThreadPoolExecutor(slots, thread_name_prefix="pinpoint-predict")
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return self._busy

    @property
    def full(self) -> bool:
        return self._busy >= self.slots

    async def run(self, job: Callable[..., T], *args: object) -> T:
        """Return job(*args), or raise Overloaded / DeadlineExceeded."""
        if not self._free.acquire(blocking=False):
            raise Overloaded(f"all {self.slots} prediction slots are busy; retry in a second")
        self._change(+1)
        try:
            future = self._pool.submit(job, *args)
        except BaseException:
            self._release(None)
            raise
        future.add_done_callback(self._release)
        waiting = asyncio.wrap_future(future)
        waiting.add_done_callback(_consume)  # a late failure must not log "never retrieved"
        try:
            return await asyncio.wait_for(asyncio.shield(waiting), self.deadline_s)
        except TimeoutError:
            raise DeadlineExceeded(
                f"no prediction within the {self.deadline_s:g} s deadline; try again later"
            ) from None

    def close(self) -> None:
        """Stop taking jobs; running ones finish in their threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _release(self, _future: object) -> None:
        self._change(-1)
        self._free.release()

    def _change(self, delta: int) -> None:
        with self._lock:
            self._busy += delta


def _consume(future: asyncio.Future) -> None:
    if not future.cancelled():
        future.exception()
