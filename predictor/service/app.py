"""The FastAPI application: built by `create_app`, models loaded in its lifespan."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..errors import PinpointError
from ..predict import Predictor
from ..store.feedback import FeedbackStore
from .errors import BadRequest, error_response
from .guards import BodyLimit
from .lifecycle import ignore_sighup_for_now, sighup_calls
from .logs import RequestLog, configure_logging
from .metrics import Metrics
from .routes import router
from .settings import Settings
from .state import ServiceState

log = logging.getLogger("pinpoint.service")


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

    app = FastAPI(title="Pinpoint", version="1", lifespan=lifespan, description=_DESCRIPTION,
                  docs_url=None)
    app.state.pinpoint = state
    app.include_router(router)
    _add_offline_docs(app)
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body)
    app.add_middleware(RequestLog)
    app.add_middleware(_Observe, metrics=state.metrics)  # outermost: sees 413s too
    return app


def _add_offline_docs(app: FastAPI) -> None:
    """Serve /docs with Swagger UI's files from the swagger-ui-bundle package, not a CDN."""
    import swagger_ui_bundle

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="Pinpoint API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png")


def app_from_env() -> FastAPI:
    """The factory `python -m predictor serve` hands to uvicorn (settings from the environment)."""
    settings = Settings.from_env()
    configure_logging(settings.log_format)
    ignore_sighup_for_now()  # each worker's lifespan takes it over
    return create_app(settings, reload_on_sighup=True)


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
