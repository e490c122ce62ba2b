"""Build a Keras model from a TF.js *graph* model (a frozen GraphDef as JSON) and its weights.

Maps the ops of nsfwjs's MobileNetV2Mid (a TF Hub MobileNetV2 with a dense head): batch norm
is already folded into the convolutions' biases by the TF.js converter.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from .tfjs_files import TfjsFormatError

Node = dict[str, Any]
_ACTIVATIONS = {(): None, ("Relu",): "relu", ("Relu6",): "relu6"}


def _attr_text(node: Node, key: str) -> str:
    return base64.b64decode(node["attr"][key]["s"]).decode()


def _ints(node: Node, key: str) -> list[int]:
    return [int(i) for i in node["attr"][key]["list"]["i"]]


def _fused(node: Node) -> str | None:
    ops = tuple(base64.b64decode(s).decode() for s in node["attr"]["fused_ops"]["list"]["s"])
    if not ops or ops[0] != "BiasAdd" or ops[1:] not in _ACTIVATIONS:
        raise TfjsFormatError(f"{node['name']}: fused ops {ops}")
    return _ACTIVATIONS[ops[1:]]


def _conv_args(node: Node) -> dict[str, Any]:
    if _attr_text(node, "data_format") != "NHWC":
        raise TfjsFormatError(f"{node['name']}: {_attr_text(node, 'data_format')}")
    padding = _attr_text(node, "padding")
    if padding not in ("SAME", "VALID"):
        raise TfjsFormatError(f"{node['name']}: padding {padding}")
    _, sh, sw, _ = _ints(node, "strides")
    _, dh, dw, _ = _ints(node, "dilations")
    return {"strides": (sh, sw), "dilation_rate": (dh, dw), "padding": padding.lower(),
            "activation": _fused(node), "name": _short(node)}


def _short(node: Node) -> str:
    return node["name"].split("/predict/")[-1].replace("/", "_")


def _conv(node: Node, kernel: np.ndarray) -> keras.layers.Layer:
    return keras.layers.Conv2D(kernel.shape[3], kernel.shape[:2], **_conv_args(node))


def _depthwise(node: Node, kernel: np.ndarray) -> keras.layers.Layer:
    return keras.layers.DepthwiseConv2D(
        kernel.shape[:2], depth_multiplier=kernel.shape[3], **_conv_args(node))


def _matmul(node: Node, kernel: np.ndarray) -> keras.layers.Layer:
    if node["attr"]["transpose_a"]["b"] or node["attr"]["transpose_b"]["b"]:
        raise TfjsFormatError(f"{node['name']}: transposed matmul")
    return keras.layers.Dense(kernel.shape[1], activation=_fused(node), name=_short(node))


_WEIGHTED: dict[str, Callable[[Node, np.ndarray], keras.layers.Layer]] = {
    "_FusedConv2D": _conv, "FusedDepthwiseConv2dNative": _depthwise, "_FusedMatMul": _matmul,
}


def build(
    model_json: dict[str, Any],
    weights: dict[str, np.ndarray],
    output: str | None = None,
    input_shape: tuple[int | None, ...] | None = None,
) -> keras.Model:
    """Return the Keras model computing node `output` (default: the graph's output).

    `input_shape` (H, W, C) overrides the placeholder's, e.g. (None, None, 3).
    """
    nodes = {node["name"]: node for node in model_json["modelTopology"]["node"]}
    (placeholder,) = [n for n in nodes.values() if n["op"] == "Placeholder"]
    dims = [int(d["size"]) for d in placeholder["attr"]["shape"]["shape"]["dim"]]
    shape = input_shape or tuple(d if d > 0 else None for d in dims[1:])
    inp = keras.Input(shape=shape, name=placeholder["name"])
    tensors: dict[str, Any] = {placeholder["name"]: inp}
    out = _resolve(output or _graph_output(model_json), nodes, weights, tensors)
    return keras.Model(inp, out)


def _graph_output(model_json: dict[str, Any]) -> str:
    (name,) = model_json["userDefinedMetadata"]["signature"]["outputs"].values()
    return name["name"].split(":")[0]


def _resolve(name: str, nodes: dict[str, Node], weights: dict[str, np.ndarray],
             tensors: dict[str, Any]) -> Any:
    if name not in tensors:
        node = nodes[name]
        args = [_resolve(i, nodes, weights, tensors) if nodes[i]["op"] != "Const"
                else weights[i] for i in node["input"]]
        tensors[name] = _apply(node, args)
    return tensors[name]


def _apply(node: Node, args: list[Any]) -> Any:
    op = node["op"]
    if op in _WEIGHTED:
        x, kernel, bias = args
        layer = _WEIGHTED[op](node, kernel)
        out = layer(x)
        layer.set_weights([kernel, bias])
        return out
    if op == "Mul" and np.ndim(args[0]) == 0:  # hub_input: x * 2 - 1
        return keras.layers.Rescaling(float(args[0]), name=_short(node))(args[1])
    if op == "Sub" and np.ndim(args[1]) == 0:
        return keras.layers.Rescaling(1.0, -float(args[1]), name=_short(node))(args[0])
    if op == "AddV2":
        return keras.layers.Add(name=_short(node))(args)
    if op == "AvgPool":
        _, kh, kw, _ = _ints(node, "ksize")
        _, sh, sw, _ = _ints(node, "strides")
        return keras.layers.AveragePooling2D(
            (kh, kw), (sh, sw), _attr_text(node, "padding").lower(), name=_short(node))(args[0])
    if op == "Squeeze" and _ints(node, "squeeze_dims") == [1, 2]:
        return keras.layers.Flatten(name=_short(node))(args[0])
    if op == "Softmax":
        return keras.layers.Softmax(name=_short(node))(args[0])
    if op == "Identity":
        return args[0]
    raise TfjsFormatError(f"{node['name']}: op {op}")
