"""A tester's session, free of any UI framework: one click handled once, a fair rate limit."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

from .errors import PinpointError


class RateLimited(PinpointError):
    """This tester asked for more predictions than the limit allows; wait and retry."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


def is_new_click(click: Mapping[str, object] | None, last_seen: object) -> bool:
    """Return True if `click` is a real click not handled yet.

    The image component repeats its last click on every rerun; its unix_time tells them apart.
    """
    if not click or click.get("unix_time") is None:
        return False
    return click["unix_time"] != last_seen


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
                    f"{self.limit} predictions in the last {self.window:g} s; "
                    f"please wait {wait:.0f} s", retry_after=wait)
            events.append(now)


def progress_text(done: int, total: int) -> str:
    """Return "12 of 40" style progress for a labeling batch."""
    return f"{min(done, total)} of {total}"
