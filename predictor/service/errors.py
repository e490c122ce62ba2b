"""The service's own errors, the status each error maps to, and the one-line JSON body."""

from __future__ import annotations

import math

from fastapi.responses import JSONResponse

from ..errors import (
    DecodeBusy,
    ImageNotFound,
    ImageRejected,
    InvalidPoint,
    NoModels,
    PinpointError,
    RateLimited,
    StoreBusy,
    StoreError,
    UnknownLabel,
    UnknownPrediction,
)
from ..learning.versions import UnknownVersion


class Unauthorized(PinpointError):
    """The request carries no API key, or one the service does not know."""


class Forbidden(PinpointError):
    """The API key is valid but may not do this (admin endpoints need an admin key)."""


class BadRequest(PinpointError):
    """The request is malformed: wrong fields, wrong types, unreadable JSON."""


class UnsupportedMedia(BadRequest):
    """The body is neither a multipart upload nor JSON."""


class TooLarge(PinpointError):
    """The image is larger than the service accepts."""


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


# First match wins, so subclasses come before their parents.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthorized, 401), (Forbidden, 403), (UnknownVersion, 404), (RateLimited, 429),
    (ServiceBusy, 503), (DecodeBusy, 503), (StoreBusy, 503),
    (StoreError, 503), (TooLarge, 413), (UnsupportedMedia, 415), (ImageNotFound, 404),
    (UnknownPrediction, 404), (NoModels, 503),
    (ImageRejected, 422), (InvalidPoint, 422), (UnknownLabel, 422), (BadRequest, 422),
    (PinpointError, 400),
)


def error_response(exc: Exception) -> JSONResponse:
    """Map a typed error to its status and a one-line JSON body."""
    status = next((code for kind, code in STATUS if isinstance(exc, kind)), 400)
    headers = {}
    retry = getattr(exc, "retry_after", 1 if isinstance(exc, StoreBusy) else None)
    if retry is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="pinpoint"'
    body = {"error": type(exc).__name__, "message": str(exc)}
    return JSONResponse(body, status_code=status, headers=headers)
