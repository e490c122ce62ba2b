"""The endpoints: each one checks the caller, calls the core, and returns JSON."""

from __future__ import annotations

import contextlib
import json
import re
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field, StringConstraints
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from ..errors import (
    DecodeBusy,
    ImageNotFound,
    PinpointError,
    StoreError,
    UnknownLabel,
)
from ..learning.recording import (
    RecordedPrediction,
    predict_click,
    record_labels,
    record_timeout,
    store_click,
)
from ..paths import image_root, read_image
from ..store.feedback import FeedbackStore
from .errors import (
    BadRequest,
    DeadlineExceeded,
    Forbidden,
    Overloaded,
    TooLarge,
    Unauthorized,
    UnsupportedMedia,
)
from .guards import find_key
from .logs import note, point_fields, prediction_fields
from .state import ServiceState

router = APIRouter()
_WHOLE = re.compile(r"[+-]?\d{1,6}", re.ASCII)  # int() would take 1_0 and ١٠ too
_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False,
                           description="An API key; `Authorization: Bearer KEY` works too.")


def _state(request: Request) -> ServiceState:
    return request.app.state.pinpoint


def caller(request: Request, key: Annotated[str | None, Security(_KEY_HEADER)] = None) -> str:
    """Return the name of the caller's API key, or raise Unauthorized."""
    keys = _state(request).settings.api_keys
    if not keys:
        return "local"
    bearer = request.headers.get("authorization", "")
    # The key exactly as sent: " KEY" or "KEY " is another key (nothing is stripped).
    offered = key or (bearer[7:] if bearer[:7].lower() == "bearer " else None)
    name = find_key(keys, offered)
    if name is None:
        raise Unauthorized("missing or unknown API key (send it in the X-API-Key header)")
    return name


def limited_caller(request: Request, name: Annotated[str, Depends(caller)]) -> str:
    """Like `caller`, and count one request against that key's rate limit."""
    bucket = _state(request).bucket
    if bucket is not None:
        bucket.check(name)
    return name


def admin(request: Request, name: Annotated[str, Depends(caller)]) -> str:
    """Like `caller`, and the key must be listed in PINPOINT_ADMIN_KEYS."""
    settings = _state(request).settings
    if settings.api_keys and name not in settings.admin_keys:
        raise Forbidden(f"API key {name!r} is not an admin key (PINPOINT_ADMIN_KEYS)")
    return name


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text} for code, text in [
        (401, "no or unknown API key"), (404, "no such image or prediction"),
        (413, "request too large"), (415, "neither multipart nor JSON"),
        (422, "bad image, point or field"), (429, "rate limit; see Retry-After"),
        (503, "not ready, overloaded, or past the deadline; see Retry-After")]
}
_NUMBER = {"type": "number", "description": "pixels from the left / top edge"}
_TOP_K = {"type": "integer", "minimum": 1, "maximum": 50, "default": 5}
_PREDICT_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["image", "x", "y"],
        "properties": {"image": {"type": "string", "format": "binary"},
                       "x": _NUMBER, "y": _NUMBER, "top_k": _TOP_K}}},
    "application/json": {"schema": {
        "type": "object", "required": ["path", "x", "y"],
        "properties": {"path": {"type": "string", "description": "a file under the image root"},
                       "x": _NUMBER, "y": _NUMBER, "top_k": _TOP_K}}},
}}}


@router.post("/v1/predict", openapi_extra=_PREDICT_BODY, responses=_ERRORS,
             summary="Top labels of every model at a point of an uploaded or server image")
async def predict(request: Request, key: Annotated[str, Depends(limited_caller)]) -> JSONResponse:
    state = _state(request)
    _predictor, store = state.require_ready()
    if state.runner.full:  # refuse before reading an upload that could not be served
        _count_prediction(state, "overloaded")
        raise Overloaded(f"all {state.runner.slots} prediction slots are busy; retry in a second")
    source, x, y, top_k = await _read_predict_request(request, state)
    note(request.scope, point=point_fields(x, y))
    tester = f"api:{key}"
    # The deadline covers decoding, crops and models; storing the answer comes after it.
    # The job runs on the models current now: a reload meanwhile lets it finish on them.
    job = partial(predict_click, image=source, point=(x, y), top_k=top_k, include_decode=True,
                  decode_wait_s=0)
    try:
        click = await state.runner.run(state.live.call, job)
    except (Overloaded, DecodeBusy):
        _count_prediction(state, "overloaded")
        raise
    except DeadlineExceeded as exc:
        _count_prediction(state, "timeout")
        await _record_timeout(store, tester, str(exc))
        raise
    except PinpointError:
        _count_prediction(state, "rejected")
        raise
    try:
        recorded = await run_in_threadpool(partial(store_click, store, click, tester=tester,
                                                   source="api"))
    except PinpointError:
        if click.error is not None:  # a bad point or a failed model, now stored as failed
            _count_prediction(state, "failed")
        raise
    note(request.scope, **prediction_fields(recorded.prediction),
         prediction_id=recorded.prediction_id, outcome=recorded.status)
    return _answer(state, recorded)


class Feedback(BaseModel):
    """The right label per model for one prediction; null means "none of these"."""

    prediction_id: int = Field(ge=1, le=2**62)
    labels: dict[Annotated[str, StringConstraints(max_length=100)],
                 Annotated[str, StringConstraints(max_length=200)] | None] = Field(
        min_length=1, max_length=20, examples=[{"color": "red", "theme": None}])


@router.post("/v1/feedback", responses=_ERRORS, summary="Record the right labels for a prediction")
async def feedback(request: Request, body: Feedback,
                   key: Annotated[str, Depends(limited_caller)]) -> dict[str, object]:
    predictor, store = _state(request).require_ready()
    try:
        await run_in_threadpool(partial(record_labels, predictor, store, body.prediction_id,
                                        body.labels, tester=f"api:{key}"))
    except UnknownLabel as exc:
        raise BadRequest(str(exc)) from None  # the API's documented error name
    return {"prediction_id": body.prediction_id, "recorded": body.labels}


@router.get("/v1/models", responses=_ERRORS, summary="The models served, with their labels")
def models(request: Request, _key: Annotated[str, Depends(limited_caller)]) -> dict[str, object]:
    state = _state(request)
    predictor, _store = state.require_ready()
    described = predictor.describe()
    for spec in predictor.specs:
        described[spec.name]["label_names"] = list(spec.labels)
    limits = state.settings.limits  # what an app in front of the service should refuse first
    return {"models": described,
            "limits": {"max_bytes": limits.max_bytes, "max_pixels": limits.max_pixels}}


@router.get("/healthz", summary="Alive (no key needed)")
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", summary="Models loaded and warm (no key needed)",
            responses={503: {"description": "still loading, or loading failed"}})
def readyz(request: Request) -> JSONResponse:
    state = _state(request)
    if state.ready and state.predictor is not None:
        return JSONResponse({"ready": True, "models": [s.name for s in state.predictor.specs]})
    reason = state.load_error or "loading models"
    return JSONResponse({"ready": False, "reason": reason}, status_code=503,
                        headers={"Retry-After": "5"})


@router.get("/metrics", response_class=PlainTextResponse, responses=_ERRORS,
            summary="Prometheus metrics")
def metrics(request: Request, _key: Annotated[str, Depends(caller)]) -> PlainTextResponse:
    state = _state(request)
    state.metrics.set("pinpoint_predictions_in_flight", "predictions running now",
                      state.runner.in_flight)
    return PlainTextResponse(state.metrics.render(), media_type="text/plain; version=0.0.4")


async def _read_predict_request(request: Request, state: ServiceState
                                ) -> tuple[bytes, object, object, int]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _read_upload(request, state)
    if kind == "application/json":
        return await _read_server_path(request, state)
    raise UnsupportedMedia(f"send multipart/form-data (image, x, y) or JSON (path, x, y), "
                           f"not {kind or 'no content type'!r}")


async def _read_upload(request: Request, state: ServiceState) -> tuple[bytes, object, object, int]:
    try:
        form = await request.form(max_files=1, max_fields=10)
    except HTTPException as exc:  # Starlette's answer to a MultiPartException
        raise BadRequest(_multipart_problem(str(exc.detail))) from None
    except (MultiPartException, ValueError, KeyError) as exc:
        raise BadRequest(_multipart_problem(str(exc))) from None
    for name in ("image", "x", "y", "top_k"):
        if len(form.getlist(name)) > 1:
            raise BadRequest(f"the field {name!r} is sent twice; send each field once")
    image = form.get("image")
    if not isinstance(image, UploadFile):
        raise BadRequest("send the image as a file field named 'image'")
    limit = state.settings.limits.max_bytes
    data = await image.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the image is larger than the {limit} byte limit")
    return data, _field(form, "x"), _field(form, "y"), _top_k(form.get("top_k"), state)


async def _read_server_path(request: Request, state: ServiceState
                            ) -> tuple[bytes, object, object, int]:
    try:
        body = json.loads(await request.body(), object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):  # RecursionError: nested too deep for the parser
        raise BadRequest("the body is not valid JSON (or nested too deep)") from None
    if not isinstance(body, dict):
        raise BadRequest('send a JSON object: {"path": ..., "x": ..., "y": ...}')
    root = image_root(state.settings.image_root)
    if root is None:
        raise ImageNotFound("this service has no image folder (set PINPOINT_IMAGE_ROOT)")
    # Read once, here, through one descriptor: the prediction gets bytes, never the name.
    data = await run_in_threadpool(read_image, root, body.get("path"),
                                   state.settings.limits.max_bytes)
    return data, body.get("x"), body.get("y"), _top_k(body.get("top_k"), state)


def _multipart_problem(detail: str) -> str:
    if "files" in detail.lower():
        return "send one file, the image; x, y and top_k are plain fields, not files"
    return f"the multipart body cannot be read: {detail[:100]}"


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise BadRequest(f"the field {key!r} is sent twice; send each field once")
        seen[key] = value
    return seen


def _field(form: Any, name: str) -> object:
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        raise BadRequest(f"the form field {name!r} is missing")
    return value


def _top_k(value: object, state: ServiceState) -> int:
    if value is None:
        return 5
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value.strip(" \t\r\n")):
        number = int(value)
    if number is None or not 1 <= number <= state.settings.max_top_k:
        raise BadRequest(f"top_k must be a whole number from 1 to {state.settings.max_top_k}")
    return number


def _answer(state: ServiceState, recorded: RecordedPrediction) -> JSONResponse:
    _count_prediction(state, recorded.status)
    _observe_stages(state, recorded.prediction.timings_ms)
    return JSONResponse(recorded.to_dict())


async def _record_timeout(store: FeedbackStore, tester: str, error: str) -> None:
    # The caller gets its 503 either way; a store failure here is not the news.
    with contextlib.suppress(StoreError):
        await run_in_threadpool(partial(record_timeout, store, tester=tester, source="api",
                                        error=error))


def _count_prediction(state: ServiceState, status: str) -> None:
    state.metrics.count("pinpoint_predictions_total", "predictions by outcome", status=status)


def _observe_stages(state: ServiceState, timings_ms: dict[str, float]) -> None:
    for stage, ms in timings_ms.items():
        if stage.startswith("model:"):
            state.metrics.observe("pinpoint_model_seconds", "model run time per model",
                                  ms / 1e3, model=stage[6:])
        else:
            state.metrics.observe("pinpoint_stage_seconds", "prediction time per stage",
                                  ms / 1e3, stage=stage)


class Promotion(BaseModel):
    model: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    version: Annotated[str, StringConstraints(min_length=1, max_length=100)]


@router.post("/admin/promote", responses=_ERRORS, tags=["admin"])
async def promote_version(request: Request, body: Promotion,
                          name: Annotated[str, Depends(admin)]) -> JSONResponse:
    """Serve another version of a model (or roll back) without a restart; recorded in the store."""
    state = _state(request)
    return JSONResponse(await run_in_threadpool(
        state.promote, body.model, body.version, by=f"api:{name}"))
