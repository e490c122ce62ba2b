"""The two ways retrain trains: fine-tune a Keras model, or fit a new head on frozen features.

Each takes the active spec, the training points, the new version's folder and the options,
and returns the new manifest entry (paths relative to the manifest's folder) and details.
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


def fine_tune(base: ModelSpec, train: list[LabeledCrop], folder: Path,
              options: RetrainOptions, say: Say) -> tuple[dict, dict]:
    """Fine-tune the last layer and, separately, all layers; keep whichever measures better."""
    tf = tensorflow()
    import keras

    keras_file = base.path if base.format == "keras" else base.path.parent / "model.keras"
    fit, check = split_by_image(train, 0.2, options.seed + 1)
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
               "check_top1": {m: score for m, (score, _) in tried.items()}}
    return _entry(base, folder, file), details


def new_head(base: ModelSpec, train: list[LabeledCrop], folder: Path,
             options: RetrainOptions, say: Say) -> tuple[dict, dict]:
    """Train a new final layer on the frozen model's `feature_tensor`; save it as head.npz."""
    import keras

    tapped = base.feature_tensor or "the features"
    say(0.1, f"reading {tapped} of the frozen model")
    features = feature_runner(base)
    x, y = _arrays(base, augmented(train, options.augment, _rng(options)))
    x = np.concatenate([features(x[i:i + 64]) for i in range(0, len(x), 64)])
    # Train on standardised features (bottlenecks can be tiny or huge), then fold the
    # standardisation into the saved weights so the head reads raw features.
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    x = (x - mean) / std
    keras.utils.set_random_seed(options.seed)
    head = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(
        len(base.labels), activation="softmax", kernel_regularizer=keras.regularizers.L2(1e-3))])
    start = _base_head(base, mean, std)
    if start is not None:  # start from what the base version knows, not from nothing
        head.layers[-1].set_weights(start)
    rate = 1e-2 if start is not None else 3e-2
    head.compile(optimizer=keras.optimizers.Adam(rate), loss="sparse_categorical_crossentropy")
    epochs = options.epochs * 5  # one layer: cheap epochs, and it needs more of them
    head.fit(x, y, epochs=epochs, batch_size=32, verbose=0, shuffle=True,
             callbacks=[_progress(say, 0.2, 0.7, epochs, "head")])
    weights, bias = head.layers[-1].get_weights()
    weights, bias = weights / std[:, None], bias - (mean / std) @ weights
    np.savez(folder / "head.npz", weights=weights, bias=bias)
    entry = {**_entry(base, folder, base.path), "head": _relative(folder / "head.npz", folder)}
    if base.feature_tensor:
        entry["feature_tensor"] = base.feature_tensor
    return entry, {"method": f"new head on {tapped}", "epochs": epochs,
                   "augment": options.augment, "features": int(x.shape[1])}


def _base_head(base: ModelSpec, mean: np.ndarray,
               std: np.ndarray) -> list[np.ndarray] | None:
    """The base version's head, on standardised features, when it reads the same features."""
    if base.head is None:
        return None
    with np.load(base.head) as head:
        weights, bias = head["weights"].astype(np.float32), head["bias"].astype(np.float32)
    if weights.shape != (len(mean), len(base.labels)):
        return None
    return [weights * std[:, None], bias + mean @ weights]


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
