"""What the routes share: settings, models once loaded, the store, limits and metrics."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from PIL import Image

from ..predict import Predictor
from ..ratelimit import RateLimiter
from ..store import FeedbackStore
from .errors import NotReady
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
        self.predictor: Predictor | None = None
        self.store: FeedbackStore | None = None
        self.load_error: str | None = None
        self._load_predictor, self._open_store = load_predictor, open_store
        self._loader: threading.Thread | None = None
        self._promoting = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.predictor is not None and self.store is not None

    def start_loading(self) -> None:
        """Open the store and load and warm the models in a thread; /readyz says when done."""
        self._loader = threading.Thread(target=self._load, name="pinpoint-load", daemon=True)
        self._loader.start()

    def require_ready(self) -> tuple[Predictor, FeedbackStore]:
        """Return the models and the store, or raise NotReady."""
        if self.predictor is None or self.store is None:
            raise NotReady(self.load_error or "the models are still loading; retry shortly", 5)
        return self.predictor, self.store

    def promote(self, model: str, version: str, *, by: str) -> dict[str, object]:
        """Make `version` of `model` active in the manifest and serve it without a restart.

        The new models are loaded and warmed before the swap; a request already running
        finishes on the models it started with. If they fail to load, the manifest is put
        back and the running models stay. The switch is recorded in the store.
        """
        from ..versions import promote

        with self._promoting:
            self.require_ready()
            started = time.perf_counter()
            before = promote(self.settings.manifest, model, version)
            if before is None:
                return {"model": model, "before": version, "after": version, "switched": False}
            try:
                predictor = self._load_predictor()
                warm_up(predictor)
            except Exception:
                promote(self.settings.manifest, model, before)
                raise
            self.predictor = predictor  # the old one is left to the requests still using it
            assert self.store is not None
            self.store.record_switch(model, before, version, by=by, source="api")
        log.info("pinpoint: %s %s -> %s by %s", model, before, version, by)
        return {"model": model, "before": before, "after": version, "switched": True,
                "load_s": round(time.perf_counter() - started, 2)}

    def close(self) -> None:
        self.runner.close()
        if self.predictor is not None:
            self.predictor.close()
        if self.store is not None:
            self.store.close()

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            store = self._open_store()
            predictor = self._load_predictor()
            warm_up(predictor)
        except Exception as exc:  # a broken manifest or database must show in /readyz
            self.load_error = f"not ready: {type(exc).__name__}: {exc}"[:300]
            log.error("pinpoint: %s", self.load_error)
            return
        self.store, self.predictor = store, predictor
        self.metrics.set("pinpoint_ready", "1 once the models are loaded and warm", 1)
        log.info("pinpoint: %d models ready in %.1f s", len(predictor.models),
                 time.perf_counter() - started)


def warm_up(predictor: Predictor) -> None:
    """Run one whole prediction (decode, crop, every model) so the first request is not slow."""
    predictor.predict(Image.new("RGB", (64, 64), (128, 128, 128)), 32, 32)
