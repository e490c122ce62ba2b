"""What the routes share: settings, models once loaded, the store, limits and metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..live import LivePredictor, versions
from ..predict import Predictor
from ..ratelimit import RateLimiter
from ..store.feedback import FeedbackStore
from .errors import NotReady
from .lifecycle import short_error, timed_warm_up, warm_up
from .logs import event, log_models, models_log
from .metrics import Metrics
from .settings import Settings
from .work import BoundedRunner

log = logging.getLogger("pinpoint.service")


class ServiceState:
    """What the routes share: settings, models once loaded, the store, limits and metrics."""

    def __init__(self, settings: Settings, load_predictor: Callable[[], Predictor],
                 open_store: Callable[[], FeedbackStore]):
        self.settings = settings
        self.metrics = Metrics()
        self.runner = BoundedRunner(settings.max_in_flight, settings.deadline_s)
        self.bucket = None if not settings.rate else RateLimiter(
            settings.rate, settings.per_s, settings.rate_storage, namespace="pinpoint-api",
            what="requests")
        self.live = LivePredictor()  # swapped by a reload; requests lease it (predictor.live)
        self.store: FeedbackStore | None = None
        self.load_error: str | None = None
        self._load_predictor, self._open_store = load_predictor, open_store
        self._loader: threading.Thread | None = None
        self._promoting = threading.Lock()
        self._reloading = threading.Lock()

    @property
    def predictor(self) -> Predictor | None:
        return self.live.current

    @property
    def ready(self) -> bool:
        return self.predictor is not None and self.store is not None

    def start_loading(self) -> None:
        """Open the store and load and warm the models in a thread; /readyz says when done."""
        self._loader = threading.Thread(target=self._load, name="pinpoint-load", daemon=True)
        self._loader.start()

    def start_reload(self) -> None:
        """Re-read the manifest and swap its models in, in a thread (SIGHUP, systemctl reload)."""
        threading.Thread(target=self.reload, name="pinpoint-reload", daemon=True).start()

    def reload(self) -> bool:
        """Load and warm the manifest's models, then swap them in; keep the old ones on failure."""
        if (self._loader is not None and self._loader.is_alive()) or \
                not self._reloading.acquire(blocking=False):
            event(models_log, "reload_skipped", logging.WARNING, reason="already loading")
            return False
        try:
            if not self.ready:  # the first load failed: try all of it again
                self._load()
                return self.ready
            return self._swap_in_new_models()
        finally:
            self._reloading.release()

    def require_ready(self) -> tuple[Predictor, FeedbackStore]:
        """Return the models and the store, or raise NotReady."""
        predictor = self.predictor
        if predictor is None or self.store is None:
            raise NotReady(self.load_error or "the models are still loading; retry shortly", 5)
        return predictor, self.store

    def promote(self, model: str, version: str, *, by: str) -> dict[str, object]:
        """Make `version` of `model` active in the manifest and serve it without a restart.

        The new models are loaded and warmed before the swap; a request already running
        finishes on the models it started with. If they fail to load, the manifest is put
        back and the running models stay. The switch is recorded in the store.
        """
        from ..learning.versions import promote, restore_statuses, statuses

        with self._promoting:
            self.require_ready()
            started = time.perf_counter()
            saved = statuses(self.settings.manifest, model)
            before = promote(self.settings.manifest, model, version)
            if before is None:
                return {"model": model, "before": version, "after": version, "switched": False}
            try:  # the SIGHUP reload's swap: requests in flight finish on the old models
                self.live.reload(self._load_predictor, warm_up)
            except Exception:
                # Each version as it was: promoting `before` back would retire the refused
                # candidate and drop its shadow flag.
                restore_statuses(self.settings.manifest, model, saved)
                raise
            assert self.store is not None
            self.store.record_switch(model, before, version, by=by, source="api")
        log.info("pinpoint: %s %s -> %s by %s", model, before, version, by)
        return {"model": model, "before": before, "after": version, "switched": True,
                "load_s": round(time.perf_counter() - started, 2)}

    def close(self) -> None:
        """Stop taking predictions, close the models, and flush and close the store."""
        self.runner.close()
        self.live.close()
        flushed = None
        if self.store is not None:
            flushed = self.store.flush()
            self.store.close()
        event(log, "stopped", store_flushed=flushed)

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            store = self.store or self._open_store()
            predictor = self._load_predictor()
            warm_ms = timed_warm_up(predictor)
        except Exception as exc:  # a broken manifest or database must show in /readyz
            self.load_error = f"not ready: {short_error(exc)}"
            event(models_log, "load_failed", logging.ERROR, error=short_error(exc))
            return
        self.store, self.load_error = store, None
        self.live.swap(predictor)
        self.metrics.set("pinpoint_ready", "1 once the models are loaded and warm", 1)
        log_models(predictor, reason="start", started=started, warm_ms=warm_ms)

    def _swap_in_new_models(self) -> bool:
        started, warmed = time.perf_counter(), []
        try:
            swapped = self.live.reload(self._load_predictor,
                                       lambda new: warmed.append(timed_warm_up(new)))
        except Exception as exc:  # the running models keep answering
            event(models_log, "reload_failed", logging.ERROR, error=short_error(exc),
                  kept=versions(self.predictor))
            return False
        if self.predictor is not None:
            log_models(self.predictor, reason="reload", started=started, warm_ms=warmed[0])
        event(models_log, "reloaded", before=swapped.before, after=swapped.after,
              seconds=round(swapped.load_s, 3))
        return True


__all__ = ["ServiceState", "warm_up"]
