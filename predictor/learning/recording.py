"""One click, end to end: decode, predict, check the scores, cut the crops, store the row.

`record_click` is the only place a click becomes a stored prediction: the app, the service
and the CLI call it, and the remote client answers with the same `RecordedPrediction`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PIL import Image

from ..crop import SHOWN_SIDE, crop_image, png_bytes, stored_side
from ..errors import PinpointError, UnknownLabel, UnknownPrediction
from ..images import DecodedImage, ImageSource
from ..predict import Prediction, Predictor
from .shadow import ShadowStart, shadow_job

if TYPE_CHECKING:  # SQLAlchemy and limits load only when a store or a limiter is made
    from ..facts import ServedModels
    from ..ratelimit import RateLimiter
    from ..store.feedback import FeedbackStore


@dataclass(frozen=True)
class RecordedPrediction:
    """A prediction as answered and stored: its row id (None when not stored), the answer,
    each model's crop image, and the models whose scores were not finite numbers."""

    prediction_id: int | None
    prediction: Prediction
    crops: dict[str, Image.Image]
    faulty: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """"ok", or "degraded" when a model gave unusable scores (never counted in accuracy)."""
        return "degraded" if self.faulty else "ok"

    def to_dict(self) -> dict[str, object]:
        """The answer shape of the CLI (--json) and the API: unusable scores become null."""
        data = self.prediction.to_dict()
        data["predictions"] = {
            name: [{**item, "score": item["score"] if math.isfinite(item["score"]) else None}
                   for item in ranked]
            for name, ranked in data["predictions"].items()  # type: ignore[attr-defined]
        }
        return {**data, "prediction_id": self.prediction_id, "status": self.status,
                "faulty": list(self.faulty)}


def record_click(
    predictor: Predictor,
    store: FeedbackStore | None,
    image: ImageSource | DecodedImage,
    point: tuple[object, object],
    *,
    tester: str,
    source: str = "app",
    top_k: int = 5,
    parallel: bool | None = None,
    include_decode: bool | None = None,
    limiter: RateLimiter | None = None,
    rate_key: str | None = None,
    decode_wait_s: float | None = 30.0,
    image_name: str | None = None,
) -> RecordedPrediction:
    """Predict at `point` (original pixels) of `image` and store it with its status.

    Raises RateLimited before any work when `rate_key` (default: the tester) is over the
    limit (nothing stored). Past the budget of pixels decoded at once, decoding waits up
    to `decode_wait_s` seconds, then raises DecodeBusy (nothing stored).
    An image that cannot be decoded raises ImageRejected (nothing stored); a bad point or a
    failed model is stored as "failed", then raised. A model returning NaN or infinite
    scores makes the prediction "degraded": stored, answered, never counted in accuracy.
    Nothing is stored without a store. `image_name` (a file name or path, when known) is
    stored with the prediction. The decode time counts when decoded here, or when
    `include_decode` says so. (The service runs the two halves, `predict_click` and
    `store_click`, on either side of its deadline.) Shadow versions (manifest
    `shadow = true`) answer the same click in the background once it is stored, never
    in the answer.
    """
    if limiter is not None:
        limiter.check(rate_key or tester)
    click = predict_click(predictor, image, point, top_k=top_k, parallel=parallel,
                          include_decode=include_decode, decode_wait_s=decode_wait_s)
    return store_click(store, click, tester=tester, source=source, image_name=image_name)


@dataclass(frozen=True)
class Click:
    """A click predicted but not stored yet: the answer and its crops, or the error raised
    after the image was decoded (a bad point, a failed model)."""

    image: dict[str, object]
    point: dict[str, float]
    prediction: Prediction | None = None
    crops: dict[str, Image.Image] = field(default_factory=dict)
    faulty: tuple[str, ...] = ()
    parallel: bool = False
    error: PinpointError | None = None
    shadow: ShadowStart | None = field(default=None, repr=False, compare=False)


def predict_click(predictor: Predictor, image: ImageSource | DecodedImage,
                  point: tuple[object, object], *, top_k: int = 5,
                  parallel: bool | None = None, include_decode: bool | None = None,
                  decode_wait_s: float | None = 30.0) -> Click:
    """Decode (errors raise), predict, check the scores are finite and cut the crops."""
    counted = not isinstance(image, DecodedImage) if include_decode is None else include_decode
    decoded = image if isinstance(image, DecodedImage) else predictor.decode(image, decode_wait_s)
    described, given = decoded.describe(), _given_point(point)
    try:
        prediction = predictor.predict(decoded, point[0], point[1], top_k=top_k,
                                       parallel=parallel, include_decode=counted)
    except PinpointError as exc:
        return Click(described, given, error=exc)
    sides = {spec.name: stored_side(spec.input_size) for spec in predictor.specs}
    crops = {name: crop_image(decoded, box, sides.get(name, SHOWN_SIDE))
             for name, box in prediction.crops.items()}
    faulty = tuple(name for name, scores in prediction.predictions.items()
                   if not all(math.isfinite(s.score) for s in scores))
    used_parallel = predictor.parallel if parallel is None else parallel
    return Click(described, given, prediction, crops, faulty,
                 used_parallel and len(prediction.crops) > 1,
                 shadow=shadow_job(predictor, decoded, prediction.point))


def store_click(store: FeedbackStore | None, click: Click, *, tester: str,
                source: str, image_name: str | None = None,
                labels: Mapping[str, str | None] | None = None) -> RecordedPrediction:
    """Store a predicted click as ok / degraded (or its error as failed, then raise it);
    `labels` (checked by the caller) are stored with it, in the same transaction."""
    if click.error is not None or click.prediction is None:
        if store is not None:
            store.record_failure(tester=tester, source=source, error=str(click.error),
                                 image=click.image, point=click.point)
        raise click.error or PinpointError("no prediction")
    if store is None:
        return RecordedPrediction(None, click.prediction, click.crops, click.faulty)
    prediction_id = store.record_prediction(
        click.prediction, tester=tester, source=source,
        status="degraded" if click.faulty else "ok",
        crops_png={name: png_bytes(crop) for name, crop in click.crops.items()},
        parallel=click.parallel, image_name=image_name, labels=labels)
    if click.shadow is not None:  # queued after the answer is stored; the click never waits
        with suppress(Exception):  # a shadow must never fail the click
            click.shadow(store, prediction_id)
    return RecordedPrediction(prediction_id, click.prediction, click.crops, click.faulty)


def record_timeout(store: FeedbackStore, *, tester: str, source: str, error: str) -> int:
    """Store a prediction that missed its deadline: counted, never scored."""
    return store.record_failure(tester=tester, source=source, status="timeout", error=error)


def record_unanswered(store: FeedbackStore, decoded: DecodedImage, point: tuple[float, float],
                      *, tester: str, source: str = "app") -> int:
    """Store a click the prediction service did not answer, as "degraded" (never scored)."""
    row = {"predictions": {}, "image": decoded.describe(), "point": {"x": point[0], "y": point[1]}}
    return store.record_prediction(row, tester=tester, source=source, status="degraded")


def check_labels(predictor: Predictor | ServedModels, store: FeedbackStore, prediction_id: int,
                 chosen: Mapping[str, str | None]) -> None:
    """Raise UnknownPrediction or UnknownLabel unless every label fits that prediction."""
    answered = store.models_of(prediction_id)
    if not answered:
        raise UnknownPrediction(f"no prediction {prediction_id}")
    known = {spec.name: spec.labels for spec in predictor.specs}
    for model, label in chosen.items():
        if model not in answered:
            raise UnknownLabel(f"prediction {prediction_id} has no answer from model {model!r}")
        if label is not None and model in known and label not in known[model]:
            raise UnknownLabel(f"{label!r} is not one of model {model!r}'s labels")


def record_labels(predictor: Predictor, store: FeedbackStore, prediction_id: int,
                  chosen: Mapping[str, str | None], *, tester: str) -> None:
    """Check the tester's labels against the prediction and the models, then store them."""
    check_labels(predictor, store, prediction_id, chosen)
    store.record_labels(prediction_id, chosen, tester=tester)


def edit_label(models: Predictor | ServedModels, store: FeedbackStore, prediction_id: int,
               model: str, label: str | None, *, tester: str) -> None:
    """Replace the tester's own label of one model's answer (None = none of these), checked
    against the served models' labels as a new label is; the replaced one stays in the
    history. Raises NotYourLabel."""
    check_labels(models, store, prediction_id, {model: label})
    store.edit_label(prediction_id, model, label, tester=tester)


def _given_point(point: tuple[object, object]) -> dict[str, float]:
    given = {"x": _maybe_float(point[0]), "y": _maybe_float(point[1])}
    return {axis: value for axis, value in given.items() if value is not None}


def _maybe_float(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e300 else None
