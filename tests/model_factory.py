"""Build one tiny real Keras model and export it to every format the core loads."""

from __future__ import annotations

from pathlib import Path

INPUT_SIZE = 32
FEATURE_TENSOR = "bottleneck:0"
LABELS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


def build_tiny_models(folder: Path) -> Path:
    """Write m.keras, a SavedModel, a retrain-style frozen .pb, a .tflite and manifest.toml."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input((INPUT_SIZE, INPUT_SIZE, 3)),
            keras.layers.SeparableConv2D(8, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(LABELS), activation="softmax"),
        ]
    )
    model.save(folder / "tiny.keras")
    model.export(str(folder / "tiny_savedmodel"), verbose=False)
    (folder / "tiny.tflite").write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    (folder / "tiny.pb").write_bytes(frozen_graph(model).SerializeToString())
    (folder / "labels.txt").write_text("\n".join(LABELS) + "\n")
    entries = [
        ("keras", "tiny.keras"),
        ("savedmodel", "tiny_savedmodel"),
        ("graphdef", "tiny.pb"),
        ("tflite", "tiny.tflite"),
    ]
    (folder / "manifest.toml").write_text("".join(manifest_entry(n, f) for n, f in entries))
    return folder


def manifest_entry(name: str, file: str, **extra: object) -> str:
    fields: dict[str, object] = {
        "name": name,
        "file": file,
        "labels": "labels.txt",
        "version": "0.1",
        "input_size": INPUT_SIZE,
        "crop_fraction": 0.5,
        **extra,
    }
    lines = ["[[model]]"] + [f"{key} = {_toml(value)}" for key, value in fields.items()]
    return "\n".join(lines) + "\n\n"


def _toml(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


def frozen_graph(model):
    """Freeze the model the way retrain.py's output looks: `input:0` in, `final_result:0` out,
    with its pooled features named `bottleneck:0`."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32, name="input")
    import keras

    features = keras.Model(model.inputs, model.layers[-2].output)

    @tf.function(input_signature=[spec])
    def serve(input):  # noqa: A002 - the placeholder takes the argument's name
        # `bottleneck:0` is the named feature tensor a retrained head reads (FEATURE_TENSOR).
        bottleneck = tf.identity(features(input, training=False), name="bottleneck")
        return tf.identity(model.layers[-1](bottleneck), name="final_result")

    return convert_variables_to_constants_v2(serve.get_concrete_function()).graph.as_graph_def()
