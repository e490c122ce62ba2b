import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from predictor import Predictor, VersionRejected, load_manifest, load_versions
from predictor.learning.uploads import InputSpec, ModelFile, add_version, parse_labels
from predictor.learning.versions import promote
from tests.model_factory import INPUT_SIZE, LABELS, build_tiny_models, manifest_entry

ROOT = Path(__file__).resolve().parent.parent
LABELS_TEXT = "\n".join(LABELS) + "\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """The tiny model in every format, a SavedModel zip, and a model whose scores are NaN."""
    import keras
    import numpy as np

    folder = build_tiny_models(tmp_path_factory.mktemp("tiny"))
    with zipfile.ZipFile(folder / "tiny_savedmodel.zip", "w") as archive:
        for path in (folder / "tiny_savedmodel").rglob("*"):
            archive.write(path, Path("exported") / path.relative_to(folder / "tiny_savedmodel"))
    keras.models.load_model(folder / "tiny.keras").save(folder / "tiny.h5")  # legacy HDF5
    broken = keras.models.load_model(folder / "tiny.keras")
    last = broken.layers[-1]
    last.set_weights([np.full_like(w, np.nan) for w in last.get_weights()])
    broken.save(folder / "nan.keras")
    return folder


@pytest.fixture
def manifest(tiny, tmp_path) -> Path:
    """A manifest serving the tiny Keras model as `color` 1.0.0."""
    shutil.copy(tiny / "tiny.keras", tmp_path / "tiny.keras")
    (tmp_path / "labels.txt").write_text(LABELS_TEXT)
    path = tmp_path / "manifest.toml"
    path.write_text(manifest_entry("color", "tiny.keras", version="1.0.0"))
    return path


def _tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize(("file", "expected_format", "extra"), [
    ("tiny.keras", "keras", {}),
    ("tiny.h5", "keras", {}),
    ("tiny.tflite", "tflite", {}),
    ("tiny_savedmodel.zip", "savedmodel", {}),
    ("tiny.pb", "graphdef", {"input_tensor": "input:0", "output_tensor": "final_result:0"}),
])
def test_a_working_upload_becomes_a_candidate(tiny, manifest, file, expected_format, extra):
    entry = add_version(manifest, "color", ModelFile.from_path(tiny / file), LABELS_TEXT,
                        InputSpec(INPUT_SIZE))
    assert entry["version"] == "1.1.0" and entry["format"] == expected_format
    assert {k: entry[k] for k in extra} == extra
    assert [s.version for s in load_manifest(manifest)] == ["1.0.0"]  # not served yet
    added = next(s for s in load_versions(manifest) if s.version == "1.1.0")
    assert (added.status, added.format, added.labels) == ("candidate", expected_format,
                                                          tuple(LABELS))
    assert added.path.is_relative_to(manifest.parent / "color" / "1.1.0")
    assert added.crop_fraction == 0.5  # the active version's
    assert not list((manifest.parent / "color").glob(".upload-*"))
    promote(manifest, "color", "1.1.0")  # and it really serves once promoted
    assert Predictor.from_manifest(manifest).describe()["color"]["version"] == "1.1.0"


def test_uploaded_bytes_with_a_chosen_version_and_normalisation(tiny, manifest):
    data = (tiny / "tiny.tflite").read_bytes()
    entry = add_version(manifest, "color", ModelFile("team model.tflite", data), LABELS_TEXT,
                        InputSpec(INPUT_SIZE, 1 / 127.5, -1.0), version="2.0.0-team",
                        crop_fraction=0.25)
    spec = next(s for s in load_versions(manifest) if s.version == "2.0.0-team")
    assert (spec.scale, spec.offset, spec.crop_fraction) == (1 / 127.5, -1.0, 0.25)
    assert spec.path.read_bytes() == data and entry["file"] == "color/2.0.0-team/model.tflite"


NOT_A_ZIP = "not a readable zip file"


@pytest.mark.parametrize(("file", "labels", "options", "message"), [
    ("tiny.keras", "\n".join(LABELS[:5]), {}, "outputs 6 classes but labels.txt has 5 labels"),
    ("nan.keras", LABELS_TEXT, {}, "not numbers (NaN or infinite)"),
    ("model.onnx", LABELS_TEXT, {}, "is not a format Pinpoint loads"),
    ("tiny.keras", "alpha\nbravo\nalpha\ndelta\necho\nfoxtrot\n", {},
     "repeats 'alpha' (lines 1 and 3)"),
    ("tiny.keras", "\n\n", {}, "the labels file is empty"),
    ("tiny.keras", "alpha\n\nbravo\n", {}, "blank line at line 2"),
    ("tiny.keras", LABELS_TEXT, {"version": "1.0.0"}, "already lists color 1.0.0"),
    ("tiny.keras", LABELS_TEXT, {"version": "../escape"}, "names a folder"),
    ("tiny.keras", LABELS_TEXT, {"size": 48}, "the manifest says input_size = 48"),
    ("tiny.pb", LABELS_TEXT, {"input_tensor": "images:0"}, "images:0"),
    ("fake.zip", LABELS_TEXT, {}, NOT_A_ZIP),
    ("tiny.tflite", LABELS_TEXT, {"max_mb": 0.001}, "over the 0 MB limit"),
])
def test_a_broken_upload_is_refused_and_leaves_nothing(tiny, manifest, file, labels, options,
                                                       message):
    (tiny / "model.onnx").write_bytes(b"onnx")
    (tiny / "fake.zip").write_bytes(b"PK not really")
    before, tree = manifest.read_bytes(), _tree(manifest.parent)
    inputs = InputSpec(options.get("size", INPUT_SIZE),
                       input_tensor=options.get("input_tensor", "input:0"))
    with pytest.raises(VersionRejected) as refused:
        add_version(manifest, "color", ModelFile.from_path(tiny / file), labels, inputs,
                    version=options.get("version"), max_mb=options.get("max_mb", 200))
    assert message in str(refused.value)
    assert manifest.read_bytes() == before
    assert _tree(manifest.parent) == tree


def test_a_zip_that_climbs_out_of_its_folder_is_refused(tiny, manifest, tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../../outside.txt", "x")
    with pytest.raises(VersionRejected, match="unsafe entry"):
        add_version(manifest, "color", ModelFile.from_path(evil), LABELS_TEXT,
                    InputSpec(INPUT_SIZE))
    assert not (tmp_path.parent / "outside.txt").exists()


def test_an_unknown_model_name_is_refused(tiny, manifest):
    with pytest.raises(VersionRejected, match="no model 'shape'.*it has color"):
        add_version(manifest, "shape", ModelFile.from_path(tiny / "tiny.keras"), LABELS_TEXT,
                    InputSpec(INPUT_SIZE))


def test_labels_parse_one_a_line():
    assert parse_labels("\ufeffred\n rose gold \nblue\n\n") == ("red", "rose gold", "blue")


def _cli(manifest: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "predictor", "--manifest", str(manifest),
                           "add-version", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_the_command_line_adds_and_refuses(tiny, manifest):
    labels = manifest.parent / "labels.txt"
    done = _cli(manifest, "color", "--model", str(tiny / "tiny.tflite"), "--labels", str(labels),
                "--input-size", str(INPUT_SIZE), "--normalise", "signed", "--json")
    assert done.returncode == 0, done.stderr
    entry = json.loads(done.stdout)
    assert (entry["version"], entry["format"], entry["offset"]) == ("1.1.0", "tflite", -1.0)
    assert [(s.version, s.status) for s in load_versions(manifest)] == [
        ("1.0.0", "active"), ("1.1.0", "candidate")]
    (manifest.parent / "five.txt").write_text("\n".join(LABELS[:5]))
    refused = _cli(manifest, "color", "--model", str(tiny / "tiny.tflite"), "--labels",
                   str(manifest.parent / "five.txt"), "--input-size", str(INPUT_SIZE))
    assert refused.returncode == 2
    assert refused.stderr.strip().startswith("error: the model does not work as described")
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in (manifest.parent / "color").iterdir()) == ["1.1.0"]


def _zip(path: Path, entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    import warnings

    with warnings.catch_warnings(), zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # zipfile warns of a duplicate name: that is the probe
        for info, data in entries:
            archive.writestr(info, data)
    return path


def _link(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)  # a symlink, as `zip --symlinks` stores it
    return info


@pytest.mark.parametrize(("entries", "message"), [
    ([("/tmp/absolute.txt", b"x")], "unsafe entry: '/tmp/absolute.txt'"),
    ([("exported/../../up.txt", b"x")], "unsafe entry"),
    ([("..\\..\\up.txt", b"x")], "unsafe entry"),
    ([("C:/windows.txt", b"x")], "unsafe entry"),
    ([(_link("exported/saved_model.pb", "/etc/passwd"), b"/etc/passwd")],
     "unsafe entry: 'exported/saved_model.pb'"),
    ([("exported/saved_model.pb", b"a"), ("exported/saved_model.pb", b"b")],
     "holds 'exported/saved_model.pb' twice"),
])
def test_a_zip_with_an_unsafe_entry_is_refused_and_writes_nothing(manifest, tmp_path, entries,
                                                                  message):
    before, tree = manifest.read_bytes(), _tree(manifest.parent)
    evil = _zip(tmp_path.parent / f"{tmp_path.name}-evil.zip", entries)
    with pytest.raises(VersionRejected) as refused:
        add_version(manifest, "color", ModelFile.from_path(evil), LABELS_TEXT,
                    InputSpec(INPUT_SIZE))
    assert message in str(refused.value)
    assert manifest.read_bytes() == before and _tree(manifest.parent) == tree
    assert not list(Path("/tmp").glob("absolute.txt")) and not (tmp_path / "up.txt").exists()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(manifest, tmp_path, monkeypatch):
    ratio_bomb = _zip(tmp_path / "bomb.zip", [("exported/zeros.bin", b"\0" * (8 << 20))])
    assert ratio_bomb.stat().st_size < 20_000  # 8 MB of zeros: a ratio over 400
    many = _zip(tmp_path / "many.zip", [(f"exported/{i}", b"") for i in range(50)])
    monkeypatch.setattr("predictor.learning.unpack.MAX_ZIP_FILES", 40)
    written = []
    real = zipfile.ZipFile.extractall
    monkeypatch.setattr(zipfile.ZipFile, "extractall",
                        lambda self, *a, **k: written.append(1) or real(self, *a, **k))
    for bomb in (ratio_bomb, many):
        with pytest.raises(VersionRejected, match="unpacks to more than 1 MB or 40 files"):
            add_version(manifest, "color", ModelFile.from_path(bomb), LABELS_TEXT,
                        InputSpec(INPUT_SIZE), max_mb=1)
    assert written == []  # refused from the sizes the zip declares, before writing a byte


def test_a_zip_that_lies_about_its_sizes_writes_no_more_than_it_declares(manifest, tmp_path):
    import struct

    data = bytearray(_zip(tmp_path / "l.zip", [("exported/big.bin", b"\0" * (8 << 20))])
                     .read_bytes())
    struct.pack_into("<I", data, 22, 10)  # the local header's uncompressed size
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 10)  # the central one's
    (tmp_path / "lying.zip").write_bytes(bytes(data))
    tree = _tree(manifest.parent)
    with pytest.raises(VersionRejected, match="Bad CRC-32"):
        add_version(manifest, "color", ModelFile.from_path(tmp_path / "lying.zip"),
                    LABELS_TEXT, InputSpec(INPUT_SIZE), max_mb=1)
    assert _tree(manifest.parent) == tree


@pytest.mark.parametrize("special", ["link_out", "fifo"])
def test_a_savedmodel_folder_with_a_link_or_special_file_is_refused(tiny, manifest, tmp_path,
                                                                     special):
    folder = tmp_path / "upload"
    shutil.copytree(tiny / "tiny_savedmodel", folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("server secret")
    if special == "link_out":
        (folder / "assets").mkdir(exist_ok=True)
        (folder / "assets" / "vocab.txt").symlink_to(secret)
    else:
        import os

        os.mkfifo(folder / "pipe")  # copying it would wait forever for a writer
    tree = _tree(manifest.parent)
    with pytest.raises(VersionRejected, match="a link or special file"):
        add_version(manifest, "color", ModelFile.from_path(folder), LABELS_TEXT,
                    InputSpec(INPUT_SIZE))
    assert _tree(manifest.parent) == tree
