"""Predictions off the event loop: a bounded pool, a deadline, and errors that say why."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ..display import crop_image, png_bytes
from ..errors import PinpointError
from ..images import ImageSource
from ..live import LivePredictor
from ..predict import Prediction, Predictor

T = TypeVar("T")


class ServiceBusy(PinpointError):
    """The service cannot take this request now; retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(ServiceBusy):
    """Every prediction slot is taken: refused at once rather than queued."""


class DeadlineExceeded(ServiceBusy):
    """The prediction did not finish within the deadline."""


class NotReady(ServiceBusy):
    """The models are still loading (or failed to load)."""


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


@dataclass(frozen=True)
class Outcome:
    """What one prediction job produced: the answer and crop PNGs, or the error after decoding."""

    image: dict[str, object]
    point: dict[str, float]
    prediction: Prediction | None = None
    crops_png: dict[str, bytes] | None = None
    error: PinpointError | None = None


def predict_job(predictor: Predictor, source: ImageSource, x: object, y: object,
                top_k: int) -> Outcome:
    """Decode, predict and render each crop; errors after decoding are returned, not raised."""
    decoded = predictor.decode(source, wait_s=0)  # past the pixel budget: 503 at once
    image = decoded.describe()
    given = {"x": _maybe_float(x), "y": _maybe_float(y)}
    point = {axis: value for axis, value in given.items() if value is not None}
    try:
        prediction = predictor.predict(decoded, x, y, top_k=top_k, include_decode=True)
    except PinpointError as exc:
        return Outcome(image, point, error=exc)
    crops = {name: png_bytes(crop_image(decoded, box)) for name, box in prediction.crops.items()}
    return Outcome(image, point, prediction, crops)


def predict_live(live: LivePredictor, source: ImageSource, x: object, y: object,
                 top_k: int) -> Outcome:
    """`predict_job` on the models current when the job starts; a reload meanwhile waits
    for it to finish before closing them."""
    with live.lease() as predictor:
        return predict_job(predictor, source, x, y, top_k)


def _maybe_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < 1e300 else None
