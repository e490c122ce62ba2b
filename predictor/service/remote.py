"""Predict through a remote Pinpoint service instead of in-process, for the app.

The answer comes back as the same `RecordedPrediction` that `record_click` gives (the
service stored it), with crops cut locally from the already decoded image. An unanswered
click raises `ServiceDegraded` after storing it locally as "degraded" (never scored).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..crop import Box, crop_image
from ..errors import ServiceDegraded
from ..facts import ServedModels
from ..images import DecodedImage, ImageLimits
from ..learning.recording import RecordedPrediction, record_unanswered
from ..predict import LabelScore, Prediction
from ..store.feedback import FeedbackStore
from .client import PinpointClient, ServiceAnswer

__all__ = ["ServiceDegraded", "label_remote", "models_remote", "predict_remote",
           "prediction_from_json"]


def models_remote(client: PinpointClient, limits: ImageLimits) -> ServedModels:
    """Ask the service which models it serves (`GET /v1/models`), or raise ServiceDegraded.

    Nothing is loaded here: the answer carries every fact a page needs (labels, crop sizes).
    """
    answer = client.models()
    where = str(client.base_url)
    if answer.degraded:
        raise ServiceDegraded(f"the prediction service at {where} did not answer "
                              f"({answer.reason})")
    try:
        return ServedModels.from_json(answer.data, limits, where)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ServiceDegraded(f"the prediction service at {where} sent an unexpected model "
                              f"list ({type(exc).__name__}: {exc})") from None


def predict_remote(client: PinpointClient, image: bytes | Path, decoded: DecodedImage,
                   point: tuple[float, float], *, tester: str,
                   store: FeedbackStore | None = None) -> RecordedPrediction:
    """Ask the service about `point` of `image` (its original bytes or file, decoded here)."""
    answer = client.predict(image, point[0], point[1])
    if answer.degraded or answer.prediction_id is None:
        if store is not None:
            record_unanswered(store, decoded, point, tester=tester, source="app")
        raise ServiceDegraded(f"the prediction service did not answer ({answer.reason})")
    prediction = prediction_from_json(answer.data)
    crops = {name: crop_image(decoded, box) for name, box in prediction.crops.items()}
    faulty = tuple(answer.data.get("faulty") or ())
    return RecordedPrediction(int(answer.prediction_id), prediction, crops, faulty)


def label_remote(client: PinpointClient, prediction_id: int,
                 chosen: dict[str, str | None]) -> None:
    """Send the tester's labels to the service, or raise ServiceDegraded."""
    answer: ServiceAnswer = client.feedback(prediction_id, chosen)
    if answer.degraded:
        raise ServiceDegraded(f"the labels were not saved ({answer.reason})")


def prediction_from_json(data: dict) -> Prediction:
    """Rebuild a Prediction from the service's (or the CLI's) JSON; a null score is NaN."""
    point = data["point"]
    return Prediction(
        predictions={name: [LabelScore(s["label"], _score(s["score"])) for s in ranked]
                     for name, ranked in data["predictions"].items()},
        crops={name: Box(**box) for name, box in data["crops"].items()},
        timings_ms=dict(data["timings_ms"]),
        models=dict(data["models"]),
        image=dict(data["image"]),
        point=(float(point["x"]), float(point["y"])),
    )


def _score(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]
