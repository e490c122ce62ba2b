"""Measure a trained model through the core (accuracy, latency per format) and write its card."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from predictor.accuracy import Answer, summarize
from predictor.manifest import ModelSpec, read_labels

FORMATS = {"tflite": "model.tflite", "keras": "model.keras"}


def spec_for(recipe, folder: Path, fmt: str) -> ModelSpec:
    """Return the ModelSpec the core would build for this model file."""
    return ModelSpec(
        name=recipe.name,
        path=folder / FORMATS[fmt],
        format=fmt,
        labels=read_labels(recipe.labels_path),
        labels_path=recipe.labels_path,
        version=recipe.version,
        input_size=recipe.input_size,
        scale=1 / 255,
        offset=0.0,
        crop_fraction=recipe.crop_fraction,
    )


def latency_ms(loaded, input_size: int, calls: int = 200) -> float:
    """Median milliseconds of one single-image call, after the core's warm-up."""
    rng = np.random.default_rng(0)
    batch = rng.random((1, input_size, input_size, 3), dtype=np.float32)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        loaded.probabilities(batch)
        times.append((time.perf_counter() - started) * 1e3)
    return float(np.median(times))


def measure(recipe, arrays: dict, folder: Path, out_root: Path) -> dict:
    """Time each format through the core, serve the fastest, score validation with it."""
    from predictor.models import load_model

    loaded = {fmt: load_model(spec_for(recipe, folder, fmt)) for fmt in FORMATS}
    latency = {fmt: round(latency_ms(model, recipe.input_size), 3) for fmt, model in loaded.items()}
    fastest = min(latency, key=lambda fmt: latency[fmt])
    labels = loaded[fastest].spec.labels
    answers = []
    for start in range(0, len(arrays["y_val"]), 256):
        batch = arrays["x_val"][start : start + 256].astype(np.float32) / 255.0
        probs = loaded[fastest].probabilities(batch)
        for row, truth in zip(probs, arrays["y_val"][start : start + 256], strict=True):
            answers.append(
                Answer(labels[truth], [labels[i] for i in np.argsort(-row, kind="stable")[:5]])
            )
    sizes = {fmt: (folder / name).stat().st_size for fmt, name in FORMATS.items()}
    return {
        "model": recipe.name,
        "version": recipe.version,
        "validation": summarize(answers, k=5),
        "latency_ms_median": latency,
        "served": {"format": fastest, "file": FORMATS[fastest]},
        "file_bytes": sizes,
    }


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def write_card(recipe, metrics: dict, path: Path) -> None:
    """Write MODEL_CARD.md: data, recipe, figures, confusions and weaknesses, from metrics.json."""
    from .cards import DATA, WEAKNESSES

    val = metrics["validation"]
    rows = [
        f"| {label} | {c['n']} | {_pct(c['top1'])} | {_pct(c['top5'])} |"
        for label, c in val["per_class"].items()
    ]
    pairs = [f"- {p['truth']} → {p['predicted']}: {p['count']}" for p in val["confused_pairs"][:8]]
    lat = ", ".join(f"{fmt} {ms:.2f} ms" for fmt, ms in metrics["latency_ms_median"].items())
    text = f"""# Model card: `{recipe.name}` {recipe.version}

## Data
{DATA[(recipe.name, recipe.version)]}

Sizes: {metrics["data"]["train_crops"]} training crops, {metrics["data"]["val_crops"]}
validation crops.
{_emoji_line(metrics["data"])}
## Recipe
Depthwise-separable CNN (`training/net.py`, width {recipe.width}, head `{recipe.head}`,
{metrics["params"]:,} parameters), input {recipe.input_size} px, crop fraction
{recipe.crop_fraction},
AdamW (weight decay {recipe.weight_decay}, i.e. plain Adam at 0) with cosine decay from
{recipe.lr}, dropout {recipe.dropout}, batch {recipe.batch}, {recipe.epochs} epochs,
left-right flips: {recipe.flip}. Seed {recipe.seed}, op determinism on. Data generation took
{metrics["data_seconds"]} s, training {metrics["training_seconds"]} s on this machine's
2 CPU cores (shared with other jobs while measured).
Reproduce: `make models` (or `python -m training {recipe.name}`).

## Validation figures
Scored with the served `{metrics["served"]["format"]}` file through `predictor.models`.
Top-1 **{_pct(val["top1"])}**, top-5 **{_pct(val["top5"])}** on {val["n"]} crops.
Median single-image latency through the core: {lat}; the manifest serves
`{metrics["served"]["file"]}`.

| class | n | top-1 | top-5 |
|---|---|---|---|
{chr(10).join(rows)}

Most confused pairs (truth → predicted: count):
{chr(10).join(pairs) or "- none"}

## Known weaknesses
{WEAKNESSES[(recipe.name, recipe.version)]}
"""
    path.write_text(text, encoding="utf-8")


def _emoji_line(facts: dict) -> str:
    if "train_emoji" not in facts:
        return ""
    return (
        f"Emoji: {facts['train_emoji']} for training ({facts['train_groups']} groups), "
        f"{facts['val_emoji']} held out for validation ({facts['val_groups']} groups); "
        "no group is in both.\n"
    )
