"""One click, end to end: check the rate limit, predict, keep the crops, record it in the store."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from .display import crop_image, png_bytes
from .errors import PinpointError
from .images import DecodedImage
from .predict import Prediction, Predictor
from .session import RateLimiter
from .store import FeedbackStore


@dataclass(frozen=True)
class RecordedPrediction:
    """A prediction as stored: its row id, the answer and each model's crop image."""

    prediction_id: int
    prediction: Prediction
    crops: dict[str, Image.Image]
    faulty: tuple[str, ...] = ()  # models whose scores were not finite numbers

    @property
    def status(self) -> str:
        """"ok", or "degraded" when a model gave unusable scores (never counted in accuracy)."""
        return "degraded" if self.faulty else "ok"


def predict_and_record(
    predictor: Predictor,
    store: FeedbackStore,
    decoded: DecodedImage,
    point: tuple[float, float],
    *,
    tester: str,
    source: str = "app",
    limiter: RateLimiter | None = None,
    parallel: bool | None = None,
    rate_key: str | None = None,
) -> RecordedPrediction:
    """Predict at `point` (original pixels) and store it; a failure is stored, then re-raised.

    Raises RateLimited before any work when `rate_key` (default: the tester) is over the
    limit (nothing stored).
    A model returning NaN or infinite scores makes the prediction "degraded": stored, shown,
    never counted in accuracy.
    """
    if limiter is not None:
        limiter.check(rate_key or tester)
    image = decoded.describe()
    try:
        prediction = predictor.predict(decoded, point[0], point[1], parallel=parallel)
    except PinpointError as exc:
        store.record_failure(tester=tester, source=source, error=str(exc), image=image,
                             point={"x": point[0], "y": point[1]})
        raise
    crops = {name: crop_image(decoded, box) for name, box in prediction.crops.items()}
    faulty = tuple(name for name, scores in prediction.predictions.items()
                   if not all(math.isfinite(s.score) for s in scores))
    used_parallel = predictor.parallel if parallel is None else parallel
    prediction_id = store.record_prediction(
        prediction, tester=tester, source=source, status="degraded" if faulty else "ok",
        crops_png={name: png_bytes(crop) for name, crop in crops.items()},
        parallel=used_parallel and len(prediction.crops) > 1)
    return RecordedPrediction(prediction_id, prediction, crops, faulty)
