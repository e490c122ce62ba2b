"""Write SOURCE.md for a converted backbone: where it came from, how, and what was checked."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from . import tfjs_files

LICENSE = "MIT, Copyright (c) 2019 Infinite Red, Inc. (the package's LICENSE file)"
PROVENANCE = {
    "mobilenet_v2": (
        "A Keras {keras_version} functional model: keras.applications MobileNetV2 layer names "
        "(Conv1, bn_Conv1, block_N_*, Conv_1, out_relu), then AveragePooling 7x7, Flatten and "
        "a Dense 256-128-5 head with dropout. {trainable}"
    ),
    "mobilenet_v2_mid": (
        "A TF.js graph model ({converted_by}) of a Keras Sequential: a TF Hub KerasLayer "
        "`MobilenetV2` (its `hub_input` maps [0, 1] to [-1, 1]; width 1.4: 48 stem channels, "
        "1792 features; batch norm folded into the convolutions) and one Dense 5 softmax."
    ),
    "inception_v3": (
        "A Keras {keras_version} functional model: keras.applications InceptionV3 layer names "
        "(conv2d_N, batch_normalization_N, mixed0-mixed10), then AveragePooling 8x8, Flatten "
        "and a Dense 256-128-5 head with dropout. {trainable}"
    ),
}

_REPO = "the GantMan/nsfw_model repository (not shipped in the package)"
UPSTREAM = {
    "mobilenet_v2": (
        f"In {_REPO}, training/mobilenetv2_transfer/train_initialization.py builds "
        "`MobileNetV2(weights='imagenet', include_top=False)`, freezes it and trains this head; "
        "train_fine_tune.py then unfreezes from `block_11_expand` on, as this config shows. Its "
        "generators feed pixels * 1/255, i.e. [0, 1], not keras.applications' [-1, 1]."
    ),
    "mobilenet_v2_mid": (
        f"In {_REPO}, training/make_nsfw_model_lib.py (adapted from TF Hub's "
        "make_image_classifier) stacks a TF Hub module, Dense and Activation('softmax', "
        "name='prediction'), the node names this graph has; the hub_input scaling and 1.4 width "
        "match the ImageNet-trained imagenet/mobilenet_v2_140_224 module. Whether the module was "
        "fine-tuned cannot be told from the frozen graph."
    ),
    "inception_v3": (
        f"In {_REPO}, training/inceptionv3_transfer/train_initialization.py builds "
        "`InceptionV3(weights='imagenet', include_top=False)`, frozen, with a head like this "
        "one (that revision adds a Dropout(0.4) that this shipped model lacks); its generators "
        "feed pixels * 1/255."
    ),
}


def _facts(model_json: dict[str, Any]) -> dict[str, str]:
    if "model_config" not in model_json["modelTopology"]:
        return {"converted_by": f"{model_json['convertedBy']}, format {model_json['format']}"}
    topology = model_json["modelTopology"]
    layers = topology["model_config"]["config"]["layers"]
    trainable = [layer["name"] for layer in layers if layer["config"].get("trainable")]
    frozen = len(layers) - 1 - len(trainable)  # the InputLayer has no flag
    optimizer = json.dumps(topology.get("training_config", {}).get("optimizer_config"))
    return {
        "keras_version": topology["keras_version"],
        "trainable": f"Its config marks {frozen} of {len(layers) - 1} layers trainable=false "
        f"(frozen) and the rest, from `{trainable[0]}` on, trainable (fine-tuned); the "
        f"training config's optimizer: {optimizer}.",
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_md(backbone: Any, source: Path, folder: Path, checks: dict[str, Any],
              package: str, tarball: str, committed: bool) -> str:
    """Return SOURCE.md's text for `backbone`, read from `source` (dist/models/<name>) and
    written to `folder`; `package` is "name@version", `tarball` "file, sha256 ..."."""
    model_json = tfjs_files.unwrap_js(source / "model.min.js")
    shipped = "\n".join(f"| `dist/models/{backbone.name}/{p.name}` | `{_sha256(p)}` |"
                        for p in sorted(source.glob("*.min.js")))
    made = "\n".join(f"| `{p.name}` | {p.stat().st_size / 1e6:.2f} MB | `{_sha256(p)}` |"
                     for p in (folder / "backbone.keras", folder / "backbone.tflite"))
    kept = ("" if committed else " Not committed (over the repository's size budget): "
            "rebuild them with the command above.")
    return f"""# {backbone.name} feature extractor (converted from {package})

- Package: `{package}` from the npm registry, tarball {tarball}.
- License: {LICENSE}.
  Upstream: https://github.com/infinitered/nsfwjs, model training
  https://github.com/GantMan/nsfw_model. Trained as a 5-class content filter
  (Drawing, Hentai, Neutral, Porn, Sexy).
- Conversion: `python -m training.backbone {backbone.name}` (training/backbone.py,
  tfjs_files.py, tfjs_{backbone.fmt}.py). The weights ship uint8-quantized (TF.js affine
  quantization); they are dequantized exactly as TF.js does (q * scale + min, float32).
- Upstream network: {PROVENANCE[backbone.name].format(**_facts(model_json))}
- Upstream training: {UPSTREAM[backbone.name]} Nothing in the package lets the weights be
  compared with ImageNet weights (not available offline here).

## Use

- Input: float32 NHWC RGB, pixels / 255 in [0, 1], as nsfwjs feeds it (nsfwjs resizes to
  {backbone.size} x {backbone.size} with bilinear, alignCorners=true, squashing the aspect ratio).
  Any input size works: the network is fully convolutional and globally average-pooled
  (TFLite: `resize_tensor_input` then `allocate_tensors`).
- Output `features`: {checks['feature_dim']} floats, the global average of
  `{backbone.features.split('/predict/')[-1]}`.
- TFLite ops: {', '.join(checks['tflite_ops'])}.

## Checks at conversion

- Features equal the full model's pooled penultimate layer at {backbone.size} px: max abs diff
  {checks['cut_vs_full_model_max_abs_diff']:.3g}.
- TFLite vs Keras features: max abs diff {checks['tflite_vs_keras_max_abs_diff']:.3g}.
- Against the original in TF.js: see `tfjs_check.json` (training/backbone_check.mjs).

## Files

| shipped file | sha256 |
|---|---|
{shipped}

| written file | size | sha256 |
|---|---|---|
{made}

backbone.tflite rebuilds byte-identical; backbone.keras does not (its zip holds timestamps), so
a rebuild keeps an existing one that computes the same features.{kept}
"""
