"""The Predictor: models loaded once, one crop per model around a point, top-k labels."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from .crop import Box, check_point, crop_box, crop_pixels
from .images import DecodedImage, ImageLimits, ImageSource, decode_image
from .manifest import ModelSpec, load_manifest


@dataclass(frozen=True)
class LabelScore:
    """One label and its probability."""

    label: str
    score: float


@dataclass(frozen=True)
class Prediction:
    """Per model: top-k labels, crop box and timings, for one point on one image."""

    predictions: dict[str, list[LabelScore]]
    crops: dict[str, Box]
    timings_ms: dict[str, float]
    models: dict[str, dict[str, object]]
    image: dict[str, object]
    point: tuple[float, float]
    extra: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """Return the stable JSON shape shared by the CLI, the API and the store."""
        return {
            "predictions": {
                name: [{"label": s.label, "score": round(s.score, 6)} for s in scores]
                for name, scores in self.predictions.items()
            },
            "crops": {name: box.to_dict() for name, box in self.crops.items()},
            "timings_ms": {stage: round(ms, 3) for stage, ms in self.timings_ms.items()},
            "models": self.models,
            "image": self.image,
            "point": {"x": self.point[0], "y": self.point[1]},
            **self.extra,
        }


class Predictor:
    """Serve every model of a manifest; safe to call from many threads once built."""

    def __init__(self, models: list, limits: ImageLimits = ImageLimits(), parallel: bool = False):
        self.models = list(models)
        self.limits = limits
        self.parallel = parallel
        self._crop_needs = crop_needs(self.specs)
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.models)))

    @classmethod
    def from_manifest(
        cls,
        path: str | os.PathLike | None = None,
        *,
        limits: ImageLimits = ImageLimits(),
        parallel: bool = False,
    ) -> Predictor:
        """Load and warm up every model the manifest names (see manifest.manifest_path)."""
        return cls.from_specs(load_manifest(path), limits=limits, parallel=parallel)

    @classmethod
    def from_specs(
        cls,
        specs: list[ModelSpec],
        *,
        limits: ImageLimits = ImageLimits(),
        parallel: bool = False,
    ) -> Predictor:
        """Load and warm up the given models."""
        from .models import load_model  # TensorFlow is imported only when models are needed

        return cls([load_model(spec) for spec in specs], limits, parallel)

    @property
    def specs(self) -> list[ModelSpec]:
        return [m.spec for m in self.models]

    def describe(self) -> dict[str, dict[str, object]]:
        """Return each model's manifest facts plus its load and warm-up times."""
        return {
            m.spec.name: {
                **m.spec.describe(),
                "load_ms": round(m.load_ms, 1),
                "warmup_ms": round(m.warmup_ms, 1),
            }
            for m in self.models
        }

    def decode(self, source: ImageSource) -> DecodedImage:
        """Check and decode an image once, at the smallest scale every model can use."""
        return decode_image(source, self.limits, self._crop_needs)

    def predict(
        self,
        source: ImageSource | DecodedImage,
        x: object,
        y: object,
        *,
        top_k: int = 5,
        parallel: bool | None = None,
        include_decode: bool | None = None,
    ) -> Prediction:
        """Run every model on its own crop around (x, y), in original image pixels.

        The decode time counts in the timings when the image is decoded here, or when
        `include_decode` says so (a caller that decoded it first for this prediction).
        """
        started = time.perf_counter()
        fresh = not isinstance(source, DecodedImage)
        decoded = self.decode(source) if fresh else source
        decode_ms = decoded.decode_ms if (fresh if include_decode is None else include_decode) else 0.0
        point = check_point(x, y, decoded.size)
        in_parallel = self.parallel if parallel is None else parallel
        if in_parallel and len(self.models) > 1:
            futures = [self._pool.submit(self._run_one, m, decoded, point) for m in self.models]
            results = [f.result() for f in futures]
        else:
            results = [self._run_one(m, decoded, point) for m in self.models]
        timings = {"decode": decode_ms, "crop": 0.0}
        predictions, crops = {}, {}
        for model, (box, probs, crop_ms, model_ms) in zip(self.models, results):
            predictions[model.spec.name] = _top_k(probs, model.spec.labels, top_k)
            crops[model.spec.name] = box
            timings["crop"] += crop_ms
            timings[f"model:{model.spec.name}"] = model_ms
        timings["total"] = (time.perf_counter() - started) * 1e3 + (0.0 if fresh else decode_ms)
        image = {"width": decoded.width, "height": decoded.height, "format": decoded.format,
                 "sha256": decoded.sha256, "bytes": decoded.n_bytes}
        models = {m.spec.name: {"version": m.spec.version, "format": m.spec.format}
                  for m in self.models}
        return Prediction(predictions, crops, timings, models, image, point)

    def close(self) -> None:
        """Stop the worker threads used for parallel runs."""
        self._pool.shutdown(wait=False)

    @staticmethod
    def _run_one(model, decoded: DecodedImage, point: tuple[float, float]):
        spec = model.spec
        t0 = time.perf_counter()
        box = crop_box(decoded.size, point, spec.crop_fraction)
        pixels = crop_pixels(decoded.image, box, decoded.scale, spec.input_size)
        batch = pixels[None].astype(np.float32) * np.float32(spec.scale) + np.float32(spec.offset)
        t1 = time.perf_counter()
        probs = model.probabilities(batch)[0]
        t2 = time.perf_counter()
        return box, probs, (t1 - t0) * 1e3, (t2 - t1) * 1e3


def crop_needs(specs: list[ModelSpec]) -> list[tuple[float, int]]:
    """Return (crop fraction, input size) per model: what decoding must preserve."""
    return [(spec.crop_fraction, spec.input_size) for spec in specs]


def _top_k(probs: np.ndarray, labels: tuple[str, ...], k: int) -> list[LabelScore]:
    order = np.argsort(-probs, kind="stable")[: max(1, min(k, len(labels)))]
    return [LabelScore(labels[i], float(probs[i])) for i in order]
