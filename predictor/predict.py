"""The Predictor: models loaded once, one crop per model around a point, top-k labels."""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .crop import Box, check_point, crop_box, crop_pixels
from .errors import PinpointError
from .facts import ModelFacts, ServedModels
from .images import DecodedImage, ImageLimits, ImageSource, decode_image
from .manifest import ModelSpec, load_manifest, load_shadows
from .results import LabelScore, Prediction

if TYPE_CHECKING:  # importing models at run time would import TensorFlow
    from .models import LoadedModel

_log = logging.getLogger("pinpoint.predict")


@dataclass(frozen=True)
class _ModelRun:
    box: Box
    probabilities: np.ndarray
    crop_ms: float
    model_ms: float


class Predictor:
    """Serve every model of a manifest; safe to call from many threads once built."""

    def __init__(
        self,
        models: list[LoadedModel],
        limits: ImageLimits = ImageLimits(),
        parallel: bool = False,
        shadows: list[LoadedModel] | None = None,
    ):
        self.models = list(models)
        self.limits = limits
        self.parallel = parallel
        self.shadow_models = list(shadows or [])  # answered by learning.shadow, never here
        self._crop_needs = crop_needs(self.specs + [m.spec for m in shadows or []])
        self._pool = ThreadPoolExecutor(max_workers=max(1, len(self.models)))

    @classmethod
    def from_manifest(
        cls,
        path: str | os.PathLike | None = None,
        *,
        limits: ImageLimits = ImageLimits(),
        parallel: bool = False,
        copies: int | None = None,
    ) -> Predictor:
        """Load and warm up every model the manifest serves, and its shadow versions.

        A shadow version that fails to load is left out (logged): it must not stop serving.
        """
        return cls.from_specs(load_manifest(path), limits=limits, parallel=parallel,
                              copies=copies, shadows=load_shadows(path))

    @classmethod
    def from_specs(
        cls,
        specs: list[ModelSpec],
        *,
        limits: ImageLimits = ImageLimits(),
        parallel: bool = False,
        copies: int | None = None,
        shadows: list[ModelSpec] | None = None,
    ) -> Predictor:
        """Load and warm up the given models (`copies`: see models.load_model), and shadows."""
        from .models import load_model  # TensorFlow is imported only when models are needed

        return cls([load_model(spec, copies) for spec in specs], limits, parallel,
                   _load_shadows(shadows or []))

    @property
    def specs(self) -> list[ModelSpec]:
        return [m.spec for m in self.models]

    @property
    def facts(self) -> ServedModels:
        """What a page needs to know about these models (what a remote service also gives)."""
        return ServedModels(tuple(ModelFacts.from_spec(m.spec, round(m.load_ms, 1),
                                                       round(m.warmup_ms, 1))
                                  for m in self.models), self.limits)

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

    def decode(self, source: ImageSource, wait_s: float | None = 30.0) -> DecodedImage:
        """Check and decode an image once, at the smallest scale every model can use.

        Past the budget of pixels decoded at once, wait up to `wait_s` s, then raise DecodeBusy.
        """
        return decode_image(source, self.limits, self._crop_needs, wait_s)

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
        decoded = source if isinstance(source, DecodedImage) else self.decode(source)
        counted = fresh if include_decode is None else include_decode
        point = check_point(x, y, decoded.size)
        runs = self._run_all(decoded, point, self.parallel if parallel is None else parallel)
        timings = {"decode": decoded.decode_ms if counted else 0.0}
        timings["crop"] = sum(run.crop_ms for run in runs)
        timings.update(
            {f"model:{m.spec.name}": r.model_ms for m, r in zip(self.models, runs, strict=True)}
        )
        elapsed = (time.perf_counter() - started) * 1e3
        timings["total"] = elapsed + (timings["decode"] if not fresh else 0.0)
        return Prediction(
            predictions={
                m.spec.name: _top_k(r.probabilities, m.spec.labels, top_k)
                for m, r in zip(self.models, runs, strict=True)
            },
            crops={m.spec.name: r.box for m, r in zip(self.models, runs, strict=True)},
            timings_ms=timings,
            models={
                m.spec.name: {"version": m.spec.version, "format": m.spec.format}
                for m in self.models
            },
            image=decoded.describe(),
            point=point,
        )

    def close(self) -> None:
        """Stop the worker threads used for parallel runs."""
        self._pool.shutdown(wait=False)

    def _run_all(
        self, decoded: DecodedImage, point: tuple[float, float], parallel: bool
    ) -> list[_ModelRun]:
        if parallel and len(self.models) > 1:
            futures = [self._pool.submit(_run_one, m, decoded, point) for m in self.models]
            return [future.result() for future in futures]
        return [_run_one(m, decoded, point) for m in self.models]


def crop_needs(specs: list[ModelSpec]) -> list[tuple[float, int]]:
    """Return (crop fraction, input size) per model: what decoding must preserve."""
    return [(spec.crop_fraction, spec.input_size) for spec in specs]


def _run_one(model: LoadedModel, decoded: DecodedImage, point: tuple[float, float]) -> _ModelRun:
    spec = model.spec
    started = time.perf_counter()
    box = crop_box(decoded.size, point, spec.crop_fraction)
    pixels = crop_pixels(decoded.image, box, decoded.scale, spec.input_size)
    batch = pixels[None].astype(np.float32) * np.float32(spec.scale) + np.float32(spec.offset)
    cropped = time.perf_counter()
    probabilities = model.probabilities(batch)[0]
    done = time.perf_counter()
    return _ModelRun(box, probabilities, (cropped - started) * 1e3, (done - cropped) * 1e3)


def answer_one(model: LoadedModel, decoded: DecodedImage, point: tuple[float, float],
               top_k: int = 5) -> dict[str, object]:
    """One model's top-k at a checked point: {"ranked": [{"label", "score"}], "model_ms"}."""
    run = _run_one(model, decoded, point)
    ranked = _top_k(run.probabilities, model.spec.labels, top_k)
    return {"ranked": [{"label": s.label, "score": round(s.score, 6)} for s in ranked],
            "model_ms": round(run.model_ms, 3)}


def _load_shadows(specs: list[ModelSpec]) -> list[LoadedModel]:
    from .models import load_model

    loaded = []
    for spec in specs:
        try:
            loaded.append(load_model(spec, copies=1))
        except PinpointError as exc:
            _log.warning("shadow %s %s not loaded: %s", spec.name, spec.version, exc)
    return loaded


def _top_k(probabilities: np.ndarray, labels: tuple[str, ...], k: int) -> list[LabelScore]:
    order = np.argsort(-probabilities, kind="stable")[: max(1, min(k, len(labels)))]
    return [LabelScore(labels[i], float(probabilities[i])) for i in order]
