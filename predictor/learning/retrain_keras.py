"""The two ways retrain trains: fine-tune a Keras model, or fit a new head on frozen features.

Each takes the active spec, the labels' training points, points of the model's own training
data to replay, the new version's folder and the options, and returns the new manifest entry
(paths relative to the manifest's folder) and details.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path

import numpy as np

from ..manifest import ModelSpec
from ..models import feature_runner, tensorflow
from .labeled_crops import LabeledCrop, RetrainOptions, augmented, inputs, split_by_image

Say = Callable[[float, str], None]


def fine_tune(base: ModelSpec, train: list[LabeledCrop], replay: list[LabeledCrop],
              folder: Path, options: RetrainOptions, say: Say) -> tuple[dict, dict]:
    """Fine-tune the last layer and, separately, all layers; keep whichever measures better."""
    tf = tensorflow()
    import keras

    keras_file = base.path if base.format == "keras" else base.path.parent / "model.keras"
    fit, check = split_by_image(train + replay, 0.2, options.seed + 1)
    x_fit, y_fit = _arrays(base, augmented(fit, options.augment, _rng(options)))
    x_check, y_check = _arrays(base, check)
    tried = {}
    for step, mode in enumerate(("last", "all")):
        keras.utils.set_random_seed(options.seed)
        model = keras.saving.load_model(keras_file, compile=False)
        for layer in model.layers[:-1]:
            layer.trainable = mode == "all"
        rate = 1e-3 if mode == "last" else 2e-4
        model.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy")
        model.fit(x_fit, y_fit, epochs=options.epochs, batch_size=32, verbose=0, shuffle=True,
                  callbacks=[_progress(say, 0.1 + 0.4 * step, 0.4, options.epochs, mode)])
        score = _top1(model(x_check, training=False).numpy(), y_check) if len(check) else 0.0
        tried[mode] = (score, model)
        say(0.1 + 0.4 * (step + 1), f"{mode}: top-1 {score:.1%} on the check images")
    mode = max(tried, key=lambda m: tried[m][0])
    model = tried[mode][1]
    model.save(folder / "model.keras")
    file = folder / "model.keras"
    if base.format == "tflite":
        with _stdout_to_stderr():  # the converter prints its export log on stdout
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            (folder / "model.tflite").write_bytes(converter.convert())
        file = folder / "model.tflite"
    what = {"last": "the last layer", "all": "all layers"}[mode]
    details = {"method": f"Keras fine-tune of {what}", "epochs": options.epochs,
               "augment": options.augment, "fit_points": len(fit), "check_points": len(check),
               "check_top1": {m: score for m, (score, _) in tried.items()},
               "chosen_on": f"{len(check)} check points (training images kept out of the fit)"}
    return _entry(base, folder, file), details


# Learning rates tried for a head that starts from the served one, gentlest first. A rate
# that is too high for a few hundred labels unlearns what the head knew of other photos.
HEAD_RATES = (1e-5, 1e-4, 1e-3, 1e-2)
FOLDS = 3  # the labels' images are split in this many folds to choose the rate


def new_head(base: ModelSpec, train: list[LabeledCrop], replay: list[LabeledCrop],
             folder: Path, options: RetrainOptions, say: Say) -> tuple[dict, dict]:
    """Train a new final layer on the frozen model's `feature_tensor`; save it as head.npz.

    Starting from the base version's head, it tries each of HEAD_RATES by cross-validation
    over the labels' images (FOLDS folds: each label scored by a head fitted without its
    image; replayed points only train, as the base version learned them and would favour
    changing nothing) and keeps the rate with most labels right, the gentlest on a tie.
    A head.npz may hold `fixed`: the part of its weights that was set, not learned (theme's
    detector votes); it stays as it is, only the rest is trained."""
    tapped = base.feature_tensor or "the features"
    say(0.1, f"reading {tapped} of the frozen model")
    features = feature_runner(base)

    def read(points: list[LabeledCrop], width: int = 0) -> tuple[np.ndarray, np.ndarray]:
        x, y = _arrays(base, points)
        return np.concatenate([features(x[i:i + 64]) for i in range(0, len(x), 64)]
                              or [np.zeros((0, width), np.float32)]), y

    x_train, y_train = read(augmented(train, options.augment, _rng(options)))
    width = x_train.shape[1]
    x_replay, y_replay = read(augmented(replay, options.augment, _rng(options)), width)
    start, fixed = _base_head(base, width)
    # Each label's augmented copies follow it: the folds split images, copies included.
    images = np.repeat([p.image for p in train], options.augment + 1)
    names = sorted(set(images))
    folds = min(FOLDS, len(names))
    epochs = options.epochs * 5  # one layer: cheap epochs, and it needs more of them
    tried = {}
    if start is not None and folds > 1:
        order = np.random.default_rng(options.seed).permutation(len(names))
        fold_of = {names[i]: k % folds for k, i in enumerate(order)}
        fold = np.array([fold_of[i] for i in images])
        original = np.arange(len(images)) % (options.augment + 1) == 0
        for step, rate in enumerate(HEAD_RATES):
            right = 0
            for k in range(folds):
                held = fold == k
                weights, bias = _fit_head(np.concatenate([x_train[~held], x_replay]),
                                          np.concatenate([y_train[~held], y_replay]),
                                          start, fixed, rate, epochs, options.seed)
                scored = held & original
                logits = x_train[scored] @ (weights + fixed) + bias
                right += int(np.sum(logits.argmax(axis=1) == y_train[scored]))
            tried[rate] = right / int(original.sum())
            say(0.2 + 0.4 * (step + 1) / len(HEAD_RATES),
                f"learning rate {rate:g}: top-1 {tried[rate]:.1%} on labeled images "
                f"left out ({folds} folds)")
    rate = (max(tried, key=lambda r: (tried[r], -r)) if tried
            else 3e-2 if start is None else HEAD_RATES[1])
    weights, bias = _fit_head(np.concatenate([x_train, x_replay]),
                              np.concatenate([y_train, y_replay]),
                              start, fixed, rate, epochs, options.seed,
                              _progress(say, 0.6, 0.3, epochs, "head"))
    saved = {"weights": weights + fixed, "bias": bias}
    if fixed.any():  # the next retrain keeps it fixed too
        saved["fixed"] = fixed
    np.savez(folder / "head.npz", **saved)
    entry = {**_entry(base, folder, base.path), "head": _relative(folder / "head.npz", folder)}
    if base.feature_tensor:
        entry["feature_tensor"] = base.feature_tensor
    return entry, {"method": f"new head on {tapped}", "epochs": epochs, "rate": rate,
                   "check_top1": {f"{r:g}": top1 for r, top1 in tried.items()},
                   "chosen_on": f"the {len(train)} labeled points, each by a head fitted "
                                f"without its image ({folds} folds by image)", "folds": folds,
                   "augment": options.augment, "features": width}


def _fit_head(x: np.ndarray, y: np.ndarray, start: tuple[np.ndarray, np.ndarray] | None,
              fixed: np.ndarray, rate: float, epochs: int, seed: int,
              *callbacks: object) -> tuple[np.ndarray, np.ndarray]:
    """A softmax layer on raw features `x` with `fixed` added, untrained, to its weights,
    learned from `start` (or from nothing); returns the learned (weights, bias)."""
    import keras

    classes = fixed.shape[1]
    # Train on standardised features (bottlenecks can be tiny or huge), then fold the
    # standardisation into the saved weights so the head reads raw features.
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    keras.utils.set_random_seed(seed)
    features, votes = keras.Input((x.shape[1],)), keras.Input((classes,))
    dense = keras.layers.Dense(classes, kernel_regularizer=keras.regularizers.L2(1e-3))
    head = keras.Model([features, votes],
                       keras.layers.Softmax()(keras.layers.Add()([dense(features), votes])))
    if start is not None:  # start from what the base version knows, not from nothing
        weights, bias = start
        dense.set_weights([weights * std[:, None], bias + mean @ weights])
    head.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy")
    head.fit([(x - mean) / std, x @ fixed], y, epochs=epochs, batch_size=32, verbose=0,
             shuffle=True, callbacks=list(callbacks))
    weights, bias = dense.get_weights()
    return weights / std[:, None], bias - (mean / std) @ weights


def _base_head(base: ModelSpec, width: int
               ) -> tuple[tuple[np.ndarray, np.ndarray] | None, np.ndarray]:
    """The base version's learned (weights, bias) when it reads `width` features, or None; and
    the fixed part of its weights (zeros when it has none or is not used)."""
    fixed = np.zeros((width, len(base.labels)), np.float32)
    if base.head is None:
        return None, fixed
    with np.load(base.head) as head:
        weights, bias = head["weights"].astype(np.float32), head["bias"].astype(np.float32)
        if weights.shape != fixed.shape:
            return None, fixed
        if "fixed" in head.files:
            fixed = head["fixed"].astype(np.float32)
    return (weights - fixed, bias), fixed


@contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Keep stdout clean for --json: send what TensorFlow prints there to stderr."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _entry(base: ModelSpec, folder: Path, file: Path) -> dict:
    entry = {"name": base.name, "file": _relative(file, folder), "format": base.format,
             "labels": _relative(base.labels_path, folder), "input_size": base.input_size,
             "scale": base.scale, "offset": base.offset, "crop_fraction": base.crop_fraction,
             "outputs": "probabilities" if base.format != "graphdef" else base.outputs}
    if base.format == "graphdef":
        entry |= {"input_tensor": base.input_tensor, "output_tensor": base.output_tensor}
    return entry


def _relative(path: Path, folder: Path) -> str:
    """A path relative to the manifest's folder, which is two levels above a version folder."""
    return Path(os.path.relpath(path.resolve(), folder.parent.parent.resolve())).as_posix()


def _arrays(spec: ModelSpec, points: list[LabeledCrop]) -> tuple[np.ndarray, np.ndarray]:
    index = {label: i for i, label in enumerate(spec.labels)}
    if not points:
        size = spec.input_size
        return np.zeros((0, size, size, 3), np.float32), np.zeros((0,), np.int64)
    return inputs(spec, [p.crop for p in points]), np.array([index[p.label] for p in points])


def _top1(probabilities: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(probabilities.argmax(axis=1) == truth)) if len(truth) else 0.0


def _rng(options: RetrainOptions) -> np.random.Generator:
    return np.random.default_rng(options.seed)


def _progress(say: Say, start: float, span: float, epochs: int, what: str):  # noqa: ANN202
    import keras

    class _Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):  # noqa: ANN001, ANN201
            loss = (logs or {}).get("loss", float("nan"))
            say(start + span * (epoch + 1) / epochs,
                f"{what}: epoch {epoch + 1}/{epochs}, loss {loss:.3f}")

    return _Report()
