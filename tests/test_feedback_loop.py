"""The loop end to end through the CLI: labels in, a retrained candidate, compare, promote."""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from docs.cast_domain import write_set
from predictor import Predictor, load_manifest, load_versions
from predictor.cli import main
from predictor.store import FeedbackStore
from tests.model_factory import FEATURE_TENSOR, LABELS, manifest_entry

ROOT = Path(__file__).resolve().parent.parent
RETRAIN_KEYS = {"model", "base_version", "version", "train_points", "eval_points", "before",
                "after", "seconds"}


@pytest.fixture
def cast_manifest(tmp_path: Path) -> Path:
    """A copy of the default color model 1.0.0 with its own manifest."""
    shutil.copytree(ROOT / "models" / "color" / "1.0.0", tmp_path / "models/color/1.0.0")
    shutil.copytree(ROOT / "labels", tmp_path / "labels")
    path = tmp_path / "models" / "manifest.toml"
    path.write_text('[[model]]\nname = "color"\nversion = "1.0.0"\nstatus = "active"\n'
                    'file = "color/1.0.0/model.tflite"\nlabels = "../labels/colors.txt"\n'
                    "input_size = 64\ncrop_fraction = 0.15\n")
    return path


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    monkeypatch.setenv("PINPOINT_DB_URL", url)
    return url


def run_json(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_retrained_color_model_beats_the_old_one_on_other_cast_photos(
        tmp_path, cast_manifest, db, capsys):
    m = str(cast_manifest)
    labeled = write_set(tmp_path / "labeled", range(0, 16))
    other = write_set(tmp_path / "other", range(100, 110))
    old_file = cast_manifest.parent / "color/1.0.0/model.tflite"
    old_sha = sha(old_file)

    imported = run_json(capsys, "--manifest", m, "labels", "import", str(labeled),
                        "--tester", "ann", "--json")
    assert imported["imported"] == 96 and imported["skipped"] == []

    result = run_json(capsys, "--manifest", m, "retrain", "color", "--epochs", "6", "--json")
    assert set(result) == RETRAIN_KEYS
    assert (result["base_version"], result["version"]) == ("1.0.0", "1.1.0")
    assert result["train_points"] + result["eval_points"] == 96
    assert result["after"]["top1"] > result["before"]["top1"]

    statuses = {s.version: s.status for s in load_versions(m)}
    assert statuses == {"1.0.0": "active", "1.1.0": "candidate"}
    folder = cast_manifest.parent / "color/1.1.0"
    assert {"model.keras", "model.tflite", "metrics.json", "MODEL_CARD.md"} <= {
        p.name for p in folder.iterdir()}

    compared = run_json(capsys, "--manifest", m, "compare", "color", "1.0.0", "1.1.0",
                        "--on", str(other), "--json")
    old, new = compared["a"], compared["b"]
    print(f"cast domain, 60 points on 10 other images: top-1 {old['top1']:.1%} -> "
          f"{new['top1']:.1%}, top-5 {old['top5']:.1%} -> {new['top5']:.1%}")
    assert compared["points"] == 60
    assert new["top1"] >= old["top1"] + 0.25
    assert len(compared["flipped"]["wrong_to_right"]) > len(compared["flipped"]["right_to_wrong"])

    assert sha(old_file) == old_sha  # the old version is untouched and still loads
    old_spec = next(s for s in load_versions(m) if s.version == "1.0.0")
    Predictor.from_specs([old_spec]).close()

    assert main(["--manifest", m, "promote", "color", "1.1.0"]) == 0
    assert [s.version for s in load_manifest(m)] == ["1.1.0"]
    assert main(["--manifest", m, "promote", "color", "1.0.0"]) == 0  # roll back
    assert {s.version: s.status for s in load_versions(m)} == {
        "1.0.0": "active", "1.1.0": "retired"}
    store = FeedbackStore(db)
    with store.read() as conn:
        switches = conn.execute(text(
            "SELECT from_version, to_version, source FROM model_switches ORDER BY id")).all()
    store.close()
    assert [tuple(s) for s in switches] == [("1.0.0", "1.1.0", "cli"), ("1.1.0", "1.0.0", "cli")]


def test_import_skips_bad_rows_whole_and_export_reads_back(tmp_path, cast_manifest, db, capsys):
    m = str(cast_manifest)
    labeled = write_set(tmp_path / "labeled", range(0, 2))
    with labeled.open("a", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["cast_000.png", 10, 10, "mauve"])  # not a label of the model
        writer.writerow(["missing.png", 10, 10, "red"])  # no such image
        writer.writerow(["cast_000.png", 9999, 10, "red"])  # point outside the image
        writer.writerow(["cast_000.png", 10, 10, ""])  # nothing labeled
        writer.writerow(["cast_001.png", 20, 20, "none of these"])  # explicit, stored
    imported = run_json(capsys, "--manifest", m, "labels", "import", str(labeled), "--json")
    assert imported["imported"] == 13
    assert [s["row"] for s in imported["skipped"]] == [14, 15, 16, 17]
    store = FeedbackStore(db)
    with store.read() as conn:
        counts = [conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar()
                  for t in ("predictions", "labels")]
    store.close()
    assert counts == [13, 13]  # the skipped rows left no prediction behind

    for fmt in ("csv", "jsonl", "zip"):
        out = tmp_path / f"export.{fmt}"
        assert main(["labels", "export", str(out), "--format", fmt]) == 0
    rows = list(csv.DictReader((tmp_path / "export.csv").open()))
    assert len(rows) == 13 and rows[-1]["color"] == "none of these"
    assert rows[0]["color_version"] == "1.0.0" and rows[0]["color_crop"]
    records = [json.loads(line) for line in (tmp_path / "export.jsonl").open()]
    assert records[-1]["labels"]["color"]["none_of_these"] is True
    assert records[0]["labels"]["color"]["none_of_these"] is False
    names = zipfile.ZipFile(tmp_path / "export.zip").namelist()
    assert "labels.csv" in names
    assert sum(n.startswith("crops/") for n in names) == 13
    assert sum(n.startswith("originals/") for n in names) == 2

    report = run_json(capsys, "--manifest", m, "evaluate", str(tmp_path / "export.zip"), "--json")
    assert report["errors"] == [] and report["models"]["color"]["n"] == 12
    assert report["models"]["color"]["none_of_these"] == 1


def test_retrain_of_a_frozen_graph_trains_a_new_head(tiny_models, tmp_path, capsys):
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(tiny_models / "tiny.pb", folder / "tiny.pb")
    shutil.copy(tiny_models / "labels.txt", folder / "labels.txt")
    manifest = folder / "manifest.toml"
    manifest.write_text(manifest_entry("tiny", "tiny.pb", feature_tensor=FEATURE_TENSOR))
    labeled = _solid_color_set(tmp_path / "solid", 24)

    result = run_json(capsys, "--manifest", str(manifest), "retrain", "tiny", "--from",
                      str(labeled), "--epochs", "4", "--json")
    assert (result["base_version"], result["version"]) == ("0.1", "0.2")
    assert result["after"]["top1"] >= result["before"]["top1"] + 0.3
    new = next(s for s in load_versions(manifest) if s.version == "0.2")
    assert (new.status, new.format, new.path) == ("candidate", "graphdef", folder / "tiny.pb")
    assert new.head == folder / "tiny/0.2/head.npz"
    predictor = Predictor.from_specs([new])
    answer = predictor.predict(Image.new("RGB", (64, 64), _SOLID["alpha"]), 32, 32)
    predictor.close()
    assert answer.predictions["tiny"][0].label == "alpha"


def test_a_tflite_only_model_cannot_be_retrained(tiny_models, tmp_path, capsys):
    folder = tmp_path / "m"
    folder.mkdir()
    shutil.copy(tiny_models / "tiny.tflite", folder / "tiny.tflite")
    shutil.copy(tiny_models / "labels.txt", folder / "labels.txt")
    (folder / "manifest.toml").write_text(manifest_entry("tiny", "tiny.tflite"))
    labeled = _solid_color_set(tmp_path / "solid", 4)
    status = main(["--manifest", str(folder / "manifest.toml"), "retrain", "tiny", "--from",
                   str(labeled)])
    assert status == 2
    assert "TFLite models cannot be retrained" in capsys.readouterr().err
    assert not (folder / "tiny").exists()


_SOLID = dict(zip(LABELS, [(220, 30, 30), (30, 30, 220), (30, 200, 40), (240, 240, 240),
                           (15, 15, 15), (240, 220, 30)], strict=True))


def _solid_color_set(folder: Path, n_images: int) -> Path:
    """Images of one flat, noisy color each; the label is the tiny model's name for it."""
    folder.mkdir()
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n_images):
        label = LABELS[i % len(LABELS)]
        pixels = np.array(_SOLID[label]) + rng.normal(0, 12, (64, 64, 3))
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / f"{i}.png")
        rows += [f"{i}.png,{x},{y},{label}" for x, y in ((20, 20), (44, 44))]
    path = folder / "labels.csv"
    path.write_text("image,x,y,tiny\n" + "\n".join(rows) + "\n")
    return path
