"""What a prediction answers: per model, its top-k labels, crop box and timings.

The Predictor makes them, the store keeps them, the service shows them: kept apart (needing
only crop.Box) so the store reads an answer without importing the Predictor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .crop import Box


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
