"""Versions 3.x: a backbone pretrained on photographs, frozen, and a small head on its features.

The classic retrain script's way: the network that has seen many photos stays as it is; only
a new final layer learns the labels, from few labeled points. The feature extractor (backbone,
plus CIELAB statistics for color: color_features.py) is written once as TFLite; the head is a
softmax layer in `head.npz`, which `python -m predictor retrain` replaces in minutes.

Training points, by photo (photos/train/ only; the head's regularisation, and for some
recipes its class balance, are chosen on held-out photos or by cross-validation by photo;
photos/eval/ is never read here):
- color: the points labeled by eye on training photos (tuning_points.csv,
  train_color_points.csv, and from 3.1.0 train_color_points_2.csv), each cut a few times with
  the point shifted and the crop rescaled, plus photo_data's recolored crops of training
  photos for every label;
- theme: the points labeled by eye (train_theme_points.csv) and random points of the photos
  whose theme people agree on (train_themes.csv).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import photo_data
from .head_data import (
    cut,
    emoji_scenes,
    labeled_points,
    synthetic,
    themed_photo_points,
    with_alternatives,
    write_points,
)
from .head_recipes import BACKBONES, HEAD_RECIPES, HeadRecipe
from .recipes import ROOT

Say = Callable[[str], None]


# ---------------------------------------------------------------- the feature extractor


def extractor(recipe: HeadRecipe):  # noqa: ANN201 - a keras.Model
    """The frozen feature extractor: [0, 1] RGB crops -> backbone features (+ color statistics)."""
    import keras

    from .color_features import ColorStatistics, palettes

    size = recipe.input_size
    if recipe.backbone == "centernet":  # a TensorFlow graph, not a Keras model
        from . import centernet

        return centernet.Extractor(centernet.load(BACKBONES / "centernet"), size)
    backbone = _backbone_at(recipe.backbone, size)
    backbone.trainable = False
    pooled = [keras.layers.GlobalAveragePooling2D(name=f"avg_{tap}")(backbone.get_layer(tap).output)
              for tap in recipe.taps]
    tapped = keras.Model(backbone.input, pooled[0] if len(pooled) == 1 else
                         keras.layers.Concatenate(name="taps")(pooled), name=recipe.backbone)
    inputs = keras.Input((size, size, 3), name="crop")
    scaled = keras.layers.Rescaling(2.0, -1.0, name="to_symmetric")(inputs) if recipe.symmetric \
        else inputs
    parts = [tapped(scaled)]
    if recipe.color_statistics:
        rows, owners = palettes(recipe.labels)
        parts.append(ColorStatistics(rows, owners, len(recipe.labels), name="color_stats")(inputs))
    out = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="features")(parts)
    return keras.Model(inputs, out, name=f"{recipe.name}_features")


def _backbone_at(name: str, size: int):  # noqa: ANN202
    """The backbone's feature model, rebuilt for `size` px inputs (it is fully convolutional)."""
    import keras

    model = keras.saving.load_model(BACKBONES / name / "backbone.keras", compile=False)
    if tuple(model.input_shape[1:3]) in ((size, size), (None, None)):
        return model
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            layer["config"]["batch_shape"] = [None, size, size, 3]
    rebuilt = keras.Model.from_config(config)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def features_of(model, crops: np.ndarray, batch: int = 64) -> np.ndarray:  # noqa: ANN001
    """Run the extractor on uint8 crops, in batches; return float32 features."""
    out = [model(crops[i:i + batch].astype(np.float32) / 255.0, training=False).numpy()
           for i in range(0, len(crops), batch)]
    return np.concatenate(out).astype(np.float32)


# ---------------------------------------------------------------- the head


def fit_head(x: np.ndarray, y: np.ndarray, classes: int, l2: float, seed: int,
             epochs: int = 60, weights: np.ndarray | None = None, balance: float = 1.0,
             batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A softmax layer on standardised features; returns (weights, bias) on the raw features.

    `balance` is the power of the class weights: 1 weighs every label alike, 0 every row."""
    import keras

    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    keras.utils.set_random_seed(seed)
    head = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(
        classes, activation="softmax", kernel_regularizer=keras.regularizers.L2(l2))])
    head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    weights = _balanced(y, classes) ** balance * (1.0 if weights is None else weights)
    head.fit((x - mean) / std, y, sample_weight=weights, epochs=epochs, batch_size=batch,
             verbose=0, shuffle=True)
    w, b = head.layers[-1].get_weights()
    return w / std[:, None], b - (mean / std) @ w


def _balanced(y: np.ndarray, classes: int) -> np.ndarray:
    """Weight each class alike, whatever its number of points."""
    counts = np.bincount(y, minlength=classes).astype(np.float32)
    per_class = len(y) / (classes * np.maximum(counts, 1))
    return per_class[y]


def scores(weights: np.ndarray, bias: np.ndarray, x: np.ndarray, y: np.ndarray) -> dict:
    """Top-1 and top-5 of a head on features."""
    return ranked(x @ weights + bias, y)


def ranked(logits: np.ndarray, y: np.ndarray) -> dict:
    """Top-1 and top-5 of logits against labels."""
    order = np.argsort(-logits, axis=1)
    return {"top1": float(np.mean(order[:, 0] == y)),
            "top5": float(np.mean((order[:, :5] == y[:, None]).any(axis=1))), "n": int(len(y))}


# ---------------------------------------------------------------- building a version


def build(recipe: HeadRecipe, out_root: Path, say: Say = print) -> dict:
    """Train the head, choose its L2 on held-out training photos, write the version folder."""
    started = time.perf_counter()
    rng = np.random.default_rng(recipe.seed)
    model = extractor(recipe)
    train_photos, held_photos = photo_data.split(recipe.pool_photos)
    held = set() if recipe.l2_folds else set(held_photos)
    index = {label: i for i, label in enumerate(recipe.labels)}
    points = labeled_points(recipe) + (themed_photo_points(recipe, rng)
                                       if recipe.random_points else [])
    fit_points = [p for p in points if p.photo not in held]
    check_points = [p for p in points if p.photo in held]
    say(f"{recipe.name}: {len(fit_points)} training points, {len(check_points)} on held-out "
        f"photos; cutting crops")
    x_fit, kept = cut(fit_points, recipe, recipe.shifts, rng)
    y_fit = [p.label for p in kept]
    if recipe.synthetic_per_class:
        say(f"{recipe.name}: {recipe.synthetic_per_class} recolored crops per label")
        x_syn, y_syn = synthetic(recipe, train_photos, rng)
        x_fit, y_fit = np.concatenate([x_fit, x_syn]), y_fit + y_syn
    if recipe.emoji_per_class:
        say(f"{recipe.name}: {recipe.emoji_per_class} emoji scenes per theme")
        x_emo, y_emo = emoji_scenes(recipe)
        x_fit, y_fit = np.concatenate([x_fit, x_emo]), y_fit + y_emo
    x_check, kept_check = cut(check_points, recipe, 1, rng) if check_points else (None, [])
    say(f"{recipe.name}: features of {len(x_fit)} + {len(kept_check)} crops")
    f_fit = features_of(model, x_fit)
    y_fit_i = np.array([index[label] for label in y_fit])
    f_fit, y_fit_i, w_fit = with_alternatives(f_fit, y_fit_i, kept, recipe, index)
    # Each row's photo ("" for generated crops); a labeled crop's other names follow it.
    owner = [str(p.photo) for p in kept] + [""] * (len(x_fit) - len(kept)) + (
        [str(p.photo) for p in kept for _ in p.also] if recipe.also_weight else [])
    f_check = features_of(model, x_check) if x_check is not None else None
    y_check = np.array([index[p.label] for p in kept_check])
    prior = _prior(recipe, f_fit.shape[1])
    tried: dict[tuple[float, float, float], dict] = {}  # (L2, prior weight, class balance)
    for l2, balance in itertools.product(recipe.l2, recipe.balances):
        if recipe.l2_folds:
            for weight, figures in cross_validated(f_fit, y_fit_i, w_fit, owner, recipe, l2,
                                                   prior, balance).items():
                tried[(l2, weight, balance)] = figures
        else:
            w, b = fit_head(f_fit, y_fit_i, len(recipe.labels), l2, recipe.seed, weights=w_fit,
                            balance=balance, batch=recipe.batch)
            tried[(l2, 0.0, balance)] = scores(w, b, f_check, y_check) if f_check is not None \
                else {"top1": 0.0}
        say(f"{recipe.name}: L2 {_tried_key((l2, 0.0, balance), recipe, prior=False)}: "
            f"{'cross-validated' if recipe.l2_folds else 'held-out photos'} top-1 " + ", ".join(
                f"{tried[k]['top1']:.1%}" + (f" (prior {k[1]:g})" if prior is not None else "")
                for k in tried if k[0] == l2 and k[2] == balance))
    chosen, chosen_prior, chosen_balance = max(
        tried, key=lambda k: (tried[k]["top1"], tried[k].get("top5", 0), k[0], -k[1], k[2]))
    # The chosen head learns from every training photo, held-out ones included.
    f_all, y_all, w_all = f_fit, y_fit_i, w_fit
    if f_check is not None:
        f_more, y_more, w_more = with_alternatives(f_check, y_check, kept_check, recipe, index)
        f_all, y_all = np.concatenate([f_fit, f_more]), np.concatenate([y_fit_i, y_more])
        w_all = np.concatenate([w_fit, w_more])
    weights, bias = fit_head(f_all, y_all, len(recipe.labels), chosen, recipe.seed,
                             weights=w_all, balance=chosen_balance, batch=recipe.batch)
    saved = {"weights": weights.astype(np.float32), "bias": bias.astype(np.float32)}
    if prior is not None:  # the detector's votes, folded into the head: one softmax layer;
        fixed = (chosen_prior * prior).astype(np.float32)  # `fixed`: retrain leaves it be
        saved |= {"weights": saved["weights"] + fixed, "fixed": fixed}
    folder = out_root / recipe.name / recipe.version
    folder.mkdir(parents=True, exist_ok=True)
    export_features(model, folder / "features.tflite")
    np.savez(folder / "head.npz", **saved)
    facts = {"model": recipe.name, "version": recipe.version, "backbone": recipe.backbone,
             "input_size": recipe.input_size, "crop_fraction": recipe.crop_fraction,
             "features": int(f_fit.shape[1]), "fit_crops": int(len(f_fit)),
             "labeled_points": len(fit_points) + len(check_points),
             "held_out_points": len(check_points) if not recipe.l2_folds else len(kept),
             "l2_folds": recipe.l2_folds, "l2_tried": {_tried_key(k, recipe): v for k, v in
                                                                tried.items()},
             "l2": chosen, **({"prior_weight": chosen_prior} if prior is not None else {}),
             **({"balance": chosen_balance} if len(recipe.balances) > 1 else {}),
             "seconds": round(time.perf_counter() - started, 1)}
    write_points(folder / "training_points.csv", recipe.name, points)
    metrics = {"served": {"file": "features.tflite", "format": "tflite", "head": "head.npz",
                          "training_data": "training_points.csv"},
               "recipe": {"version": recipe.version, "input_size": recipe.input_size,
                          "crop_fraction": recipe.crop_fraction}, "training": facts}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    say(f"{recipe.name} {recipe.version}: written to {folder} ({facts['seconds']} s)")
    return facts


def cross_validated(f: np.ndarray, y: np.ndarray, w: np.ndarray, owner: list[str],
                    recipe: HeadRecipe, l2: float, prior: np.ndarray | None = None,
                    balance: float = 1.0) -> dict[float, dict]:
    """Top-1/top-5, by photo, per prior weight: heads trained without one fold of the photos,
    scored on it (with `prior`, the detector's votes, added at each of the recipe's prior
    weights; 0 without one).

    `owner` names each row's photo ("" for generated crops: always trained on, never scored);
    a photo's rows are all in its fold. Lighter rows (a point's other honest names) train but
    are not scored: a point counts once, under its label."""
    owners = np.array(owner, dtype=object)
    names = sorted(set(owner) - {""})
    np.random.default_rng(recipe.seed).shuffle(names)
    logits, votes, truth = [], [], []
    for k in range(recipe.l2_folds):
        held = np.isin(owners, names[k::recipe.l2_folds])
        wk, bk = fit_head(f[~held], y[~held], len(recipe.labels), l2, recipe.seed, epochs=30,
                          weights=w[~held], balance=balance, batch=recipe.batch)
        scored = held & (w >= 1.0)
        logits.append(f[scored] @ wk + bk)
        votes.append(f[scored] @ prior if prior is not None else np.zeros_like(logits[-1]))
        truth.append(y[scored])
    z, v, t = (np.concatenate(part) for part in (logits, votes, truth))
    return {weight: ranked(z + weight * v, t)
            for weight in (recipe.prior_weights if prior is not None else (0.0,))}


def _prior(recipe: HeadRecipe, features: int) -> np.ndarray | None:
    """(features, labels): the detector's class maxima voting for their themes (coco_themes)."""
    if not recipe.prior_weights:
        return None
    from . import centernet, coco_themes

    matrix = np.zeros((features, len(recipe.labels)), np.float32)
    matrix[centernet.CLASS_MAXIMA] = coco_themes.prior(recipe.labels)
    return matrix


def _tried_key(key: tuple[float, float, float], recipe: HeadRecipe, prior: bool = True) -> str:
    """"L2[, prior P][, balance B]": the prior only where the recipe has one, the balance only
    where it tries more than one."""
    return (f"{key[0]:g}" + (f", prior {key[1]:g}" if prior and recipe.prior_weights else "")
            + (f", balance {key[2]:g}" if len(recipe.balances) > 1 else ""))


def export_features(model, path: Path) -> Path:  # noqa: ANN001
    """Write the extractor as TFLite with float16 weights (half the size; computed in float32)."""
    import contextlib
    import io

    import tensorflow as tf

    if hasattr(model, "tflite"):  # centernet.Extractor
        with contextlib.redirect_stdout(io.StringIO()):
            path.write_bytes(model.tflite())
        return path
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    with contextlib.redirect_stdout(io.StringIO()):
        path.write_bytes(converter.convert())
    return path


def main(argv: list[str] | None = None) -> int:
    """`python -m training.heads color|theme|all|cards [--out DIR]`: the served head versions."""
    import argparse

    from .train import write_manifest

    parser = argparse.ArgumentParser(prog="python -m training.heads", description=__doc__)
    parser.add_argument("model", choices=[*HEAD_RECIPES, "all", "cards"],
                        help="a model, all, or cards: re-measure the built ones, rewrite cards")
    parser.add_argument("--out", type=Path, default=ROOT / "models",
                        help="models folder (default: models/)")
    args = parser.parse_args(argv)
    names = list(HEAD_RECIPES) if args.model in ("all", "cards") else [args.model]
    from .head_cards import write_card

    if args.model == "cards":
        for name in names:
            print(f"wrote {write_card(HEAD_RECIPES[name], args.out / 'manifest.toml')}")
        return 0

    for name in names:
        facts = build(HEAD_RECIPES[name], args.out, say=lambda line: print(line, flush=True))
        print(json.dumps({k: facts[k] for k in ("model", "version", "l2", "seconds")}))
    manifest = write_manifest(args.out)
    print(f"wrote {manifest}")
    for name in names:
        print(f"wrote {write_card(HEAD_RECIPES[name], manifest)}")
    return 0


if __name__ == "__main__":
    import os
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.exit(main())
