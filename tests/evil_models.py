"""Models that touch the server when run: one per forbidden family, each a real TF graph.

Every graph is a working classifier of the tiny models' shape (`input:0` 32x32x3 in,
`final_result:0` six scores out) whose scores wait, by a control dependency, on an
operation that writes a file, reads one, lists a folder or runs Python.
"""

from __future__ import annotations

import contextlib
import os
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from tests.model_factory import INPUT_SIZE, LABELS

FAMILIES = ("write", "read", "list", "py_func")
OP_OF = {"write": "WriteFile", "read": "ReadFile", "list": "MatchingFiles", "py_func": "PyFunc"}
PY_CALLS: list[int] = []  # one item per call of the py_func family's Python function
_GRAPHS: list = []  # a py_func's callback lives only as long as the graph that made it


def _side_effect(family: str, target: Path):  # noqa: ANN202 - a tf.Tensor or Operation
    import tensorflow as tf

    if family == "write":
        return tf.io.write_file(str(target), "pwned")
    if family == "read":
        return tf.io.read_file(str(target))
    if family == "list":
        return tf.io.matching_files(str(target / "*"))
    def called() -> np.float32:
        PY_CALLS.append(1)
        return np.float32(0)

    return tf.compat.v1.py_func(called, [], tf.float32)


def _classifier(images):  # noqa: ANN001, ANN202
    import tensorflow as tf

    weights = np.linspace(-1, 1, 3 * len(LABELS), dtype=np.float32).reshape(3, -1)
    return tf.matmul(tf.reduce_mean(images, axis=[1, 2]), weights)


def evil_graph(family: str, target: Path, in_function: bool = False):  # noqa: ANN201
    """A frozen GraphDef whose scores depend on the family's side effect on `target`.

    `in_function`: the side effect sits in a `tf.cond` branch, i.e. in the function library.
    """
    import tensorflow as tf

    graph = tf.Graph()
    _GRAPHS.append(graph)
    with graph.as_default():
        images = tf.compat.v1.placeholder(tf.float32, [None, INPUT_SIZE, INPUT_SIZE, 3], "input")
        if in_function:
            tf.compat.v1.enable_control_flow_v2()
            zero = tf.cond(tf.reduce_sum(images) > -1.0,
                           lambda: _as_zero(_side_effect(family, target)),
                           lambda: tf.constant(0.0))
        else:
            zero = _as_zero(_side_effect(family, target))
        tf.nn.softmax(_classifier(images) + zero, name="final_result")
    return graph.as_graph_def()


def _as_zero(side):  # noqa: ANN001, ANN202
    """Fold the side effect into the scores as a zero, so no optimiser can drop it."""
    import tensorflow as tf

    if isinstance(side, tf.Operation):
        with tf.control_dependencies([side]):
            return tf.constant(0.0)
    if side.dtype == tf.string:
        side = tf.cast(tf.reduce_sum(tf.strings.length(side)), tf.float32)
    return side * 0.0


def write_evil_pb(folder: Path, family: str, target: Path, in_function: bool = False) -> Path:
    path = folder / f"evil_{family}{'_fn' if in_function else ''}.pb"
    path.write_bytes(evil_graph(family, target, in_function).SerializeToString())
    return path


def run_unchecked(graph_def, fetch: str = "final_result:0") -> np.ndarray:  # noqa: ANN001
    """Run a graph the way Pinpoint did before the check: the probes' own control."""
    import tensorflow as tf

    wrapped = tf.compat.v1.wrap_function(
        lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    run = wrapped.prune(wrapped.graph.get_tensor_by_name("input:0"),
                        wrapped.graph.get_tensor_by_name(fetch))
    return run(tf.zeros([1, INPUT_SIZE, INPUT_SIZE, 3])).numpy()


def write_evil_savedmodel(folder: Path, target: Path) -> Path:
    """A SavedModel whose serving function writes `target` (inside a nested tf.function)."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3], tf.float32)

    @tf.function
    def leak():  # noqa: ANN202
        with tf.control_dependencies([tf.io.write_file(str(target), "pwned")]):
            return tf.constant(0.0)

    class Evil(tf.Module):
        @tf.function(input_signature=[spec])
        def serve(self, images):  # noqa: ANN001, ANN202
            with tf.control_dependencies([leak()]):
                return {"output_0": tf.nn.softmax(_classifier(images))}

    module = Evil()
    path = folder / "evil_savedmodel"
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


@contextmanager
def fifo_watch(path: Path):  # noqa: ANN201 - yields a threading.Event
    """A FIFO at `path`; the event it yields is set once anyone opens it for reading.

    The writer serves every reader that comes (TensorFlow may open a file more than once).
    """
    os.mkfifo(path)
    opened, stop = threading.Event(), threading.Event()

    def writer() -> None:
        while True:
            fd = os.open(path, os.O_WRONLY)  # blocks until a reader opens the FIFO
            try:
                if stop.is_set():
                    return
                opened.set()
                with contextlib.suppress(OSError):  # the reader may be gone already (EPIPE)
                    os.write(fd, b"secret")
            finally:
                os.close(fd)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        yield opened
    finally:
        stop.set()
        reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # releases the waiting writer
        thread.join(5)
        os.close(reader)
