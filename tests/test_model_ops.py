import contextlib
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from predictor import ModelLoadError, Predictor, UnsafeModel, VersionRejected, load_versions
from predictor.learning.uploads import InputSpec, ModelFile, add_version
from predictor.model_ops import check_graph_def, check_saved_model
from predictor.models import load_model
from tests import evil_models
from tests.evil_models import FAMILIES, OP_OF, fifo_watch, run_unchecked, write_evil_pb
from tests.model_factory import FEATURE_TENSOR, INPUT_SIZE, LABELS, manifest_entry

ROOT = Path(__file__).resolve().parent.parent
LABELS_TEXT = "\n".join(LABELS) + "\n"


@pytest.fixture
def manifest(tiny_models, tmp_path) -> Path:
    """A manifest serving the tiny Keras model as `color` 1.0.0."""
    shutil.copy(tiny_models / "tiny.keras", tmp_path / "tiny.keras")
    (tmp_path / "labels.txt").write_text(LABELS_TEXT)
    path = tmp_path / "manifest.toml"
    path.write_text(manifest_entry("color", "tiny.keras", version="1.0.0"))
    return path


@pytest.fixture
def graph_imports(monkeypatch) -> list:
    """Every graph TensorFlow is asked to import or load from here on (none, if refused)."""
    from predictor.models import tensorflow

    tf, seen = tensorflow(), []
    for owner, name in ((tf.compat.v1, "import_graph_def"), (tf.saved_model, "load")):
        real = getattr(owner, name)

        def spy(*args, _real=real, **kwargs):  # noqa: ANN002, ANN003, ANN202
            seen.append(args)
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, spy)
    return seen


def _target(tmp_path: Path, family: str) -> Path:
    """What the family's op would touch: a file to write, a FIFO to read, a folder to list."""
    target = tmp_path / "victim" / f"{family}_target"
    target.parent.mkdir(exist_ok=True)
    if family == "list":
        target.mkdir()
        (target / "secret.txt").write_text("secret")
    return target


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if "victim" not in p.parts)


def _refused_without_effect(tmp_path, family, attempt, error) -> str:
    """Run `attempt`; it must raise `error`, and the family's effect must not have happened."""
    target, calls = _target(tmp_path, family), len(evil_models.PY_CALLS)
    if family == "read":
        with fifo_watch(target) as opened:
            with pytest.raises(error) as refused:
                attempt(target)
            assert not opened.is_set()  # nobody opened the file to read it
    else:
        with pytest.raises(error) as refused:
            attempt(target)
    assert not (family == "write" and target.exists())
    assert len(evil_models.PY_CALLS) == calls
    return str(refused.value)


@pytest.mark.parametrize("in_function", [False, True], ids=["graph", "function_library"])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_frozen_graph_that_touches_the_server_is_refused_at_upload(
        manifest, tmp_path, graph_imports, family, in_function):
    before, tree = manifest.read_bytes(), _tree(manifest.parent)

    def upload(target: Path) -> None:
        evil = write_evil_pb(tmp_path / "victim", family, target, in_function)
        add_version(manifest, "color", ModelFile.from_path(evil), LABELS_TEXT,
                    InputSpec(INPUT_SIZE))

    message = _refused_without_effect(tmp_path, family, upload, VersionRejected)
    assert message.startswith("the model is refused: model 'color' (model.pb): holds the "
                              f"operation '{OP_OF[family]}'")
    assert ("in function 'cond_true" in message) == in_function
    assert graph_imports == []  # TensorFlow never imported the graph
    assert manifest.read_bytes() == before and _tree(manifest.parent) == tree


@pytest.mark.parametrize("family", FAMILIES)
def test_a_frozen_graph_that_touches_the_server_is_refused_at_every_load(
        tmp_path, graph_imports, family):
    """The file was swapped after its upload: serving, shadows and evaluate load it again."""
    (tmp_path / "labels.txt").write_text(LABELS_TEXT)

    def serve(target: Path) -> None:
        evil = write_evil_pb(tmp_path, family, target)
        (tmp_path / "manifest.toml").write_text(manifest_entry("color", evil.name))
        Predictor.from_manifest(tmp_path / "manifest.toml")

    message = _refused_without_effect(tmp_path, family, serve, UnsafeModel)
    assert f"holds the operation '{OP_OF[family]}' (node '{OP_OF[family]}')" in message
    assert graph_imports == []


@pytest.mark.parametrize("family", FAMILIES)
def test_the_probes_see_what_an_unchecked_load_does(tmp_path, family):
    """The same graphs, run as Pinpoint ran them before the check, do touch the server."""
    target, calls = _target(tmp_path, family), len(evil_models.PY_CALLS)
    if family == "read":
        graph = evil_models.evil_graph(family, target)

        def read() -> None:
            with contextlib.suppress(Exception):  # TF opens the FIFO, then cannot seek in it
                run_unchecked(graph)

        with fifo_watch(target) as opened:
            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            assert opened.wait(60)
            reader.join(60)  # (a daemon: should TF ever block on the FIFO, the run goes on)
    elif family == "list":
        listed = run_unchecked(evil_models.evil_graph(family, target), "MatchingFiles:0")
        assert [Path(p.decode()).name for p in listed] == ["secret.txt"]
    else:
        scores = run_unchecked(evil_models.evil_graph(family, target))
        assert scores.shape == (1, len(LABELS))
        if family == "write":
            assert target.read_text() == "pwned"
        else:
            assert len(evil_models.PY_CALLS) == calls + 1


def test_a_savedmodel_that_writes_a_file_is_refused_at_upload(manifest, tmp_path,
                                                                graph_imports):
    marker = tmp_path / "PWNED_SAVEDMODEL"
    folder = evil_models.write_evil_savedmodel(tmp_path, marker)
    zipped = tmp_path / "evil.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for path in folder.rglob("*"):
            archive.write(path, Path("exported") / path.relative_to(folder))
    with pytest.raises(VersionRejected, match="holds the operation 'WriteFile' "
                                              r"\(node 'WriteFile' in function '__inference_leak"):
        add_version(manifest, "color", ModelFile.from_path(zipped), LABELS_TEXT,
                    InputSpec(INPUT_SIZE))
    assert not marker.exists() and graph_imports == []
    (tmp_path / "labels.txt").write_text(LABELS_TEXT)
    (tmp_path / "m.toml").write_text(manifest_entry("evil", folder.name))
    with pytest.raises(UnsafeModel, match="'WriteFile'"):
        load_model(load_versions(tmp_path / "m.toml")[0])
    assert not marker.exists()
    import tensorflow as tf  # the control: TensorFlow itself would have written it

    tf.saved_model.load(str(folder)).signatures["serving_default"](tf.zeros([1, 32, 32, 3]))
    assert marker.read_text() == "pwned"


def test_a_savedmodel_may_not_call_its_own_save_op_when_serving(tmp_path):
    import tensorflow as tf

    class Saver(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None, INPUT_SIZE, INPUT_SIZE, 3])])
        def serve(self, images):  # noqa: ANN001, ANN202
            saved = tf.raw_ops.SaveV2(prefix=str(tmp_path / "ckpt"), tensor_names=["x"],
                                      shape_and_slices=[""], tensors=[images])
            with tf.control_dependencies([saved]):
                return {"out": tf.reduce_mean(images, axis=[1, 2])}

    module = Saver()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    with pytest.raises(UnsafeModel, match="'SaveV2'"):
        check_saved_model(tf.__internal__.saved_model.parse_saved_model(str(tmp_path / "sm")),
                          "sm")


def test_a_bare_op_named_as_a_function_is_refused():
    """PartitionedCall(f="WriteFile") runs the op itself: TensorFlow instantiates bare ops."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    node = graph_def.node.add(name="call", op="PartitionedCall")
    node.attr["f"].func.name = "WriteFile"
    with pytest.raises(UnsafeModel, match="holds the operation 'WriteFile' \\(node 'call'\\)"):
        check_graph_def(graph_def, "g")


def _tflite(fn, *, flex: bool) -> bytes:  # noqa: ANN001
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    if flex:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                               tf.lite.OpsSet.SELECT_TF_OPS]
    converter.allow_custom_ops = not flex
    return converter.convert()


@pytest.fixture(scope="module")
def evil_tflite(tmp_path_factory) -> dict[str, bytes]:
    """A TFLite model writing a file as a custom op, as a Flex op, and as a relabelled Flex op."""
    import tensorflow as tf

    marker = tmp_path_factory.mktemp("tfl") / "PWNED_TFLITE"

    @tf.function(input_signature=[tf.TensorSpec([1, INPUT_SIZE, INPUT_SIZE, 3])])
    def write(images):  # noqa: ANN001, ANN202
        weights = np.linspace(-1, 1, 3 * len(LABELS), dtype=np.float32).reshape(3, -1)
        with tf.control_dependencies([tf.io.write_file(str(marker), "pwned")]):
            return tf.nn.softmax(tf.matmul(tf.reduce_mean(images, axis=[1, 2]), weights))

    flex = _tflite(write, flex=True)
    assert flex.count(b"FlexWriteFile") == 1
    return {"custom": _tflite(write, flex=False), "flex": flex,
            # The label says an allowed op; the NodeDef TensorFlow would run says WriteFile.
            "relabelled": flex.replace(b"FlexWriteFile", b"FlexZerosLike")}


@pytest.mark.parametrize(("kind", "message"), [
    ("custom", "holds the custom TFLite operation 'WriteFile'"),
    ("flex", "holds the operation 'WriteFile' (as the TFLite Flex operation 'FlexWriteFile')"),
    ("relabelled", "holds the operation 'WriteFile' (as the TFLite Flex operation "
                   "'FlexZerosLike')"),
])
def test_a_tflite_model_with_a_custom_or_flex_file_op_is_refused(manifest, evil_tflite, kind,
                                                                  message):
    with pytest.raises(VersionRejected) as refused:
        add_version(manifest, "color", ModelFile("evil.tflite", evil_tflite[kind]),
                    LABELS_TEXT, InputSpec(INPUT_SIZE))
    assert message in str(refused.value)


def test_the_shipped_models_pass_the_check_and_load():
    specs = load_versions(ROOT / "models" / "manifest.toml")
    assert {s.version for s in specs} == {"1.0.0", "2.0.0", "3.0.0", "3.1.0", "3.2.0",
                                          "3.3.0"} and len(specs) == 10
    # color 3.0.0 and 3.1.0, theme 3.0.0 to 3.3.0: a TFLite extractor + head.npz
    assert sum(s.head is not None for s in specs) == 6
    for spec in specs:
        assert load_model(spec, copies=1).probabilities(
            np.zeros((1, spec.input_size, spec.input_size, 3), np.float32)).shape == \
            (1, len(spec.labels))


@pytest.mark.parametrize("file", ["tiny.pb", "tiny_savedmodel"])
def test_a_retrained_head_on_a_frozen_model_still_loads(tiny_models, tmp_path, file):
    """retrain's output: the base graph (or SavedModel) plus head.npz on its features."""
    feature = FEATURE_TENSOR if file.endswith(".pb") else "output_0"
    (tmp_path / "labels.txt").write_text(LABELS_TEXT)
    width = 8 if file.endswith(".pb") else len(LABELS)
    np.savez(tmp_path / "head.npz", weights=np.ones((width, len(LABELS)), np.float32),
             bias=np.arange(len(LABELS), dtype=np.float32))
    (tmp_path / "m.toml").write_text(manifest_entry(
        "tiny", str(tiny_models / file), feature_tensor=feature, head="head.npz"))
    scores = load_model(load_versions(tmp_path / "m.toml")[0]).probabilities(
        np.zeros((1, INPUT_SIZE, INPUT_SIZE, 3), np.float32))
    assert int(scores.argmax()) == len(LABELS) - 1  # the head's bias decides on equal features


def test_a_damaged_tflite_file_is_a_load_error_not_a_crash(tmp_path):
    (tmp_path / "labels.txt").write_text(LABELS_TEXT)
    (tmp_path / "x.tflite").write_bytes(b"\x00" * 3)
    (tmp_path / "m.toml").write_text(manifest_entry("x", "x.tflite"))
    with pytest.raises(ModelLoadError):
        load_model(load_versions(tmp_path / "m.toml")[0])


def _saved_model(nodes: dict[str, tuple[str, list[str]]]):  # noqa: ANN202
    """A SavedModel proto whose saver saves at `save` and restores at `restore_all`."""
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    meta = proto.meta_graphs.add()
    meta.saver_def.save_tensor_name = "save:0"
    meta.saver_def.restore_op_name = "restore_all"
    for name, (op, inputs) in nodes.items():
        meta.graph_def.node.add(name=name, op=op, input=inputs)
    return proto


@pytest.mark.parametrize(("nodes", "refused"), [
    ({"save": ("SaveV2", ["filename"]), "restore_all": ("RestoreV2", ["filename"]),
      "filename": ("Const", [])}, None),  # the saver's own: fine
    ({"save": ("SaveV2", ["filename"]), "restore_all": ("NoOp", ["^write"]),
      "write": ("SaveV2", ["filename"]), "filename": ("Const", [])}, "SaveV2"),  # run at load
    ({"save": ("SaveV2", ["filename"]), "restore_all": ("RestoreV2", ["filename"]),
      "filename": ("Const", []), "out": ("Identity", ["x", "^save"]),
      "x": ("Placeholder", [])}, "SaveV2"),  # serving reaches the save op
    ({"save": ("Identity", ["filename"]), "restore_all": ("NoOp", []),
      "filename": ("Const", []), "read": ("ReadFile", ["filename"])}, "ReadFile"),
])
def test_a_savedmodel_may_save_and_restore_only_where_its_saver_alone_reaches(nodes, refused):
    if refused is None:
        check_saved_model(_saved_model(nodes), "sm")
    else:
        with pytest.raises(UnsafeModel, match=f"'{refused}'"):
            check_saved_model(_saved_model(nodes), "sm")
