from pathlib import Path

import numpy as np
import pytest

from predictor import ModelLoadError, Predictor, load_manifest
from tests.conftest import noise_image
from tests.model_factory import INPUT_SIZE, LABELS, manifest_entry

FORMATS = ["keras", "savedmodel", "graphdef", "tflite"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_loads_through_the_manifest(tiny_predictor, fmt):
    info = tiny_predictor.describe()[fmt]
    assert info["format"] == fmt and info["labels"] == len(LABELS)


@pytest.mark.parametrize("seed", range(5))
def test_every_format_gives_the_keras_top5(tiny_predictor, seed):
    image = noise_image(120, 90, seed=seed)
    result = tiny_predictor.predict(image, 60, 45)
    reference = result.predictions["keras"]
    for fmt in FORMATS[1:]:
        other = result.predictions[fmt]
        assert [s.label for s in other] == [s.label for s in reference]
        np.testing.assert_allclose(
            [s.score for s in other], [s.score for s in reference], atol=1e-5
        )


def test_probabilities_match_a_direct_keras_call(tiny_models, tiny_predictor):
    import keras

    model = keras.saving.load_model(tiny_models / "tiny.keras")
    batch = np.random.default_rng(0).random((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)
    expected = model(batch, training=False).numpy()
    for loaded in tiny_predictor.models:
        np.testing.assert_allclose(loaded.probabilities(batch), expected, atol=1e-5)


def one_model(folder: Path, *entries: str) -> Predictor:
    manifest = folder / "one.toml"
    manifest.write_text("".join(entries))
    return Predictor.from_manifest(manifest)


def test_labels_count_mismatch_names_both_numbers(tiny_models):
    (tiny_models / "five.txt").write_text("\n".join(LABELS[:5]))
    entry = manifest_entry("short", "tiny.keras").replace("labels.txt", "five.txt")
    with pytest.raises(ModelLoadError, match="outputs 6 classes but five.txt has 5 labels"):
        one_model(tiny_models, entry)


@pytest.mark.parametrize("file", ["tiny.keras", "tiny_savedmodel", "tiny.pb", "tiny.tflite"])
def test_wrong_input_size_is_a_load_error(tiny_models, file):
    entry = manifest_entry("m", file, input_size=48)
    with pytest.raises(ModelLoadError, match=r"shape \[None, 32, 32, 3\].*input_size = 48"):
        one_model(tiny_models, entry)


def test_unknown_tensor_names_say_how_to_fix_them(tiny_models):
    entry = manifest_entry("pb", "tiny.pb", input_tensor="Mul:0")
    with pytest.raises(ModelLoadError, match="input_tensor / output_tensor"):
        one_model(tiny_models, entry)


def test_corrupt_model_file_is_a_load_error(tiny_models):
    (tiny_models / "broken.tflite").write_bytes(b"not a flatbuffer at all")
    with pytest.raises(ModelLoadError, match="cannot load"):
        one_model(tiny_models, manifest_entry("broken", "broken.tflite"))


def inception_style_graph(path: Path) -> None:
    """A TF1 graph shaped like Inception retrain: pixels -> `Mul` (x-128)/128 -> final_result."""
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        raw = tf.compat.v1.placeholder(tf.float32, [None, INPUT_SIZE, INPUT_SIZE, 3], "DecodeJpeg")
        scaled = tf.multiply(tf.subtract(raw, 128.0), 1 / 128.0, name="Mul")
        pooled = tf.reduce_mean(scaled, axis=[1, 2])
        weights = tf.constant(np.linspace(-1, 1, 3 * len(LABELS), dtype=np.float32).reshape(3, -1))
        tf.nn.softmax(tf.matmul(pooled, weights), name="final_result")
    path.write_bytes(graph.as_graph_def().SerializeToString())


def test_graphdef_can_be_fed_at_an_intermediate_tensor(tiny_models):
    inception_style_graph(tiny_models / "inception.pb")
    entry = manifest_entry("v3", "inception.pb", input_tensor="Mul:0", scale=1 / 128, offset=-1.0)
    predictor = one_model(tiny_models, entry)
    batch = np.full((1, INPUT_SIZE, INPUT_SIZE, 3), 0.5, np.float32)
    weights = np.linspace(-1, 1, 3 * len(LABELS), dtype=np.float32).reshape(3, -1)
    logits = np.full(3, 0.5) @ weights
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(predictor.models[0].probabilities(batch)[0], expected, atol=1e-5)


def test_logits_outputs_get_a_softmax(tiny_models):
    import keras

    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((INPUT_SIZE, INPUT_SIZE, 3)),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(len(LABELS)),
        ]
    )
    model.save(tiny_models / "logits.keras")
    predictor = one_model(tiny_models, manifest_entry("l", "logits.keras", outputs="logits"))
    batch = np.random.default_rng(1).random((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32)
    probs = predictor.models[0].probabilities(batch)
    logits = model(batch).numpy()
    np.testing.assert_allclose(probs, np.exp(logits) / np.exp(logits).sum(), atol=1e-5)
    assert load_manifest(tiny_models / "one.toml")[0].outputs == "logits"
