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


def _tiny_extractor(path: Path) -> None:
    """A frozen 'backbone' TFLite file: the crop's mean red, green and blue."""
    import keras
    import tensorflow as tf

    inputs = keras.Input((SIZE, SIZE, 3))
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
