"""One rate limit for the app's testers and the service's API keys, on the `limits` library.

A moving window: at most `limit` events per key in any `per_s` seconds. Counted in this
process by default ("memory://"), or in Redis ("redis://HOST:PORT") so that several service
workers, Ray replicas and the app share one limit (PINPOINT_RATE_STORAGE).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from .config import Rate, load_config, parse_rate
from .errors import RateLimited, SettingsError


class RateLimiter:
    """At most `limit` events per key in any `per_s` seconds; thread-safe, shared on purpose."""

    def __init__(self, limit: int, per_s: float, storage: str = "memory://",
                 namespace: str = "pinpoint", what: str = "predictions"):
        self.limit, self.per_s, self.what = limit, max(1, math.ceil(per_s)), what
        self._item = RateLimitItemPerSecond(limit, self.per_s, namespace=namespace)
        try:
            self._limiter = MovingWindowRateLimiter(storage_from_string(storage))
        except ConfigurationError as exc:
            raise SettingsError(
                f"PINPOINT_RATE_STORAGE {storage!r} cannot be used: {exc}") from None

    @property
    def window(self) -> int:
        """The window in seconds."""
        return self.per_s

    @classmethod
    def of(cls, rate: Rate | None, storage: str = "memory://",
           **options: str) -> RateLimiter | None:
        """Build from a parsed rate; None (no limit) stays None."""
        return None if rate is None else cls(rate.limit, rate.per_s, storage, **options)

    @classmethod
    def from_env(cls, value: str | None = None) -> RateLimiter | None:
        """The app's per-tester limit: "N/SECONDS" (argument, else $PINPOINT_RATE_LIMIT, else
        60/60); "0", "off" or "none" = no limit. Counted where $PINPOINT_RATE_STORAGE says."""
        config = load_config()
        rate = parse_rate(value, "the rate limit") if value else config.app_rate
        return cls.of(rate, config.rate_storage, namespace="pinpoint-app")

    def check(self, key: str) -> None:
        """Count one event for `key`, or raise RateLimited without counting it."""
        if self._limiter.hit(self._item, key):
            return
        reset = self._limiter.get_window_stats(self._item, key).reset_time
        wait = max(0.0, reset - time.time())
        raise RateLimited(f"{self.limit} {self.what} in the last {self.per_s:g} s; "
                          f"please wait {math.ceil(wait)} s", retry_after=wait)
