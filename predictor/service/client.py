"""A small client for the Pinpoint service: timeouts everywhere, and by default it never raises.

On any failure (timeout, refused connection, 5xx, a refusal, bad JSON) it returns an empty
`ServiceAnswer` with `degraded=True` and the reason, so a product built on Pinpoint can show
its page without predictions. `strict=True` raises `ServiceError` instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import httpx

from ..errors import ServiceError


@dataclass(frozen=True)
class ServiceAnswer:
    """The service's JSON, or an empty answer with `degraded=True` and the reason."""

    data: dict[str, Any] = field(default_factory=dict)
    degraded: bool = False
    reason: str | None = None
    status: int | None = None

    @property
    def predictions(self) -> dict[str, list[dict[str, Any]]]:
        """Per model, the ranked labels; empty when degraded."""
        return self.data.get("predictions", {})

    @property
    def prediction_id(self) -> int | None:
        return self.data.get("prediction_id")


class PinpointClient:
    """Talk to one Pinpoint service. Reuses connections; close it, or use it as a context."""

    def __init__(self, base_url: str, api_key: str | None = None, *, connect_timeout: float = 2.0,
                 read_timeout: float = 15.0, strict: bool = False,
                 transport: httpx.BaseTransport | None = None):
        headers = {"X-API-Key": api_key} if api_key else {}
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self.strict = strict
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers,
                                  timeout=timeout, transport=transport)

    @classmethod
    def from_env(cls, **options: Any) -> PinpointClient | None:
        """Build from $PINPOINT_SERVICE_URL and $PINPOINT_API_KEY; None when no URL is set."""
        from ..config import load_config

        config = load_config()
        return cls(config.service_url, config.api_key, **options) if config.service_url else None

    def predict(self, image: bytes | str | os.PathLike | BinaryIO, x: float, y: float,
                top_k: int = 5) -> ServiceAnswer:
        """Upload an image (bytes, a local path or an open file) and ask about (x, y)."""
        if isinstance(image, (str, os.PathLike)):
            image = Path(image).read_bytes()
        files = {"image": ("image", image, "application/octet-stream")}
        form = {"x": str(x), "y": str(y), "top_k": str(top_k)}
        return self._call("POST", "/v1/predict", files=files, data=form)

    def predict_path(self, path: str, x: float, y: float, top_k: int = 5) -> ServiceAnswer:
        """Ask about (x, y) on an image already in the service's image folder."""
        return self._call("POST", "/v1/predict",
                          json={"path": path, "x": x, "y": y, "top_k": top_k})

    def feedback(self, prediction_id: int, labels: dict[str, str | None]) -> ServiceAnswer:
        """Record the right label per model (None = none of these) for a prediction."""
        return self._call("POST", "/v1/feedback",
                          json={"prediction_id": prediction_id, "labels": labels})

    def models(self) -> ServiceAnswer:
        """List the models the service runs."""
        return self._call("GET", "/v1/models")

    @property
    def base_url(self) -> str:
        """The service's address, as given."""
        return str(self._http.base_url).rstrip("/")

    def ready(self) -> bool:
        """Return True when the service answers /readyz with 200."""
        return not self._call("GET", "/readyz").degraded

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PinpointClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **request: Any) -> ServiceAnswer:
        try:
            response = self._http.request(method, path, **request)
        except httpx.TimeoutException as exc:
            return self._failed(f"timed out: {type(exc).__name__}", None)
        except httpx.HTTPError as exc:
            return self._failed(f"cannot reach the service: {type(exc).__name__}: {exc}", None)
        try:
            data = response.json()
        except ValueError:
            return self._failed(f"HTTP {response.status_code}, body is not JSON",
                                response.status_code)
        if response.status_code >= 400 or not isinstance(data, dict):
            message = data.get("message") if isinstance(data, dict) else None
            return self._failed(f"HTTP {response.status_code}: {message or 'unexpected body'}",
                                response.status_code)
        return ServiceAnswer(data, status=response.status_code)

    def _failed(self, reason: str, status: int | None) -> ServiceAnswer:
        if self.strict:
            raise ServiceError(reason, status)
        return ServiceAnswer(degraded=True, reason=reason, status=status)
