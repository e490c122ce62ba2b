"""Predict through a remote Pinpoint service instead of in-process, for the app.

The answer comes back as the same `RecordedPrediction` that `predict_and_record` gives, with
crops cut locally from the already decoded image. A degraded answer raises `ServiceDegraded`
(after storing it as "degraded", which no accuracy figure counts).
"""

from __future__ import annotations

from .client import PinpointClient, ServiceAnswer
from .crop import Box
from .display import crop_image
from .errors import PinpointError
from .feedback import RecordedPrediction
from .images import DecodedImage
from .predict import LabelScore, Prediction
from .store import FeedbackStore


class ServiceDegraded(PinpointError):
    """The prediction service gave no answer; the reason says why."""


def predict_remote(client: PinpointClient, image: bytes, decoded: DecodedImage,
                   point: tuple[float, float], *, tester: str,
                   store: FeedbackStore | None = None) -> RecordedPrediction:
    """Ask the service about `point` of `image` (its original bytes, already decoded here)."""
    answer = client.predict(image, point[0], point[1])
    if answer.degraded or answer.prediction_id is None:
        if store is not None:
            store.record_prediction(_degraded_row(decoded, point), tester=tester, source="app",
                                    status="degraded")
        raise ServiceDegraded(f"the prediction service did not answer ({answer.reason})")
    prediction = prediction_from_json(answer.data)
    crops = {name: crop_image(decoded, box) for name, box in prediction.crops.items()}
    return RecordedPrediction(int(answer.prediction_id), prediction, crops)


def label_remote(client: PinpointClient, prediction_id: int,
                 chosen: dict[str, str | None]) -> None:
    """Send the tester's labels to the service, or raise ServiceDegraded."""
    answer: ServiceAnswer = client.feedback(prediction_id, chosen)
    if answer.degraded:
        raise ServiceDegraded(f"the labels were not saved ({answer.reason})")


def prediction_from_json(data: dict) -> Prediction:
    """Rebuild a Prediction from the service's (or the CLI's) JSON."""
    point = data["point"]
    return Prediction(
        predictions={name: [LabelScore(s["label"], float(s["score"])) for s in ranked]
                     for name, ranked in data["predictions"].items()},
        crops={name: Box(**box) for name, box in data["crops"].items()},
        timings_ms=dict(data["timings_ms"]),
        models=dict(data["models"]),
        image=dict(data["image"]),
        point=(float(point["x"]), float(point["y"])),
    )


def _degraded_row(decoded: DecodedImage, point: tuple[float, float]) -> dict[str, object]:
    image = decoded.describe()
    return {"predictions": {}, "image": image, "point": {"x": point[0], "y": point[1]}}
