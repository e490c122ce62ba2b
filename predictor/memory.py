"""Memory of decodes: a budget of pixels decoded at once, and freed memory given back."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .errors import DecodeBusy

# Decoding costs ~4 bytes per pixel (Pillow keeps RGB in 32 bits) plus a reduced copy:
# 100 MP in flight is ~0.4 GB at the decoders' peak, whatever the number of threads.
TRIM_ABOVE_PIXELS = 4_000_000  # give memory back after decodes at least this large


class PixelBudget:
    """At most `capacity` pixels decoded at once across threads; a reservation waits its turn."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._used = 0
        self._freed = threading.Condition()

    @classmethod
    def from_config(cls) -> PixelBudget:
        """Build from $PINPOINT_DECODE_MP (megapixels in flight, default 100), read through the
        settings object: a malformed value raises SettingsError naming the variable."""
        from .config import load_config  # pydantic only on the first decode, not at import

        return cls(max(1, int(load_config().decode_mp * 1_000_000)))

    @property
    def used(self) -> int:
        return self._used

    @contextmanager
    def reserve(self, pixels: int, wait_s: float | None = 30.0) -> Iterator[None]:
        """Hold `pixels` of the budget for the block; raise DecodeBusy after `wait_s` seconds.

        `wait_s=0` refuses at once; None waits as long as it takes. A single image larger
        than the whole budget runs alone.
        """
        wanted = min(pixels, self.capacity)
        with self._freed:
            if not self._freed.wait_for(lambda: self._used + wanted <= self.capacity, wait_s):
                raise DecodeBusy(
                    f"{self._used / 1e6:.0f} MP are being decoded already (budget "
                    f"{self.capacity / 1e6:.0f} MP); retry in a second", retry_after=1.0)
            self._used += wanted
        try:
            yield
        finally:
            with self._freed:
                self._used -= wanted
                self._freed.notify_all()


@functools.cache
def decode_budget() -> PixelBudget:
    """The process-wide budget, built on first use (settings read once, like the models)."""
    return PixelBudget.from_config()


def give_back_memory() -> None:
    """Return freed heap memory to the operating system (glibc malloc_trim; a no-op elsewhere).

    Without it, a thread that decoded a large image keeps its peak in its malloc arena.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None
