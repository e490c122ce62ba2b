"""A served model's card: the metrics.json and MODEL_CARD.md that training writes beside it."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass

from ..manifest import ModelSpec


@dataclass(frozen=True)
class ModelCard:
    """What training recorded about a model; either part may be missing."""

    metrics: dict | None
    markdown: str | None


def read_card(spec: ModelSpec) -> ModelCard:
    """Return the card found next to the model file (nothing found gives an empty card)."""
    folder = spec.path.parent
    metrics = markdown = None
    with suppress(OSError, ValueError):
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    with suppress(OSError):
        markdown = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    return ModelCard(metrics if isinstance(metrics, dict) else None, markdown)


def card_figures(card: ModelCard) -> dict[str, object]:
    """Return the headline validation figures of a card: n, top-1, top-5 (None when absent)."""
    validation = (card.metrics or {}).get("validation") or {}
    return {"validation n": validation.get("n"), "validation top-1": validation.get("top1"),
            "validation top-5": validation.get("top5")}
