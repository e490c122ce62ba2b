import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from predictor import Predictor, load_versions
from predictor.cli import main
from tests.model_factory import FEATURE_TENSOR, LABELS, manifest_entry

COLORS = [(220, 30, 30), (30, 200, 40), (40, 60, 220), (240, 220, 40), (20, 20, 20),
          (240, 240, 240)]


@pytest.fixture
def project(tiny_models, tmp_path, monkeypatch) -> Path:
    """A project folder whose manifest serves the tiny frozen graph, a store, and labels."""
    models = tmp_path / "project" / "models"
    models.mkdir(parents=True)
    for name in ("tiny.pb", "labels.txt"):
        shutil.copy(tiny_models / name, models / name)
    (models / "manifest.toml").write_text(
        manifest_entry("tiny", "tiny.pb", feature_tensor=FEATURE_TENSOR))
    (tmp_path / "store").mkdir()
    monkeypatch.setenv("PINPOINT_DB_URL", f"sqlite:///{tmp_path / 'store' / 'feedback.db'}")
    labeled = tmp_path / "labeled"
    labeled.mkdir()
    rows = []
    rng = np.random.default_rng(5)
    for i in range(12):
        pixels = np.array(COLORS[i % len(COLORS)]) + rng.normal(0, 10, (64, 64, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(labeled / f"{i}.png")
        rows += [f"{i}.png,{x},{y},{LABELS[i % len(LABELS)]}" for x, y in ((20, 20), (44, 44))]
    (labeled / "labels.csv").write_text("image,x,y,tiny\n" + "\n".join(rows) + "\n")
    return tmp_path


def _outside(root: Path) -> set[Path]:
    """What lies under `root` but outside the project and the store's folder."""
    return {p for p in root.rglob("*") if not {"project", "store"} & set(p.parts)}


def _run(capsys, *argv: str) -> dict:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out) if "--json" in argv else {}


@pytest.mark.parametrize(("cwd", "relative"), [
    (".", "project/models/manifest.toml"),  # the case: a folder below the cwd
    ("elsewhere", "../project/models/manifest.toml"),
])
def test_every_manifest_writing_command_takes_a_relative_manifest_from_another_folder(
        project, tiny_models, monkeypatch, capsys, cwd, relative):
    before = _outside(project)
    (project / cwd).mkdir(exist_ok=True)
    monkeypatch.chdir(project / cwd)
    m = ["--manifest", relative]
    labeled = str(project / "labeled" / "labels.csv")

    added = _run(capsys, *m, "add-version", "tiny", "--model", str(tiny_models / "tiny.tflite"),
                 "--labels", str(tiny_models / "labels.txt"), "--input-size", "32", "--json")
    assert (added["version"], added["file"]) == ("0.2", "tiny/0.2/model.tflite")
    imported = _run(capsys, *m, "labels", "import", labeled, "--tester", "ann", "--json")
    assert imported["imported"] == 24 and imported["skipped"] == []
    retrained = _run(capsys, *m, "retrain", "tiny", "--from", labeled, "--epochs", "1",
                     "--replay", "0", "--json")
    assert retrained["version"] == "0.3"
    _run(capsys, *m, "shadow", "tiny", "0.2")
    _run(capsys, *m, "promote", "tiny", "0.3")

    manifest = project / "project" / "models" / "manifest.toml"
    versions = load_versions(manifest)
    assert [(s.version, s.status, s.shadow) for s in versions] == [
        ("0.1", "retired", False), ("0.2", "candidate", True), ("0.3", "active", False)]
    assert all(s.path.is_relative_to(manifest.parent) for s in versions)
    Predictor.from_manifest(manifest).close()  # every version it serves or shadows loads
    assert _outside(project) - before <= {project / cwd}  # nothing written beside it
