"""The service's log lines: one JSON object per line on stderr (or key=value text).

One line per prediction request (`event: "predict"`: request id, status, image size, point,
model versions, milliseconds per stage and in all) and one per model loaded (`"model_loaded"`:
load and warm-up milliseconds). What goes in a line is chosen field by field here: never a
key, never image bytes, never a path from a request.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from ..predict import Prediction, Predictor

LOG_FORMATS = ("json", "text")
LOGGED_PATHS = frozenset({"/v1/predict"})
_FIELDS = "pinpoint_fields"
_SCOPE_KEY = "pinpoint.log"

requests_log = logging.getLogger("pinpoint.request")
models_log = logging.getLogger("pinpoint.models")


def configure_logging(log_format: str = "json", stream: IO[str] | None = None) -> None:
    """Send every `pinpoint.*` logger to stderr, one JSON object (or text line) per record."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger("pinpoint")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def event(logger: logging.Logger, name: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (they become JSON keys, or key=value in text)."""
    logger.log(level, name, extra={_FIELDS: fields})


class JsonFormatter(logging.Formatter):
    """{"ts", "level", "logger", "pid", "event" (or "message"), ...fields} on one line."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, _FIELDS, None)
        line: dict[str, Any] = {"ts": _timestamp(record), "level": record.levelname.lower(),
                                "logger": record.name, "pid": record.process}
        line["event" if fields is not None else "message"] = record.getMessage()
        line.update(fields or {})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """`LEVEL: event key=value ...`, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, _FIELDS, None) or {}
        pairs = " ".join(f"{key}={_text(value)}" for key, value in fields.items())
        text = f"{record.levelname}: {record.name} {record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def note(scope: Mapping[str, Any], **fields: Any) -> None:
    """Add fields to this request's log line (a no-op for requests that are not logged)."""
    noted = scope.get(_SCOPE_KEY)
    if noted is not None:
        noted.update(fields)


def image_fields(image: Mapping[str, object]) -> dict[str, object]:
    """An image's size and format for a log line (not its name, hash or bytes)."""
    return {key: image.get(key) for key in ("width", "height", "format", "bytes")}


def point_fields(x: object, y: object) -> dict[str, float | None]:
    """The point asked for, as numbers (None where it is not one: request text stays out)."""
    return {"x": _number(x), "y": _number(y)}


def prediction_fields(prediction: Prediction) -> dict[str, Any]:
    """The fields of a prediction worth a log line: image size, point, versions, stage ms."""
    return {
        "image": image_fields(prediction.image),
        "point": {"x": prediction.point[0], "y": prediction.point[1]},
        "models": {name: meta.get("version") for name, meta in prediction.models.items()},
        "ms": {stage: round(ms, 2) for stage, ms in prediction.timings_ms.items()},
    }


def log_models(predictor: Predictor, *, reason: str, started: float, warm_ms: float) -> None:
    """One line per model with its load and warm-up time, then one for the whole set
    (`warm_ms`: the service's own warm-up, one whole prediction on every model)."""
    for name, info in predictor.describe().items():
        event(models_log, "model_loaded", model=name, version=info["version"],
              format=info["format"], load_ms=info["load_ms"], warmup_ms=info["warmup_ms"],
              reason=reason)
    event(models_log, "models_ready", reason=reason, models=len(predictor.models),
          warmup_ms=round(warm_ms, 1), seconds=round(time.perf_counter() - started, 3))


class RequestLog:
    """ASGI middleware: give each logged request an id (X-Request-ID), log one line at its end."""

    def __init__(self, app: Callable, paths: frozenset[str] = LOGGED_PATHS):
        self.app, self.paths = app, paths

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex
        noted: dict[str, Any] = {}
        scope[_SCOPE_KEY] = noted
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500, "error": None}

        async def watching_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []),
                                                   (b"x-request-id", request_id.encode())]}
            elif message["type"] == "http.response.body" and answer["status"] >= 400:
                answer["error"] = answer["error"] or _error_name(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, watching_send)
        finally:
            status = answer["status"]
            total = round((time.perf_counter() - started) * 1e3, 2)
            error = {"error": answer["error"]} if status >= 400 else {}
            event(requests_log, "predict", logging.INFO if status < 500 else logging.WARNING,
                  request_id=request_id, status=status, **error, **noted, total_ms=total)


def _error_name(body: bytes) -> str | None:
    """The `error` name of one of the service's JSON error bodies (never its message)."""
    try:
        name = json.loads(body).get("error") if len(body) < 4096 else None
    except (ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name.isidentifier() else None


def _number(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _timestamp(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def _text(value: object) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    return str(value)
