"""`python -m training.backbone [NAME ...] [--out DIR]`: convert nsfwjs's photo-trained networks
into frozen feature extractors for retrain.py-style heads.

Build time only (the product never downloads): `npm pack nsfwjs@4.4.0` into build/npm/, the
tarball's sha256 checked against TARBALL_SHA256, the JS-wrapped TF.js models unwrapped, rebuilt in
Keras, and cut at the global-average-pooled penultimate features. Writes, per model,
<out>/<name>/backbone.keras, backbone.tflite and SOURCE.md. The input is what nsfwjs feeds its
models: RGB pixels / 255 in [0, 1], float32, NHWC; any size (fully convolutional + GAP).
Default NAMEs: the two MobileNetV2s (committed); `inception_v3` (~87 MB float) is not committed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from . import tfjs_files, tfjs_graph, tfjs_layers  # noqa: E402
from .backbone_source import source_md  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "nsfwjs@4.4.0"
TARBALL = "nsfwjs-4.4.0.tgz"
TARBALL_SHA256 = "585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382"
CACHE = ROOT / "build" / "npm"
OUT = ROOT / "models" / "backbone"
_MID_PREFIX = ("StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/"
               "StatefulPartitionedCall/StatefulPartitionedCall/predict/")


@dataclass(frozen=True)
class Backbone:
    name: str  # folder under dist/models/
    fmt: str  # "layers" or "graph" (TF.js model format)
    size: int  # the input size nsfwjs uses
    features: str  # layer or node whose output is average-pooled into the features
    penultimate: str  # the full model's pooled, flattened features, to check the cut against


BACKBONES = {
    b.name: b for b in (
        Backbone("mobilenet_v2", "layers", 224, "out_relu", "flatten_1"),
        Backbone("mobilenet_v2_mid", "graph", 224, _MID_PREFIX + "MobilenetV2/Conv_1/Relu6",
                 _MID_PREFIX + "feature_vector/SpatialSqueeze"),
        Backbone("inception_v3", "layers", 299, "mixed10", "flatten_1"),
    )
}
COMMITTED = ("mobilenet_v2", "mobilenet_v2_mid")


class TarballMismatch(RuntimeError):
    """The npm tarball's sha256 is not the pinned one."""


def fetch(cache: Path = CACHE, package: str = PACKAGE, tarball_name: str = TARBALL,
          expected: str = TARBALL_SHA256) -> Path:
    """Return the unpacked package folder, running `npm pack` only if the tarball is missing."""
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / tarball_name
    if not tarball.exists():
        subprocess.run(["npm", "pack", package, "--pack-destination", str(cache), "--silent"],
                       check=True, capture_output=True, timeout=600)
    digest = sha256(tarball)
    if digest != expected:
        raise TarballMismatch(f"{tarball}: sha256 {digest}, expected {expected}")
    unpacked = cache / tarball_name.removesuffix(".tgz")
    if not (unpacked / "package" / "package.json").exists():
        with tarfile.open(tarball) as tar:
            tar.extractall(unpacked, filter="data")
    return unpacked / "package"


def sha256(path: Path) -> str:
    """Return the file's sha256 hex digest."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_folder(package: Path, name: str) -> Path:
    """Return dist/models/<name> inside the unpacked package."""
    return package / "dist" / "models" / name


def build(backbone: Backbone, package: Path, output: str | None = None,
          input_shape: tuple[int | None, ...] | None = None) -> keras.Model:
    """Return the converted network up to `output` (default: the full 5-class model)."""
    model_json, weights = tfjs_files.read_bundle(model_folder(package, backbone.name))
    if backbone.fmt == "graph":
        return tfjs_graph.build(model_json, weights, output, input_shape)
    return tfjs_layers.build(model_json["modelTopology"], weights, output, input_shape)


def feature_extractor(backbone: Backbone, package: Path) -> keras.Model:
    """Return the [0, 1] RGB image -> pooled penultimate features model, any input size."""
    trunk = build(backbone, package, backbone.features, (None, None, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="features")(trunk.output)
    return keras.Model(trunk.input, pooled, name=f"{backbone.name}_features")


def nsfwjs_input(pixels: np.ndarray, size: int) -> np.ndarray:
    """Return a (1, size, size, 3) batch as nsfwjs makes it from HxWx3 uint8 RGB pixels.

    nsfwjs divides by 255, then (unless already size x size) resizes with
    tf.image.resizeBilinear(..., alignCorners=true), squashing the aspect ratio.
    """
    x = tf.constant(pixels[None].astype(np.float32) / 255.0)
    if pixels.shape[:2] != (size, size):
        x = tf.raw_ops.ResizeBilinear(images=x, size=[size, size], align_corners=True)
    return x.numpy()


def to_tflite(model: keras.Model) -> bytes:
    """Return a float32 TFLite flatbuffer of `model` (input shape left dynamic)."""
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints every captured variable
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def _ops(tflite: bytes) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=tflite)
    return sorted({op["op_name"] for op in interpreter._get_ops_details()})


def tflite_features(tflite: bytes | Path, batch: np.ndarray) -> np.ndarray:
    """Run a TFLite feature extractor (its bytes or its path) on a float batch of any size."""
    from ai_edge_litert.interpreter import Interpreter

    data = tflite.read_bytes() if isinstance(tflite, Path) else tflite
    interpreter = Interpreter(model_content=data)
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    interpreter.resize_tensor_input(inp["index"], batch.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], batch)
    interpreter.invoke()
    return interpreter.get_tensor(out["index"])


def _save_keras(model: keras.Model, path: Path, batch: np.ndarray, features: np.ndarray) -> None:
    # A .keras zip holds timestamps: keep an existing file that computes the same features,
    # so a rerun does not churn the committed binary.
    if path.exists():
        existing = keras.saving.load_model(path, compile=False)
        if np.array_equal(existing.predict(batch, verbose=0), features):
            return
    model.save(path)


def convert(name: str, package: Path, out: Path) -> dict[str, object]:
    """Write <out>/<name>/backbone.keras, backbone.tflite and SOURCE.md; return the checks."""
    backbone = BACKBONES[name]
    extractor = feature_extractor(backbone, package)
    batch = np.random.default_rng(0).uniform(0, 1, (2, backbone.size, backbone.size, 3))
    batch = batch.astype(np.float32)
    features = extractor.predict(batch, verbose=0)
    penultimate = build(backbone, package, backbone.penultimate).predict(batch, verbose=0)
    tflite = to_tflite(extractor)
    lite_features = tflite_features(tflite, batch)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    _save_keras(extractor, folder / "backbone.keras", batch, features)
    (folder / "backbone.tflite").write_bytes(tflite)
    checks = {
        "feature_dim": int(features.shape[1]),
        "cut_vs_full_model_max_abs_diff": float(np.abs(features - penultimate).max()),
        "tflite_vs_keras_max_abs_diff": float(np.abs(lite_features - features).max()),
        "tflite_ops": _ops(tflite),
    }
    text = source_md(backbone, model_folder(package, name), folder, checks,
                     PACKAGE, f"`{TARBALL}`, sha256 `{TARBALL_SHA256}`", name in COMMITTED)
    (folder / "SOURCE.md").write_text(text)
    return checks


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(BACKBONES))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if unknown := set(args.names) - set(BACKBONES):
        parser.error(f"unknown backbone {sorted(unknown)}; choose from {list(BACKBONES)}")
    package = fetch()
    for name in args.names or COMMITTED:
        checks = convert(name, package, args.out)
        print(name, {k: v for k, v in checks.items() if k != "tflite_ops"})


if __name__ == "__main__":
    main()
