import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import tfjs_files, tfjs_layers
from training.backbone import tflite_features

ROOT = Path(__file__).resolve().parent.parent
BACKBONE = ROOT / "models" / "backbone" / "mobilenet_v2" / "backbone.tflite"
PHOTOS = ROOT / "photos" / "train"


def _photo_crop(name: str, size: int) -> np.ndarray:
    image = Image.open(PHOTOS / name).convert("RGB")
    box = (image.width // 2 - 300, image.height // 2 - 300, image.width // 2 + 300,
           image.height // 2 + 300)
    crop = image.crop(box).resize((size, size), Image.Resampling.BILINEAR)
    return (np.asarray(crop, np.float32) / 255.0)[None]


def _features(batch: np.ndarray) -> np.ndarray:
    return tflite_features(BACKBONE, batch)


@pytest.mark.parametrize("size", [224, 128])
def test_backbone_gives_1280_relu6_averages_per_photo(size):
    features = _features(_photo_crop("lomiri_sunset.jpg", size))
    assert features.shape == (1, 1280)
    assert features.min() >= 0 and features.max() <= 6  # averages of ReLU6 outputs
    assert (features > 0).mean() > 0.1 and features.max() > 0.5  # sparse, not dead


def test_backbone_features_differ_between_photos_and_repeat_exactly():
    sunset, aqua = _photo_crop("lomiri_sunset.jpg", 224), _photo_crop("mate_aqua.jpg", 224)
    first = _features(np.concatenate([sunset, aqua]))
    assert np.abs(first[0] - first[1]).max() > 0.5
    cosine = first[0] @ first[1] / np.linalg.norm(first[0]) / np.linalg.norm(first[1])
    assert cosine < 0.95
    np.testing.assert_array_equal(_features(np.concatenate([sunset, aqua])), first)
    np.testing.assert_allclose(_features(sunset)[0], first[0], atol=1e-5)


def _tiny_layers_model(rng: np.random.Generator) -> tuple[dict, dict[str, np.ndarray]]:
    """A TF.js layers topology as Keras 2.2.4 wrote it: conv 3x3 -> batch norm -> ReLU6 -> dense."""
    def layer(class_name, name, config, inbound):
        nodes = [[[inbound, 0, 0, {}]]] if inbound else []
        return {"name": name, "class_name": class_name, "inbound_nodes": nodes,
                "config": {"name": name, "trainable": False, **config}}

    layers = [
        layer("InputLayer", "input_1", {"batch_input_shape": [None, 4, 4, 3]}, None),
        layer("Conv2D", "conv", {"filters": 2, "kernel_size": [3, 3], "strides": [1, 1],
                                 "padding": "valid", "data_format": "channels_last",
                                 "dilation_rate": [1, 1], "activation": "linear",
                                 "use_bias": True}, "input_1"),
        layer("BatchNormalization", "bn", {"axis": -1, "momentum": 0.99, "epsilon": 1e-3,
                                           "center": True, "scale": True}, "conv"),
        layer("ReLU", "relu", {"max_value": 6, "negative_slope": 0, "threshold": 0}, "bn"),
        layer("Flatten", "flat", {"data_format": "channels_last"}, "relu"),
        layer("Dense", "dense", {"units": 3, "activation": "softmax", "use_bias": True}, "flat"),
    ]
    weights = {
        "conv/kernel": rng.normal(0, 1, (3, 3, 3, 2)), "conv/bias": rng.normal(0, 1, 2),
        "bn/gamma": rng.uniform(0.5, 2, 2), "bn/beta": rng.normal(0, 1, 2),
        "bn/moving_mean": rng.normal(0, 1, 2), "bn/moving_variance": rng.uniform(0.5, 2, 2),
        "dense/kernel": rng.normal(0, 1, (8, 3)), "dense/bias": rng.normal(0, 1, 3),
    }
    topology = {"keras_version": "2.2.4", "model_config": {"class_name": "Model", "config": {
        "name": "tiny", "layers": layers, "input_layers": [["input_1", 0, 0]],
        "output_layers": [["dense", 0, 0]]}}}
    return topology, {k: np.asarray(v, np.float32) for k, v in weights.items()}


def _reference(x: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    conv = np.zeros((x.shape[0], 2, 2, 2))
    for i in range(2):
        for j in range(2):
            conv[:, i, j] = np.einsum("bhwc,hwco->bo", x[:, i:i + 3, j:j + 3], w["conv/kernel"])
    conv += w["conv/bias"]
    bn = (conv - w["bn/moving_mean"]) / np.sqrt(w["bn/moving_variance"] + 1e-3)
    relu6 = np.clip(bn * w["bn/gamma"] + w["bn/beta"], 0, 6)
    logits = relu6.reshape(x.shape[0], -1) @ w["dense/kernel"] + w["dense/bias"]
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def test_layers_reader_builds_a_hand_made_topology_that_computes_the_reference():
    rng = np.random.default_rng(7)
    topology, weights = _tiny_layers_model(rng)
    manifest = [{"paths": ["shard"], "weights": [
        {"name": k, "shape": list(v.shape), "dtype": "float32"} for k, v in weights.items()]}]
    shard = b"".join(v.astype("<f4").tobytes() for v in weights.values())
    decoded = tfjs_files.decode_weights(json.loads(json.dumps(manifest)), {"shard": shard})
    model = tfjs_layers.build(topology, decoded)
    x = rng.uniform(0, 1, (5, 4, 4, 3)).astype(np.float32)
    assert [layer.name for layer in model.layers] == ["input_1", "conv", "bn", "relu", "flat",
                                                      "dense"]
    np.testing.assert_allclose(model.predict(x, verbose=0), _reference(x, weights), atol=1e-5)
    assert np.ptp(_reference(x, weights), axis=0).max() > 0.05  # inputs give different outputs


def test_uint8_weights_dequantize_as_tfjs_does():
    spec = {"name": "w", "shape": [2, 2], "dtype": "float32",
            "quantization": {"dtype": "uint8", "min": -1.5, "scale": 0.25}}
    manifest = [{"paths": ["a", "b"], "weights": [spec]}]
    np.testing.assert_array_equal(
        tfjs_files.decode_weights(manifest, {"a": bytes([0, 1]), "b": bytes([6, 255])})["w"],
        [[-1.5, -1.25], [0.0, 62.25]])


def test_layers_reader_refuses_an_unknown_layer_type():
    topology, weights = _tiny_layers_model(np.random.default_rng(0))
    topology["model_config"]["config"]["layers"][3]["class_name"] = "PReLU"
    with pytest.raises(tfjs_files.TfjsFormatError, match="PReLU"):
        tfjs_layers.build(topology, weights)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_shard_modules_unwrap_to_their_base64_bytes(tmp_path):
    payload = bytes(range(256))
    encoded = base64.b64encode(payload).decode()
    umd = ('!function(e){"object"==typeof exports&&"undefined"!=typeof module?'
           'module.exports=e():this.shard=e()}(function(){return "' + encoded + '"});')
    (tmp_path / "shard.min.js").write_text(umd)
    assert base64.b64decode(tfjs_files.unwrap_js(tmp_path / "shard.min.js")) == payload
