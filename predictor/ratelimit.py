"""A fair rate limit per tester (or API key), shared by every session of a process."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable

from .errors import RateLimited


class RateLimiter:
    """At most `limit` events per tester in any `window` seconds; shared by all sessions."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit, self.window, self._clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, value: str | None = None) -> RateLimiter | None:
        """Build from "N/SECONDS" (argument, else $PINPOINT_RATE_LIMIT, else 60/60); "0" = off."""
        text = (value or os.environ.get("PINPOINT_RATE_LIMIT") or "60/60").strip()
        if text in ("0", "off", "none"):
            return None
        match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)", text)
        if not match or int(match[1]) < 1:
            raise ValueError(f"rate limit must look like 30/60 (events/seconds), got {text!r}")
        return cls(int(match[1]), float(match[2]))

    def check(self, tester: str) -> None:
        """Count one event for `tester`, or raise RateLimited without counting it."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(tester, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                wait = events[0] + self.window - now
                raise RateLimited(
                    f"{tester} made {self.limit} predictions in the last {self.window:g} s; "
                    f"please wait {wait:.0f} s", retry_after=wait)
            events.append(now)
