"""Build a Keras model from a TF.js *layers* model (a Keras 2 functional config) and its weights.

Only the layer types nsfwjs's MobileNetV2 and Inception v3 use are mapped, each explicitly;
any other type raises, so a new topology cannot be read half right.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from .tfjs_files import TfjsFormatError

Config = dict[str, Any]


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _conv(c: Config) -> keras.layers.Layer:
    return keras.layers.Conv2D(
        c["filters"], _pair(c["kernel_size"]), strides=_pair(c["strides"]),
        padding=c["padding"], dilation_rate=_pair(c["dilation_rate"]),
        activation=c["activation"], use_bias=c["use_bias"], name=c["name"],
    )


def _depthwise(c: Config) -> keras.layers.Layer:
    return keras.layers.DepthwiseConv2D(
        _pair(c["kernel_size"]), strides=_pair(c["strides"]), padding=c["padding"],
        depth_multiplier=c["depth_multiplier"], dilation_rate=_pair(c["dilation_rate"]),
        activation=c["activation"], use_bias=c["use_bias"], name=c["name"],
    )


def _batchnorm(c: Config) -> keras.layers.Layer:
    if c["axis"] not in (-1, 3):
        raise TfjsFormatError(f"{c['name']}: batch norm over axis {c['axis']}")
    return keras.layers.BatchNormalization(
        axis=-1, momentum=c["momentum"], epsilon=c["epsilon"], center=c["center"],
        scale=c["scale"], name=c["name"],
    )


def _pool(kind: type[keras.layers.Layer]) -> Callable[[Config], keras.layers.Layer]:
    def build(c: Config) -> keras.layers.Layer:
        return kind(
            pool_size=_pair(c["pool_size"]), strides=_pair(c["strides"]),
            padding=c["padding"], name=c["name"],
        )

    return build


BUILDERS: dict[str, Callable[[Config], keras.layers.Layer]] = {
    "Conv2D": _conv,
    "DepthwiseConv2D": _depthwise,
    "BatchNormalization": _batchnorm,
    "ZeroPadding2D": lambda c: keras.layers.ZeroPadding2D(
        tuple(_pair(p) for p in c["padding"]), name=c["name"]),
    "ReLU": lambda c: keras.layers.ReLU(
        c["max_value"], c["negative_slope"], c["threshold"], name=c["name"]),
    "Activation": lambda c: keras.layers.Activation(c["activation"], name=c["name"]),
    "Add": lambda c: keras.layers.Add(name=c["name"]),
    "Concatenate": lambda c: keras.layers.Concatenate(axis=c["axis"], name=c["name"]),
    "AveragePooling2D": _pool(keras.layers.AveragePooling2D),
    "MaxPooling2D": _pool(keras.layers.MaxPooling2D),
    "Flatten": lambda c: keras.layers.Flatten(name=c["name"]),
    "Dropout": lambda c: keras.layers.Dropout(c["rate"], name=c["name"]),
    "Dense": lambda c: keras.layers.Dense(
        c["units"], activation=c["activation"], use_bias=c["use_bias"], name=c["name"]),
}


def build(
    topology: Config,
    weights: dict[str, np.ndarray],
    output: str | None = None,
    input_shape: tuple[int | None, ...] | None = None,
) -> keras.Model:
    """Return the Keras model from `topology` (model.json's modelTopology) up to layer `output`.

    Without `output` the model ends at the config's output layer; `input_shape` (H, W, C)
    overrides the config's, e.g. (None, None, 3) for a fully convolutional part.
    """
    config = topology["model_config"]["config"]
    specs = {layer["name"]: layer for layer in config["layers"]}
    (in_name, *_), = config["input_layers"]
    (out_name, *_), = config["output_layers"]
    shape = input_shape or tuple(specs[in_name]["config"]["batch_input_shape"][1:])
    tensors = {in_name: keras.Input(shape=shape, name=in_name)}
    for spec in config["layers"]:  # a Keras config lists layers in topological order
        if spec["name"] not in tensors:
            tensors[spec["name"]] = _call(spec, tensors)
        if spec["name"] == (output or out_name):
            break
    model = keras.Model(tensors[in_name], tensors[output or out_name])
    set_weights(model, weights)
    return model


def _call(spec: Config, tensors: dict[str, Any]) -> Any:
    if spec["class_name"] not in BUILDERS:
        raise TfjsFormatError(f"{spec['name']}: layer type {spec['class_name']}")
    if spec["config"].get("data_format", "channels_last") != "channels_last":
        raise TfjsFormatError(f"{spec['name']}: {spec['config']['data_format']}")
    (node,) = spec["inbound_nodes"]  # each layer is called once in these models
    inputs = [tensors[name] for name, *_ in node]
    layer = BUILDERS[spec["class_name"]](spec["config"])
    return layer(inputs if len(inputs) > 1 else inputs[0])


def set_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> set[str]:
    """Assign `weights` ("layer/variable" -> array) to each variable of `model`; return the keys."""
    used = set()
    for layer in model.layers:
        for variable in layer.weights:
            name = variable.name
            if isinstance(layer, keras.layers.DepthwiseConv2D) and name == "kernel":
                name = "depthwise_kernel"  # the Keras 2 name, which TF.js keeps
            key = f"{layer.name}/{name}"
            if key not in weights:
                raise TfjsFormatError(f"no weights for {key}")
            if tuple(variable.shape) != weights[key].shape:
                raise TfjsFormatError(f"{key}: {weights[key].shape} for {variable.shape}")
            variable.assign(weights[key])
            used.add(key)
    return used
