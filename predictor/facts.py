"""What a page needs to know about the served models, without loading them.

A local `Predictor` gives its `ServedModels` directly (`Predictor.facts`); a remote service
gives the same from `GET /v1/models` (`ServedModels.from_json`), so the app in remote mode
decodes, crops and shows answers without TensorFlow or a model file on its machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .images import DecodedImage, ImageLimits, ImageSource, decode_image
from .manifest import ModelSpec


@dataclass(frozen=True)
class ModelFacts:
    """One served model: its name, version, labels and how its crop is cut."""

    name: str
    version: str
    labels: tuple[str, ...]
    input_size: int
    crop_fraction: float
    format: str = ""
    file: str = ""
    load_ms: float | None = None
    warmup_ms: float | None = None

    @classmethod
    def from_spec(cls, spec: ModelSpec, load_ms: float | None = None,
                  warmup_ms: float | None = None) -> ModelFacts:
        """The facts of a manifest entry (and, once loaded, its load and warm-up times)."""
        return cls(spec.name, spec.version, spec.labels, spec.input_size, spec.crop_fraction,
                   spec.format, spec.path.name, load_ms, warmup_ms)

    def describe(self) -> dict[str, object]:
        """Return the same facts as `Predictor.describe()` gives for one model."""
        return {"format": self.format, "version": self.version, "file": self.file,
                "labels": len(self.labels), "input_size": self.input_size,
                "crop_fraction": self.crop_fraction, "load_ms": self.load_ms,
                "warmup_ms": self.warmup_ms}


@dataclass(frozen=True)
class ServedModels:
    """Every served model's facts, in manifest order, and the image limits that apply."""

    specs: tuple[ModelFacts, ...]
    limits: ImageLimits = field(default_factory=ImageLimits)
    where: str = "this process"  # or the service's URL

    @classmethod
    def from_json(cls, data: Mapping[str, Any], limits: ImageLimits,
                  where: str) -> ServedModels:
        """Build from a `GET /v1/models` answer; the stricter of `limits` and the service's own
        (when it says) applies, so an image the service would refuse is refused here first."""
        specs = tuple(_facts(name, entry) for name, entry in data["models"].items())
        theirs = data.get("limits") or {}
        return cls(specs, ImageLimits(
            min(limits.max_bytes, int(theirs.get("max_bytes", limits.max_bytes))),
            min(limits.max_pixels, int(theirs.get("max_pixels", limits.max_pixels)))), where)

    def describe(self) -> dict[str, dict[str, object]]:
        """Return each model's facts by name, like `Predictor.describe()`."""
        return {spec.name: spec.describe() for spec in self.specs}

    def decode(self, source: ImageSource, wait_s: float | None = 30.0) -> DecodedImage:
        """Check and decode an image at the smallest scale every model's crop can use."""
        return decode_image(source, self.limits, self.crop_needs(), wait_s)

    def crop_needs(self) -> list[tuple[float, int]]:
        """(crop fraction, input size) per model: what decoding must preserve."""
        return [(spec.crop_fraction, spec.input_size) for spec in self.specs]


def _facts(name: str, entry: Mapping[str, Any]) -> ModelFacts:
    def number(key: str) -> float | None:
        return None if entry.get(key) is None else float(entry[key])

    return ModelFacts(name=name, version=str(entry["version"]),
                      labels=tuple(str(label) for label in entry["label_names"]),
                      input_size=int(entry["input_size"]),
                      crop_fraction=float(entry["crop_fraction"]),
                      format=str(entry.get("format", "")), file=str(entry.get("file", "")),
                      load_ms=number("load_ms"), warmup_ms=number("warmup_ms"))
