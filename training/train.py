"""Train, export, measure and document one default model; write the manifest for all of them."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import data
from .recipes import ACTIVE, HISTORY, RECIPES, ROOT, Recipe, version_key


def smoke(recipe: Recipe) -> Recipe:
    """The CI version: one short epoch on a few hundred crops."""
    return replace(
        recipe,
        n_train=12,
        n_val=4,
        epochs=1,
        batch=32,
        emoji_limit=6,
        photo_train=min(recipe.photo_train, 6),
        photo_val=min(recipe.photo_val, 2),
        photo_eval=False,
    )


def model_folder(out_root: Path, name: str, version: str) -> Path:
    """Where one version of one model lives: models/<name>/<version>/."""
    return out_root / name / version


def build_data(recipe: Recipe, workers: int) -> dict[str, Any]:
    """Generate the recipe's arrays (call before TensorFlow is imported when workers > 1)."""
    started = time.perf_counter()
    arrays: dict[str, Any] = data.build(
        recipe.name,
        recipe.n_train,
        recipe.n_val,
        recipe.seed,
        recipe.crop_fraction,
        recipe.input_size,
        workers,
        recipe.emoji_limit,
        recipe.photo_train,
        recipe.photo_val,
    )
    arrays["seconds"] = time.perf_counter() - started
    return arrays


def fit(recipe: Recipe, arrays: dict, verbose: int = 1):
    """Train the network deterministically on the arrays; return the Keras model."""
    import keras
    import tensorflow as tf

    from .net import build

    keras.utils.set_random_seed(recipe.seed)
    tf.config.experimental.enable_op_determinism()
    model = build(
        len(_labels(recipe)), recipe.input_size, recipe.width, recipe.head, recipe.dropout
    )
    if recipe.init_from:
        start = model_folder(ROOT / "models", recipe.name, recipe.init_from) / "model.keras"
        model.set_weights(keras.saving.load_model(start, compile=False).get_weights())
    steps = math.ceil(len(arrays["y_train"]) / recipe.batch) * recipe.epochs
    schedule = keras.optimizers.schedules.CosineDecay(recipe.lr, steps, alpha=0.02)
    model.compile(
        keras.optimizers.AdamW(schedule, weight_decay=recipe.weight_decay),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(
        _dataset(recipe, arrays["x_train"], arrays["y_train"], True),
        epochs=recipe.epochs,
        validation_data=_dataset(recipe, arrays["x_val"], arrays["y_val"], False),
        verbose=verbose,
    )
    return model


def _dataset(recipe: Recipe, x: np.ndarray, y: np.ndarray, train: bool):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if train:
        ds = ds.shuffle(len(y), seed=recipe.seed, reshuffle_each_iteration=True)
    ds = ds.batch(recipe.batch)

    def prepare(images, labels):
        images = tf.cast(images, tf.float32) / 255.0
        if train and recipe.flip:
            images = tf.image.random_flip_left_right(images, seed=recipe.seed)
        return images, labels

    return ds.map(prepare).prefetch(2)


def train(recipe: Recipe, arrays: dict, out_root: Path, verbose: int = 1) -> dict:
    """Fit, export, measure on validation through the core, write metrics.json and the card."""
    from .export import export_tflite

    folder = model_folder(out_root, recipe.name, recipe.version)
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model = fit(recipe, arrays, verbose)
    train_seconds = time.perf_counter() - started
    model.save(folder / "model.keras")
    export_tflite(model, folder / "model.tflite")
    return _document(
        recipe, arrays, out_root, int(model.count_params()),
        round(arrays["seconds"], 1), round(train_seconds, 1),
    )


def measure_saved(recipe: Recipe, arrays: dict, out_root: Path) -> dict:
    """Measure and document weights a run saved but did not measure (it stopped after saving).

    arrays hold the validation crops only (`validation_data`); that run's data and training
    times were not recorded, so metrics.json gives them as null.
    """
    import keras

    folder = model_folder(out_root, recipe.name, recipe.version)
    model = keras.saving.load_model(folder / "model.keras", compile=False)
    return _document(recipe, arrays, out_root, int(model.count_params()), None, None)


def validation_data(recipe: Recipe, workers: int) -> dict[str, Any]:
    """The recipe's validation arrays alone (same seeds as a full build), and its train size."""
    arrays = build_data(replace(recipe, n_train=0, photo_train=0), workers)
    arrays["train_crops"] = _train_crops(recipe)
    if recipe.photo_train or recipe.photo_val:
        from . import photo_data

        arrays["photo_facts"] = photo_data.facts(recipe.name)
    return arrays


def _train_crops(recipe: Recipe) -> int:
    n = recipe.n_train * len(_labels(recipe))
    if recipe.photo_train and recipe.name == "theme":
        from . import photo_data

        themes, pool = photo_data.photo_themes(), {p.name for p in photo_data.pool()}
        n += recipe.photo_train * len({t for name, t in themes.items() if name in pool})
    elif recipe.photo_train:
        n += recipe.photo_train * len(_labels(recipe))
    return n


def _document(recipe, arrays, out_root, params, data_seconds, training_seconds) -> dict:
    from .report import measure, photo_figures, spec_for, write_card

    folder = model_folder(out_root, recipe.name, recipe.version)
    metrics = measure(recipe, arrays, folder, out_root)
    if recipe.photo_eval:
        spec = spec_for(recipe, folder, metrics["served"]["format"])
        metrics.update(photo_figures(spec, ROOT))
    metrics.update(
        recipe=asdict(recipe),
        params=params,
        seed=recipe.seed,
        data_seconds=data_seconds,
        training_seconds=training_seconds,
        data=_data_facts(recipe, arrays),
    )
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    write_card(recipe, metrics, folder / "MODEL_CARD.md")
    write_manifest(out_root)
    return metrics


def refresh_cards(out_root: Path) -> list[Path]:
    """Re-score every version in out_root on the labeled photo sets; rewrite metrics and cards."""
    from .report import photo_figures, spec_for, write_card

    written = []
    for (name, version), recipe in HISTORY.items():
        folder = model_folder(out_root, name, version)
        if not (folder / "metrics.json").exists():
            continue
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
        metrics.update(photo_figures(spec_for(recipe, folder, metrics["served"]["format"]), ROOT))
        (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
        write_card(recipe, metrics, folder / "MODEL_CARD.md")
        written.append(folder)
    return written


def _data_facts(recipe: Recipe, arrays: dict) -> dict:
    train_crops = arrays["train_crops"] if "y_train" not in arrays else len(arrays["y_train"])
    facts: dict[str, Any] = {
        "train_crops": int(train_crops),
        "val_crops": int(len(arrays["y_val"])),
        "train_per_class": recipe.n_train,
        "val_per_class": recipe.n_val,
    }
    for key in ("photo_facts",):
        if key in arrays:
            facts.update(arrays[key])
    if recipe.name == "theme":
        train, val = data._theme_split(recipe.seed, data.VAL_SHARE, recipe.emoji_limit)
        facts.update(
            train_emoji=len(train),
            val_emoji=len(val),
            train_groups=len({e.group for e in train}),
            val_groups=len({e.group for e in val}),
            val_emoji_names=sorted({e.group for e in val}),
        )
    return facts


def _labels(recipe: Recipe) -> tuple[str, ...]:
    from predictor import read_labels

    return read_labels(recipe.labels_path)


# Real labeled points from the training pool that `retrain` replays (manifest training_data):
# the theme model's own photos and themes; for color, whose training crops are generated,
# the points labeled by eye on held-out training-pool photos. Never photos/eval_points.csv.
TRAINING_DATA = {"color": "photos/tuning_points.csv", "theme": "photos/train_theme_points.csv"}


def _training_data_line(name: str, out_root: Path) -> list[str]:
    import os

    path = Path(__file__).resolve().parent.parent / TRAINING_DATA.get(name, "-")
    if not path.is_file():
        return []
    return [f'training_data = "{Path(os.path.relpath(path, out_root.resolve())).as_posix()}"']


def write_manifest(out_root: Path) -> Path:
    """Write out_root/manifest.toml: every trained version found there, ACTIVE ones served.

    A model whose ACTIVE version is not in out_root serves its newest version instead.
    """
    import os

    lines = [
        "# Written by `python -m training`; each entry serves the format measured fastest.",
        '# One version per model is "active" (served); the others stay loadable for comparison.',
        "",
    ]
    for name, recipe in RECIPES.items():
        found = sorted(
            (p.parent.name for p in (out_root / name).glob("*/metrics.json")),
            key=version_key,
            reverse=True,
        )
        active = ACTIVE[name] if ACTIVE[name] in found else (found[0] if found else None)
        for version in sorted(found, key=lambda v: (v != active, [-x for x in version_key(v)])):
            metrics_path = model_folder(out_root, name, version) / "metrics.json"
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            served, used = metrics["served"], metrics["recipe"]
            labels = os.path.relpath(recipe.labels_path, out_root.resolve())
            lines += [
                "[[model]]",
                f'name = "{name}"',
                f'version = "{used["version"]}"',
                f'status = "{"active" if version == active else "retired"}"',
                f'file = "{name}/{version}/{served["file"]}"',
                f'format = "{served["format"]}"',
                *([f'head = "{name}/{version}/{served["head"]}"'] if "head" in served else []),
                f'labels = "{labels}"',
                f"input_size = {used['input_size']}",
                f"crop_fraction = {used['crop_fraction']}",
                *([f'training_data = "{name}/{version}/{served["training_data"]}"']
                  if "training_data" in served else _training_data_line(name, out_root)),
                "",
            ]
    path = out_root / "manifest.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
