"""Load every supported model format behind one call; the only module that imports TensorFlow."""

from __future__ import annotations

import functools
import os
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from .errors import ModelLoadError
from .manifest import ModelSpec
from .model_ops import check_graph_def, check_saved_model, check_tflite

Runner = Callable[[np.ndarray], np.ndarray]
DEFAULT_COPIES = min(4, os.cpu_count() or 1)


@contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence TensorFlow's start-up log lines, which bypass Python's logging."""
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@functools.cache
def _tf():  # noqa: ANN202 - the tensorflow module
    """Import TensorFlow on first need: a TFLite-only manifest never pays its ~3 s and 500 MB."""
    with _quiet_stderr():
        import tensorflow

    return tensorflow


def tensorflow():  # noqa: ANN201 - the tensorflow module
    """Return TensorFlow, imported once and quietly (for tools that run Keras themselves)."""
    return _tf()


def _interpreter_class():  # noqa: ANN202
    try:  # TensorFlow's own tf.lite.Interpreter is deprecated in favour of LiteRT
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - LiteRT is in requirements.txt
        return _tf().lite.Interpreter
    return Interpreter


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to call from any thread, with what it cost to get it ready."""

    spec: ModelSpec
    run: Runner
    load_ms: float
    warmup_ms: float

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Return class probabilities, shape (n, labels), for a float32 NHWC batch."""
        out = self.run(batch)
        if self.spec.outputs == "logits":
            shifted = np.exp(out - out.max(axis=1, keepdims=True))
            out = shifted / shifted.sum(axis=1, keepdims=True)
        return out


def configure_threads(intra_op: int = 0, inter_op: int = 0) -> None:
    """Set TensorFlow's thread pools (0 = TF's default); only possible before TF first runs."""
    tf = _tf()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:
        pass  # TF already initialised: its pools are fixed for this process


def load_model(spec: ModelSpec, copies: int | None = None) -> LoadedModel:
    """Load, check against the labels, and warm up one model.

    `copies` (TFLite only; default: one per CPU core, at most 4) lets that many threads
    run the model at once; TensorFlow functions are re-entrant and need no copies.
    """
    started = time.perf_counter()
    copies = copies or DEFAULT_COPIES
    try:
        with _quiet_stderr():
            if spec.format == "tflite":
                run = _with_head(spec, _load_tflite(spec, copies))
            else:
                run = _LOADERS[spec.format](spec)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(
            f"model {spec.name!r}: cannot load {spec.path}: {_short(exc)}"
        ) from None
    loaded = time.perf_counter()
    dummy = np.zeros((1, spec.input_size, spec.input_size, 3), np.float32)
    try:
        out = run(dummy)
    except Exception as exc:
        size = f"{spec.input_size}x{spec.input_size}x3"
        raise ModelLoadError(f"model {spec.name!r}: a {size} input fails: {_short(exc)}") from None
    if out.shape != (1, len(spec.labels)):
        raise ModelLoadError(
            f"model {spec.name!r} outputs {out.shape[-1] if out.ndim else 0} classes "
            f"but {spec.labels_path.name} has {len(spec.labels)} labels"
        )
    warmed = time.perf_counter()
    return LoadedModel(spec, run, (loaded - started) * 1e3, (warmed - loaded) * 1e3)


def _signature(spec: ModelSpec):  # noqa: ANN202 - a tf.TensorSpec
    return _tf().TensorSpec([None, spec.input_size, spec.input_size, 3], "float32")


def _load_keras(spec: ModelSpec) -> Runner:
    tf = _tf()
    import keras

    model = keras.saving.load_model(spec.path, compile=False)
    _check_input_shape(spec, model.input_shape)
    call = tf.function(lambda x: model(x, training=False), input_signature=[_signature(spec)])
    concrete = call.get_concrete_function()
    return lambda batch: concrete(tf.constant(batch)).numpy()


def _load_savedmodel(spec: ModelSpec) -> Runner:
    return _with_head(spec, _savedmodel_output(spec, spec.feature_tensor if spec.head else None))


def _savedmodel_output(spec: ModelSpec, wanted: str | None) -> Runner:
    tf = _tf()
    # The proto TensorFlow itself would read, checked before TensorFlow runs any of it.
    check_saved_model(tf.__internal__.saved_model.parse_saved_model(str(spec.path)),
                      _what(spec))
    loaded = tf.saved_model.load(str(spec.path))
    if "serving_default" not in loaded.signatures:
        raise ModelLoadError(f"model {spec.name!r}: SavedModel has no serving_default signature")
    signature = loaded.signatures["serving_default"]
    ((input_name, input_spec),) = signature.structured_input_signature[1].items()
    _check_input_shape(spec, input_spec.shape.as_list())
    outputs = list(signature.structured_outputs.keys())
    if (wanted is None and len(outputs) != 1) or (wanted is not None and wanted not in outputs):
        raise ModelLoadError(f"model {spec.name!r}: the serving signature's outputs are "
                             f"{outputs}; feature_tensor must name one of them")
    output_name = wanted or outputs[0]

    def run(batch: np.ndarray) -> np.ndarray:
        # `loaded` is referenced here so its variables live as long as the runner.
        return loaded.signatures["serving_default"](**{input_name: tf.constant(batch)})[
            output_name
        ].numpy()

    return run


def _load_graphdef(spec: ModelSpec) -> Runner:
    return _with_head(spec, _graphdef_output(
        spec, spec.feature_tensor if spec.head else spec.output_tensor))


def _graphdef_output(spec: ModelSpec, tensor: str | None) -> Runner:
    tf = _tf()
    graph_def = tf.compat.v1.GraphDef()
    graph_def.ParseFromString(spec.path.read_bytes())
    check_graph_def(graph_def, _what(spec))

    def _import() -> None:
        tf.compat.v1.import_graph_def(graph_def, name="")

    wrapped = tf.compat.v1.wrap_function(_import, [])
    try:
        feed = wrapped.graph.get_tensor_by_name(spec.input_tensor)
        fetch = wrapped.graph.get_tensor_by_name(tensor or spec.output_tensor)
    except (KeyError, ValueError) as exc:
        raise ModelLoadError(f"model {spec.name!r}: {_short(exc)} (set input_tensor / "
                             "output_tensor / feature_tensor in the manifest)") from None
    if feed.shape.rank is not None:
        _check_input_shape(spec, feed.shape.as_list())
    pruned = wrapped.prune(feeds=feed, fetches=fetch)
    return lambda batch: pruned(tf.constant(batch)).numpy()


def feature_runner(spec: ModelSpec) -> Runner:
    """Return a runner giving the features a head reads, flattened: a frozen graph's or
    SavedModel's `feature_tensor`, or the output of a TFLite feature extractor with a head."""
    tflite_features = spec.format == "tflite" and spec.head is not None
    if not tflite_features and (
            spec.feature_tensor is None or spec.format not in ("graphdef", "savedmodel")):
        raise ModelLoadError(f"model {spec.name!r} has no feature_tensor to read")
    try:
        with _quiet_stderr():
            if tflite_features:
                run = _load_tflite(spec, 1)
            elif spec.format == "savedmodel":
                run = _savedmodel_output(spec, spec.feature_tensor)
            else:
                run = _graphdef_output(spec, spec.feature_tensor)
    except ModelLoadError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"model {spec.name!r}: cannot load {spec.path}: {_short(exc)}") \
            from None
    return lambda batch: run(batch).reshape(len(batch), -1)


def _with_head(spec: ModelSpec, features: Runner) -> Runner:
    """Run a retrained head (head.npz: weights, bias) on the features a frozen model gives."""
    if spec.head is None:
        return features
    with np.load(spec.head) as head:
        weights, bias = head["weights"].astype(np.float32), head["bias"].astype(np.float32)

    def run(batch: np.ndarray) -> np.ndarray:
        logits = features(batch).reshape(len(batch), -1) @ weights + bias
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    return run


def _load_tflite(spec: ModelSpec, copies: int = 1) -> Runner:
    """Load `copies` interpreters; each serves one thread at a time, so N copies run N calls."""
    data = spec.path.read_bytes()  # checked once; every copy runs these very bytes
    check_tflite(data, _what(spec), _flex_node)
    pool: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(max(1, copies)):
        pool.put(_tflite_interpreter(spec, data))

    def run(batch: np.ndarray) -> np.ndarray:
        interpreter, input_details, output_details = pool.get()
        try:
            rows = []
            for row in batch:
                interpreter.set_tensor(input_details["index"], _quantize(row[None], input_details))
                interpreter.invoke()
                out = interpreter.get_tensor(output_details["index"])
                rows.append(_dequantize(out, output_details))
            return np.concatenate(rows).astype(np.float32)
        finally:
            pool.put((interpreter, input_details, output_details))

    return run


def _tflite_interpreter(spec: ModelSpec, data: bytes) -> tuple:
    interpreter = _interpreter_class()(model_content=data, num_threads=1)
    (details,) = interpreter.get_input_details()
    _check_input_shape(spec, [None, *(int(dim) for dim in details["shape"][1:])])
    wanted = [1, spec.input_size, spec.input_size, 3]
    if list(details["shape"]) != wanted:
        interpreter.resize_tensor_input(details["index"], wanted)
    interpreter.allocate_tensors()
    details = interpreter.get_input_details()[0]
    interpreter.set_tensor(details["index"], np.zeros(wanted, details["dtype"]))
    interpreter.invoke()  # the first call initialises the kernels: pay it at load
    return interpreter, details, interpreter.get_output_details()[0]


def _what(spec: ModelSpec) -> str:
    return f"model {spec.name!r} ({spec.path.name})"


def _flex_node(serialized: bytes):  # noqa: ANN202 - a tf NodeDef
    """Parse the NodeDef a TFLite Flex op carries (TensorFlow is imported only if one does)."""
    node = _tf().compat.v1.NodeDef()
    node.ParseFromString(serialized)
    return node


def _check_input_shape(spec: ModelSpec, shape: list | tuple) -> None:
    """Refuse a manifest input_size that the model's declared input contradicts."""
    shape = list(shape)
    expected = [spec.input_size, spec.input_size, 3]
    if len(shape) != 4 or any(
        dim not in (None, -1, want) for dim, want in zip(shape[1:], expected, strict=True)
    ):
        raise ModelLoadError(
            f"model {spec.name!r} takes inputs of shape {shape}, but the manifest says "
            f"input_size = {spec.input_size} (expected {[None, *expected]})"
        )


def _quantize(batch: np.ndarray, details: dict) -> np.ndarray:
    scale, zero = details.get("quantization", (0.0, 0))
    if details["dtype"] == np.float32 or not scale:
        return batch.astype(details["dtype"])
    return np.round(batch / scale + zero).astype(details["dtype"])


def _dequantize(values: np.ndarray, details: dict) -> np.ndarray:
    scale, zero = details.get("quantization", (0.0, 0))
    if values.dtype == np.float32 or not scale:
        return values.astype(np.float32)
    return (values.astype(np.float32) - zero) * scale


_LOADERS: dict[str, Callable[[ModelSpec], Runner]] = {  # TFLite takes copies: see load_model
    "keras": _load_keras,
    "savedmodel": _load_savedmodel,
    "graphdef": _load_graphdef,
}


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
