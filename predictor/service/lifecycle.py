"""A served process's life: warm-up before the first request, and SIGHUP to reload models."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from PIL import Image

from ..predict import Predictor


def warm_up(predictor: Predictor) -> None:
    """Run one whole prediction (decode, crop, every model) so the first request is not slow."""
    predictor.predict(Image.new("RGB", (64, 64), (128, 128, 128)), 32, 32)


def timed_warm_up(predictor: Predictor) -> float:
    """Warm up; return how long it took in milliseconds."""
    started = time.perf_counter()
    warm_up(predictor)
    return (time.perf_counter() - started) * 1e3


def short_error(exc: Exception) -> str:
    """`Name: message`, cut to one short line for /readyz and the log."""
    return f"{type(exc).__name__}: {exc}"[:300]


def ignore_sighup_for_now() -> None:
    """Until the lifespan takes SIGHUP over, a reload signal must not end the process."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)


@contextmanager
def sighup_calls(start_reload: Callable[[], None]) -> Iterator[None]:
    """While in this block, SIGHUP calls `start_reload` (only a main thread gets signals)."""
    loop = asyncio.get_running_loop()
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGHUP"):
        yield
        return
    loop.add_signal_handler(signal.SIGHUP, start_reload)
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
