"""The loop's direction on a tiny frozen-feature model: labels in, unseen photos of the same
kind improve. The default models learn this way (a TFLite feature extractor + head.npz);
bench/loop_lift.py measures it on real photos."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from docs.cast_domain import COLORS, write_set
from predictor import load_versions
from predictor.cli import main

SIZE = 16


def _tiny_extractor(path: Path, size: int = SIZE) -> None:
    """A frozen 'backbone' TFLite file: the crop's mean red, green and blue."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((size, size, 3))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
    with contextlib.redirect_stdout(io.StringIO()):
        path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())


def _neutral_head(labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """A head that names each color from its uncast mean: nearest prototype, as logits."""
    protos = np.array([COLORS[label] for label in labels], np.float32) / 255.0
    weights = 40.0 * protos.T  # logit_k = 40 (x . p_k - |p_k|^2 / 2): nearest in RGB wins
    bias = -20.0 * (protos ** 2).sum(axis=1)
    return weights.astype(np.float32), bias.astype(np.float32)


@pytest.fixture
def tiny_head_manifest(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    (folder / "color" / "1").mkdir(parents=True)
    labels = list(COLORS)
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    _tiny_extractor(folder / "features.tflite")
    weights, bias = _neutral_head(labels)
    np.savez(folder / "color" / "1" / "head.npz", weights=weights, bias=bias)
    manifest = folder / "manifest.toml"
    manifest.write_text('[[model]]\nname = "color"\nversion = "1"\nfile = "features.tflite"\n'
                        'head = "color/1/head.npz"\nlabels = "../labels.txt"\n'
                        f"input_size = {SIZE}\ncrop_fraction = 0.15\n")
    return manifest


def _json(capsys: pytest.CaptureFixture, *argv: str) -> dict:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_labels_of_cast_photos_lift_other_cast_photos(tiny_head_manifest, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.setenv("PINPOINT_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")
    m = str(tiny_head_manifest)
    labeled = write_set(tmp_path / "cast", range(0, 24))
    unseen = write_set(tmp_path / "unseen", range(100, 112))
    imported = _json(capsys, "--manifest", m, "labels", "import", str(labeled), "--json")
    assert imported["imported"] == 144

    trained = _json(capsys, "--manifest", m, "retrain", "color", "--replay", "0", "--json")
    new = next(s for s in load_versions(tiny_head_manifest) if s.version == trained["version"])
    assert new.path == tiny_head_manifest.parent / "features.tflite"  # the backbone is shared
    assert new.head == tiny_head_manifest.parent / "color" / trained["version"] / "head.npz"

    compared = _json(capsys, "--manifest", m, "compare", "color", "1", trained["version"],
                     "--on", str(unseen), "--json")
    before, after = compared["a"]["top1"], compared["b"]["top1"]
    assert compared["a"]["n"] == 72
    assert before <= 0.7  # the amber cast fools the neutral head on several colors
    assert after >= before + 0.2 and after >= 0.85


def test_retrain_keeps_a_heads_fixed_part_and_picks_its_rate_on_check_images(
        tiny_head_manifest, tmp_path, capsys, monkeypatch):
    """head.npz's `fixed` (theme's detector votes) is not learned: a retrain keeps it as it is,
    in the new head and for the next retrain, and the learning rate is the one that scored
    best on labeled images left out of the fit (the gentlest on a tie)."""
    from predictor.learning.retrain_keras import HEAD_RATES

    monkeypatch.setenv("PINPOINT_DB_URL", f"sqlite:///{tmp_path / 'store.db'}")
    head = tiny_head_manifest.parent / "color" / "1" / "head.npz"
    with np.load(head) as base:
        learned, bias = base["weights"], base["bias"]
    fixed = np.zeros_like(learned)
    fixed[0, 0] = 3.0  # red votes for the first color
    np.savez(head, weights=learned + fixed, bias=bias, fixed=fixed)
    m = str(tiny_head_manifest)
    _json(capsys, "--manifest", m, "labels", "import",
          str(write_set(tmp_path / "cast", range(0, 24))), "--json")
    trained = _json(capsys, "--manifest", m, "retrain", "color", "--replay", "0", "--json")

    folder = tiny_head_manifest.parent / "color" / trained["version"]
    with np.load(folder / "head.npz") as new:
        assert np.array_equal(new["fixed"], fixed)
        moved = new["weights"] - fixed - learned
    assert np.abs(moved).max() > 1e-3  # the rest was trained
    details = json.loads((folder / "metrics.json").read_text())
    tried = {float(rate): top1 for rate, top1 in details["check_top1"].items()}
    assert sorted(tried) == sorted(HEAD_RATES) and details["folds"] == 3
    best = max(tried.values())
    assert details["rate"] == min(rate for rate, top1 in tried.items() if top1 == best)


def test_clicks_and_labeled_files_keep_each_models_crop_at_its_input_size(tmp_path):
    """Retrain and compare learn from and judge on kept crops: a model whose input is larger
    than the 128 px shown must get its own pixels back, not a thumbnail scaled up."""
    from PIL import Image

    from predictor import Predictor
    from predictor.learning.labeled_crops import from_file
    from predictor.learning.recording import predict_click

    labels = list(COLORS)
    (tmp_path / "labels.txt").write_text("\n".join(labels) + "\n")
    weights, bias = _neutral_head(labels)
    np.savez(tmp_path / "head.npz", weights=weights, bias=bias)
    entries = ""
    for name, size in (("big", 160), ("small", SIZE)):
        _tiny_extractor(tmp_path / f"{name}.tflite", size)
        entries += (f'[[model]]\nname = "{name}"\nversion = "1"\nfile = "{name}.tflite"\n'
                    'head = "head.npz"\nlabels = "labels.txt"\n'
                    f"input_size = {size}\ncrop_fraction = 0.5\n\n")
    (tmp_path / "manifest.toml").write_text(entries)
    photo = Image.new("RGB", (640, 480), (200, 30, 30))
    photo.paste((30, 30, 200), (0, 0, 320, 480))
    photo.save(tmp_path / "photo.png")
    predictor = Predictor.from_manifest(tmp_path / "manifest.toml")

    click = predict_click(predictor, (tmp_path / "photo.png").read_bytes(), (300, 200))
    assert {name: crop.size for name, crop in click.crops.items()} == {
        "big": (160, 160), "small": (128, 128)}
    (tmp_path / "labeled.csv").write_text("image,x,y,big\nphoto.png,300,200,red\n")
    big = next(spec for spec in predictor.specs if spec.name == "big")
    crop = from_file(big, tmp_path / "labeled.csv")[0].crop
    assert crop.size == (160, 160)
    assert np.array_equal(np.asarray(crop), np.asarray(click.crops["big"]))
