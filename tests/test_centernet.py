"""training/centernet.py: a TF.js graph (fused convolutions, an upsampling frozen at one size)
becomes a TensorFlow graph that computes the same thing at any input size."""

import base64

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from training import centernet, tfjs_files  # noqa: E402


def _s(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(*values: int) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


def _fused(name: str, op: str, inputs: list[str], stride: int, ops: list[str]) -> dict:
    attr = {"T": {"type": "DT_FLOAT"}, "strides": _ints(1, stride, stride, 1),
            "padding": _s("SAME"), "data_format": _s("NHWC"), "dilations": _ints(1, 1, 1, 1),
            "num_args": {"i": "1"}, "epsilon": {"f": 0},
            "fused_ops": {"list": {"s": [_s(o)["s"] for o in ops]}}}
    if op == "_FusedConv2D":
        attr |= {"use_cudnn_on_gpu": {"b": True}, "explicit_paddings": {"list": {}}}
    return {"name": name, "op": op, "input": inputs, "attr": attr}


def _const(name: str, dtype: str = "DT_FLOAT") -> dict:
    return {"name": name, "op": "Const", "attr": {"dtype": {"type": dtype}}}


# Frozen at 8 x 8: the upsampling of the stride-2 branch back to the skip's size is a constant.
MODEL = {"modelTopology": {"node": [
    {"name": "x", "op": "Placeholder", "attr": {"dtype": {"type": "DT_FLOAT"}}},
    _const("k1"), _const("b1"), _const("dw"), _const("b2"), _const("k3"), _const("b3"),
    _const("size", "DT_INT32"), _const("axis", "DT_INT32"),
    _fused("down", "_FusedConv2D", ["x", "k1", "b1"], 2, ["BiasAdd", "Relu6"]),
    _fused("dwise", "FusedDepthwiseConv2dNative", ["down", "dw", "b2"], 1, ["BiasAdd"]),
    {"name": "up", "op": "ResizeBilinear", "input": ["dwise", "size"],
     "attr": {"T": {"type": "DT_FLOAT"}, "align_corners": {"b": False},
              "half_pixel_centers": {"b": False}}},
    _fused("skip", "_FusedConv2D", ["x", "k3", "b3"], 1, ["BiasAdd", "Relu"]),
    {"name": "out", "op": "ConcatV2", "input": ["skip", "up", "axis"],
     "attr": {"N": {"i": "2"}, "T": {"type": "DT_FLOAT"}, "Tidx": {"type": "DT_INT32"}}},
]}}


def _weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    w = {name: rng.normal(size=shape).astype(np.float32) for name, shape in (
        ("k1", (3, 3, 3, 4)), ("b1", (4,)), ("dw", (3, 3, 4, 1)), ("b2", (4,)),
        ("k3", (1, 1, 3, 2)), ("b3", (2,)))}
    return w | {"size": np.array([8, 8], np.int32), "axis": np.array(3, np.int32)}


def _reference(x: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    down = tf.nn.relu6(tf.nn.conv2d(x, w["k1"], 2, "SAME") + w["b1"])
    dwise = tf.nn.depthwise_conv2d(down, w["dw"], [1, 1, 1, 1], "SAME") + w["b2"]
    skip = tf.nn.relu(tf.nn.conv2d(x, w["k3"], 1, "SAME") + w["b3"])
    up = tf.compat.v1.image.resize_bilinear(dwise, tf.shape(skip)[1:3])
    return tf.concat([skip, up], 3).numpy()


def _run(frozen, x: np.ndarray) -> np.ndarray:  # noqa: ANN001
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(frozen, name=""), [])
    graph = wrapped.graph
    return wrapped.prune(graph.get_tensor_by_name("x:0"), graph.get_tensor_by_name("out:0"))(
        tf.constant(x)).numpy()


@pytest.mark.parametrize("size", [8, 12, 20])
def test_the_converted_graph_computes_the_original_at_any_size(size):
    weights = _weights()
    frozen = centernet.graph_def(MODEL, weights)
    assert not {n.op for n in frozen.node} & {"_FusedConv2D", "FusedDepthwiseConv2dNative"}
    x = np.random.default_rng(size).uniform(0, 255, (2, size, size, 3)).astype(np.float32)
    got = _run(frozen, x)
    assert got.shape == (2, size, size, 6)
    np.testing.assert_allclose(got, _reference(x, weights), rtol=1e-4, atol=1e-3)


def test_an_unknown_fused_activation_is_refused():
    model = {"modelTopology": {"node": [
        *MODEL["modelTopology"]["node"][:9],
        _fused("down", "_FusedConv2D", ["x", "k1", "b1"], 2, ["BiasAdd", "Elu"])]}}
    with pytest.raises(tfjs_files.TfjsFormatError, match="fused ops"):
        centernet.graph_def(model, _weights())


def test_float16_and_int32_weights_are_read_exactly():
    halves = np.array([0.5, -1.25, 3.0], np.float16)
    ints = np.array([7, -2], np.int32)
    manifest = [{"paths": ["s"], "weights": [
        {"name": "h", "shape": [3], "dtype": "float32",
         "quantization": {"dtype": "float16", "original_dtype": "float32"}},
        {"name": "i", "shape": [2], "dtype": "int32"}]}]
    decoded = tfjs_files.decode_weights(manifest, {"s": halves.tobytes() + ints.tobytes()})
    assert decoded["h"].dtype == np.float32 and decoded["h"].tolist() == [0.5, -1.25, 3.0]
    assert decoded["i"].tolist() == [7, -2]
