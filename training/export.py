"""Write a trained Keras model in every format the core serves: .keras, TFLite, SavedModel, .pb."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import keras
import tensorflow as tf

INPUT_NAME = "input"
OUTPUT_NAME = "final_result"  # the classic retrain.py names, the manifest's defaults for .pb


def _serving_fn(
    model: keras.Model, input_size: int, batch: int | None
) -> tf.types.experimental.ConcreteFunction:
    spec = tf.TensorSpec([batch, input_size, input_size, 3], tf.float32, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(x):
        return {"probabilities": tf.identity(model(x, training=False), name=OUTPUT_NAME)}

    return serve.get_concrete_function()


def export_tflite(model: keras.Model, path: Path) -> Path:
    """Write a float32 TFLite model (the core resizes its input to a batch of one)."""
    # from_concrete_functions on a Keras 3 model loses the captured weights (NaN outputs);
    # from_keras_model keeps them.
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints every captured variable
        path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    return path


def export_savedmodel(model: keras.Model, input_size: int, path: Path) -> Path:
    """Write a SavedModel folder whose serving_default signature returns probabilities."""
    module = tf.Module()
    module.model = model
    tf.saved_model.save(
        module, str(path), signatures={"serving_default": _serving_fn(model, input_size, None)}
    )
    return path


def export_graphdef(model: keras.Model, input_size: int, path: Path) -> Path:
    """Write a frozen GraphDef with input `input:0` and output `final_result:0`."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(_serving_fn(model, input_size, None))
    path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
    return path


def export_all(keras_path: Path, input_size: int, folder: Path) -> dict[str, Path]:
    """Export a saved .keras model to SavedModel and .pb inside `folder`; return the paths."""
    model = keras.saving.load_model(keras_path, compile=False)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        "savedmodel": export_savedmodel(model, input_size, folder / "savedmodel"),
        "graphdef": export_graphdef(model, input_size, folder / "model.pb"),
    }
