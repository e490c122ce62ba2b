from pathlib import Path

import pytest

from predictor import ManifestError, load_manifest, read_labels
from tests.model_factory import manifest_entry


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "m.keras").write_bytes(b"x")
    (tmp_path / "sm").mkdir()
    (tmp_path / "labels.txt").write_text("red\nblue\n\n")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "manifest.toml"
    path.write_text(text)
    return path


def test_entries_resolve_paths_and_defaults(folder):
    (spec,) = load_manifest(write(folder, manifest_entry("color", "m.keras")))
    assert spec.path == folder / "m.keras"
    assert spec.format == "keras"
    assert spec.labels == ("red", "blue")
    assert spec.input_tensor == "input:0" and spec.output_tensor == "final_result:0"
    assert spec.scale == pytest.approx(1 / 255) and spec.offset == 0.0


def test_formats_are_guessed_from_the_file(folder):
    for name in ("a.pb", "b.tflite"):
        (folder / name).write_bytes(b"x")
    text = "".join(manifest_entry(n, f) for n, f in [("a", "a.pb"), ("b", "b.tflite"), ("c", "sm")])
    assert [s.format for s in load_manifest(write(folder, text))] == [
        "graphdef",
        "tflite",
        "savedmodel",
    ]


def test_environment_variable_chooses_the_manifest(folder, monkeypatch):
    monkeypatch.setenv("PINPOINT_MANIFEST", str(write(folder, manifest_entry("c", "m.keras"))))
    assert [s.name for s in load_manifest()] == ["c"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "lists no"),
        ("[[model", "cannot read manifest"),
        (manifest_entry("a", "missing.keras"), "does not exist"),
        (manifest_entry("a", "m.keras") + manifest_entry("a", "m.keras"), "unique"),
        (manifest_entry("a", "m.keras", format="onnx"), "must be one of"),
        (manifest_entry("a", "m.keras", crop_fraction=0), "crop_fraction"),
        (manifest_entry("a", "m.keras").replace("input_size = 32", "input_size = 32.5"), "integer"),
        (manifest_entry("a", "m.keras").replace('name = "a"', "name = 3"), "'name'"),
        (manifest_entry("a", "m.keras").replace("labels.txt", "none.txt"), "cannot read labels"),
    ],
)
def test_bad_manifests_say_what_is_wrong(folder, text, message):
    with pytest.raises(ManifestError, match=message):
        load_manifest(write(folder, text))


def test_missing_manifest(tmp_path):
    with pytest.raises(ManifestError, match="no model manifest"):
        load_manifest(tmp_path / "manifest.toml")


def test_labels_file_rules(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("rose gold\r\nblack & white\n\n\n")
    assert read_labels(path) == ("rose gold", "black & white")
    path.write_text("red\n\nblue\n")
    with pytest.raises(ManifestError, match="blank line at line 2"):
        read_labels(path)
    path.write_text("\n\n")
    with pytest.raises(ManifestError, match="empty"):
        read_labels(path)


def test_several_versions_of_a_model_serve_only_the_active_one(folder):
    from predictor import load_versions

    (folder / "old.keras").write_bytes(b"x")
    text = (
        manifest_entry("color", "m.keras", version="2.0.0", status="active")
        + manifest_entry("color", "old.keras", version="1.0.0", status="retired")
        + manifest_entry("color", "m.keras", version="2.1.0", status="candidate")
        + manifest_entry("theme", "m.keras")
    )
    path = write(folder, text)
    assert [(s.name, s.version) for s in load_manifest(path)] == [
        ("color", "2.0.0"),
        ("theme", "0.1"),
    ]
    everything = load_versions(path)
    assert [(s.version, s.status) for s in everything if s.name == "color"] == [
        ("2.0.0", "active"),
        ("1.0.0", "retired"),
        ("2.1.0", "candidate"),
    ]
    assert everything[1].path == folder / "old.keras"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("a", "1", "active"), ("a", "2", "active")], "active model names must be unique"),
        ([("a", "1", "active"), ("a", "1", "retired")], r"\(name, version\) must be unique"),
        ([("a", "1", "candidate"), ("b", "1", "active")], "no active version of a"),
        ([("a", "1", "old")], "'status' must be one of"),
    ],
)
def test_bad_version_sets_say_what_is_wrong(folder, entries, message):
    text = "".join(
        manifest_entry(name, "m.keras", version=version, status=status)
        for name, version, status in entries
    )
    with pytest.raises(ManifestError, match=message):
        load_manifest(write(folder, text))
