"""The FastAPI application: built by `create_app`, models loaded in its lifespan."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..errors import DecodeBusy, ImageNotFound, ImageRejected, InvalidPoint, PinpointError
from ..live import LivePredictor, NoModels, versions
from ..predict import Predictor
from ..session import RateLimited
from ..store import FeedbackStore, StoreBusy, StoreError
from .guards import BodyLimit, TokenBucket
from .lifecycle import ignore_sighup_for_now, short_error, sighup_calls, timed_warm_up
from .logs import RequestLog, configure_logging, event, log_models, models_log
from .metrics import Metrics
from .settings import Settings
from .work import BoundedRunner, NotReady, ServiceBusy

log = logging.getLogger("pinpoint.service")


class Unauthorized(PinpointError):
    """The request carries no API key, or one the service does not know."""


class BadRequest(PinpointError):
    """The request is malformed: wrong fields, wrong types, unreadable JSON."""


class UnsupportedMedia(BadRequest):
    """The body is neither a multipart upload nor JSON."""


class TooLarge(PinpointError):
    """The image is larger than the service accepts."""


class UnknownPrediction(PinpointError):
    """No prediction has this id."""


# First match wins, so subclasses come before their parents.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthorized, 401), (RateLimited, 429), (ServiceBusy, 503), (DecodeBusy, 503),
    (StoreBusy, 503),
    (StoreError, 503), (TooLarge, 413), (UnsupportedMedia, 415), (ImageNotFound, 404),
    (UnknownPrediction, 404), (NoModels, 503),
    (ImageRejected, 422), (InvalidPoint, 422), (BadRequest, 422), (PinpointError, 400),
)


class ServiceState:
    """What the routes share: settings, models once loaded, the store, limits and metrics."""

    def __init__(self, settings: Settings, load_predictor: Callable[[], Predictor],
                 open_store: Callable[[], FeedbackStore]):
        self.settings = settings
        self.metrics = Metrics()
        self.runner = BoundedRunner(settings.max_in_flight, settings.deadline_s)
        self.bucket = TokenBucket(settings.rate, settings.per_s) if settings.rate else None
        self.live = LivePredictor()  # swapped by a reload; requests lease it (predictor.live)
        self.store: FeedbackStore | None = None
        self.load_error: str | None = None
        self._load_predictor, self._open_store = load_predictor, open_store
        self._loader: threading.Thread | None = None
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

    def require_ready(self) -> tuple[Predictor, FeedbackStore]:
        """Return the models and the store, or raise NotReady."""
        predictor = self.predictor
        if predictor is None or self.store is None:
            raise NotReady(self.load_error or "the models are still loading; retry shortly", 5)
        return predictor, self.store

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


def create_app(
    settings: Settings | None = None,
    *,
    load_predictor: Callable[[], Predictor] | None = None,
    open_store: Callable[[], FeedbackStore] | None = None,
    reload_on_sighup: bool = False,
) -> FastAPI:
    """Build the service; models load after start-up (in each worker process, after any fork).

    `reload_on_sighup`: while serving, SIGHUP re-reads the manifest and swaps the models in
    (what `python -m predictor serve` asks for; only a process's main thread gets signals).
    """
    from .routes import router

    settings = settings or Settings.from_env()
    state = ServiceState(
        settings,
        load_predictor or (lambda: Predictor.from_manifest(settings.manifest,
                                                           limits=settings.limits)),
        open_store or (lambda: FeedbackStore(settings.db_url)),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not settings.api_keys:
            log.warning("pinpoint: no API keys configured; serve on 127.0.0.1 only")
        state.metrics.set("pinpoint_ready", "1 once the models are loaded and warm", 0)
        state.start_loading()
        with sighup_calls(state.start_reload) if reload_on_sighup else contextlib.nullcontext():
            yield
        state.close()

    app = FastAPI(title="Pinpoint", version="1", lifespan=lifespan, description=_DESCRIPTION)
    app.state.pinpoint = state
    app.include_router(router)
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body)
    app.add_middleware(RequestLog)
    app.add_middleware(_Observe, metrics=state.metrics)  # outermost: sees 413s too
    return app


def app_from_env() -> FastAPI:
    """The factory `python -m predictor serve` hands to uvicorn (settings from the environment)."""
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    ignore_sighup_for_now()  # each worker's lifespan takes it over
    return create_app(settings, reload_on_sighup=True)


def error_response(exc: Exception) -> JSONResponse:
    """Map a typed error to its status and a one-line JSON body."""
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 400)
    headers = {}
    retry = getattr(exc, "retry_after", 1 if isinstance(exc, StoreBusy) else None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="pinpoint"'
    body = {"error": type(exc).__name__, "message": str(exc)}
    return JSONResponse(body, status_code=status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PinpointError)
    async def _typed(_request: Request, exc: PinpointError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return error_response(BadRequest(f"{where}: {first.get('msg', 'invalid request')}"))

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> JSONResponse:
        body = {"error": "HTTPError", "message": str(exc.detail)}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        # Nobody reads this answer; it only keeps a dropped upload out of the error log.
        return JSONResponse({"error": "ClientDisconnect", "message": "client went away"}, 400)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("pinpoint: unexpected error")
        body = {"error": "InternalError", "message": "unexpected server error; it was logged"}
        return JSONResponse(body, status_code=500)


class _Observe:
    """ASGI middleware: count requests by route and status, time them."""

    def __init__(self, app: Callable, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), {"code": 500}

        async def watching_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            route = scope["path"] if scope["path"] in _ROUTES else "other"
            self.metrics.count("pinpoint_requests_total", "HTTP requests by route and status",
                               route=route, status=str(status["code"]))
            self.metrics.observe("pinpoint_request_seconds", "HTTP request latency by route",
                                 time.perf_counter() - started, route=route)


_ROUTES = {"/v1/predict", "/v1/feedback", "/v1/models", "/healthz", "/readyz", "/metrics",
           "/docs", "/openapi.json"}

_DESCRIPTION = """Ask Pinpoint's image classifiers about a point on a photo.

Send an API key in the `X-API-Key` header (or `Authorization: Bearer KEY`); use the
**Authorize** button to try the endpoints here. `/healthz` and `/readyz` need no key.
"""
