"""Shadow versions: candidates that answer every click after the tester has the active answer.

A version marked `shadow = true` in the manifest is loaded beside the active one. When a
click has been answered and stored, its decoded image and point go to one background
thread, which runs each shadow version on its own crop and stores the answers in
`shadow_predictions`. The tester never waits for it and never sees it; a shadow that fails
(or a full queue) costs the click nothing. Labels attach to the click, so the shadow and the
active version are scored against the same truth on the same clicks.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ..predict import Predictor, answer_one

if TYPE_CHECKING:
    from ..images import DecodedImage
    from ..models import LoadedModel
    from ..store.feedback import FeedbackStore

ShadowStart = Callable[["FeedbackStore", int], None]
MAX_PENDING = 16  # clicks waiting for their shadows; past it a click goes unshadowed
_log = logging.getLogger("pinpoint.shadow")
_RUNNERS: weakref.WeakKeyDictionary[Predictor, ShadowRunner] = weakref.WeakKeyDictionary()
_RUNNERS_LOCK = threading.Lock()


def shadows_of(predictor: Predictor) -> ShadowRunner | None:
    """The runner of a predictor's shadow versions, made on first use (None: it has none).

    One per predictor, kept as long as the predictor is: a swapped-out one's queue drains.
    """
    if not predictor.shadow_models:
        return None
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(predictor)
        if runner is None:
            runner = _RUNNERS[predictor] = ShadowRunner(predictor.shadow_models, answer_one)
        return runner


def shadow_job(predictor: Predictor, decoded: DecodedImage,
               point: tuple[float, float]) -> ShadowStart | None:
    """What to call once this click is stored to run the shadow versions (None: none)."""
    runner = shadows_of(predictor)
    return None if runner is None else runner.job(decoded, point)


class ShadowRunner:
    """Run shadow versions on stored clicks in one background thread, never blocking a click."""

    def __init__(self, models: list[LoadedModel], answer: Callable[..., dict[str, Any]],
                 max_pending: int = MAX_PENDING):
        self.models = list(models)
        self._answer = answer  # (model, decoded, point) -> {"ranked", "model_ms"}
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pinpoint-shadow")
        self._lock = threading.Lock()
        self._max_pending = max_pending
        self._pending = 0
        self.counts = {"stored": 0, "failed": 0, "skipped": 0}

    @property
    def versions(self) -> list[tuple[str, str]]:
        """(model, version) of every shadow."""
        return [(m.spec.name, m.spec.version) for m in self.models]

    def job(self, decoded: DecodedImage, point: tuple[float, float]) -> ShadowStart:
        """Return what to call once the click is stored: (store, prediction_id) -> None."""
        def start(store: FeedbackStore, prediction_id: int) -> None:
            self.submit(store, prediction_id, decoded, point)
        return start

    def submit(self, store: FeedbackStore, prediction_id: int, decoded: DecodedImage,
               point: tuple[float, float]) -> bool:
        """Queue the shadows for one stored click; False (and counted) when the queue is full."""
        with self._lock:
            if self._pending >= self._max_pending:
                self.counts["skipped"] += 1
                return False
            self._pending += 1
        try:
            self._pool.submit(self._run, store, prediction_id, decoded, point)
        except RuntimeError:  # shut down while a click was being stored
            self._finish("skipped")
            return False
        return True

    def wait(self, timeout: float | None = None) -> None:
        """Block until every shadow queued so far has run (tests, and commands before exit)."""
        marker: Future = self._pool.submit(lambda: None)  # one worker: runs after the rest
        marker.result(timeout)

    def close(self) -> None:
        """Stop taking work; what is queued still runs on the models it was given."""
        self._pool.shutdown(wait=False)

    def _run(self, store: FeedbackStore, prediction_id: int, decoded: DecodedImage,
             point: tuple[float, float]) -> None:
        outcome = "failed"
        try:
            store.record_shadow(prediction_id, [self._one(m, decoded, point)
                                                for m in self.models])
            outcome = "stored"
        except Exception:  # a background thread: log it, never let it reach the tester
            _log.exception("storing shadow answers for prediction %s failed", prediction_id)
        finally:
            self._finish(outcome)

    def _one(self, model: LoadedModel, decoded: DecodedImage,
             point: tuple[float, float]) -> dict[str, Any]:
        about = {"model": model.spec.name, "version": model.spec.version,
                 "format": model.spec.format}
        try:
            return {**about, **self._answer(model, decoded, point)}
        except Exception as exc:  # one failing shadow must not hide the others' answers
            _log.warning("shadow %s %s failed: %s", model.spec.name, model.spec.version, exc)
            return {**about, "ranked": [], "error": f"{type(exc).__name__}: {exc}"}

    def _finish(self, outcome: str) -> None:
        with self._lock:
            self._pending -= 1
            self.counts[outcome] += 1
