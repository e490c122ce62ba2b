"""Measure a trained model through the core (accuracy, latency per format) and write its card."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from predictor.manifest import ModelSpec, read_labels
from predictor.store.accuracy import Answer, summarize

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
    sizes = {fmt: (folder / name).stat().st_size for fmt, name in FORMATS.items()}
    extra = {}
    if len(arrays.get("y_photo_val", ())):
        extra["photo_validation"] = score(loaded[fastest], arrays["x_photo_val"],
                                          arrays["y_photo_val"])
    return {
        "model": recipe.name,
        "version": recipe.version,
        **extra,
        "validation": score(loaded[fastest], arrays["x_val"], arrays["y_val"]),
        "latency_ms_median": latency,
        "served": {"format": fastest, "file": FORMATS[fastest]},
        "file_bytes": sizes,
    }


def score(loaded, x: np.ndarray, y: np.ndarray) -> dict:
    """Top-1/top-5 summary of a loaded model on uint8 crops x with label indices y."""
    labels = loaded.spec.labels
    answers = []
    for start in range(0, len(y), 256):
        batch = x[start : start + 256].astype(np.float32) / 255.0
        probs = loaded.probabilities(batch)
        for row, truth in zip(probs, y[start : start + 256], strict=True):
            answers.append(
                Answer(labels[truth], [labels[i] for i in np.argsort(-row, kind="stable")[:5]])
            )
    return summarize(answers, k=5)


PHOTO_SETS = {
    "photos": ("photos/eval_points.csv", "evaluation set: photos no model learned from"),
    "photo_tuning": ("photos/tuning_points.csv",
                     "tuning set: held-out training-pool photos, labeled by the trainer"),
}


def photo_figures(spec: ModelSpec, root: Path) -> dict:
    """Score one model version on the labeled photo sets that exist, as `evaluate` does.

    The other models the committed manifest serves are loaded beside it, as in `evaluate`,
    since the scale an image is decoded at depends on every loaded model's crop.
    """
    from predictor import Predictor, load_manifest
    from predictor.learning.evaluate import evaluate_csv

    out = {}
    manifest = root / "models" / "manifest.toml"
    served = load_manifest(manifest) if manifest.exists() else []
    beside = [s for s in served if s.name != spec.name]
    predictor = Predictor.from_specs([spec, *beside])
    try:
        for key, (relative, _what) in PHOTO_SETS.items():
            path = root / relative
            if path.exists():
                result = evaluate_csv(predictor, path)
                scored = result["models"].get(spec.name)
                if scored and scored.get("n"):
                    out[key] = {"file": relative, **_strip(scored)}
                    if spec.name in result["heuristic"]:
                        out[key]["heuristic"] = _strip(result["heuristic"][spec.name])
    finally:
        predictor.close()
    return out


def _strip(scored: dict) -> dict:
    return {k: v for k, v in scored.items() if k not in ("confusion", "unknown_labels")}


def _photo_section(metrics: dict) -> str:
    parts = []
    for key, (_relative, what) in PHOTO_SETS.items():
        figures = metrics.get(key)
        if not figures:
            continue
        lenient = figures.get("top1_lenient")
        line = (
            f"- **{what}** (`{figures['file']}`, {figures['n']} points): top-1 "
            f"**{_pct(figures['top1'])}** strict"
            + (f", **{_pct(lenient)}** lenient (an acceptable near color counts)"
               if lenient is not None else "")
            + f", top-5 **{_pct(figures['top5'])}**."
        )
        heuristic = figures.get("heuristic")
        if heuristic:
            line += (
                f" Nearest-named-color heuristic on the same crops: top-1 "
                f"{_pct(heuristic['top1'])} strict"
                + (f", {_pct(heuristic['top1_lenient'])} lenient"
                   if heuristic.get("top1_lenient") is not None else "")
                + f", top-5 {_pct(heuristic['top5'])}."
            )
        parts.append(line)
    photos = metrics.get("photos")
    if photos and photos.get("per_class"):
        base = (photos.get("heuristic") or {}).get("per_class", {})
        rows = [
            f"| {label} | {c['n']} | {_pct(c['top1'])} | {_pct(c.get('top1_lenient'))} | "
            f"{_pct(c['top5'])} |"
            + (f" {_pct(base[label]['top1'])} | {_pct(base[label].get('top1_lenient'))} |"
               if label in base else "")
            for label, c in photos["per_class"].items()
        ]
        head = "| class | n | top-1 strict | top-1 lenient | top-5 |"
        rule = "|---|---|---|---|---|"
        if base:
            head += " heuristic top-1 | heuristic lenient |"
            rule += "---|---|"
        parts += ["", "Per class on the evaluation set:", "", head, rule, *rows]
    val = metrics.get("photo_validation")
    if val:
        parts.append(
            f"\nRecolored crops of the held-out training-pool photos (made like the training "
            f"crops): top-1 {_pct(val['top1'])}, top-5 {_pct(val['top5'])} on {val['n']} crops."
        )
    if not parts:
        return ""
    return "## Real-photo figures\nScored through the core with the served file, as " \
        "`python -m predictor evaluate` does.\n\n" + "\n".join(parts) + "\n\n"


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
left-right flips: {recipe.flip}. Seed {recipe.seed}, op determinism on. {_timing(metrics)}
Reproduce: {_reproduce(recipe)}.

{_photo_section(metrics)}## Validation figures (synthetic)
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


def _timing(metrics: dict) -> str:
    if metrics["training_seconds"] is None:
        return ("The run that made these\nweights stopped before it recorded its data and "
                "training times (see Known weaknesses).")
    return (f"Data generation took\n{metrics['data_seconds']} s, training "
            f"{metrics['training_seconds']} s on this machine's\n2 CPU cores (shared with "
            "other jobs while measured).")


def _reproduce(recipe) -> str:
    from .recipes import RECIPES

    if RECIPES.get(recipe.name) == recipe:
        return f"`make models` (or `python -m training {recipe.name}`)"
    return f"`python -m training {recipe.name} --version {recipe.version}`"
