import json
from pathlib import Path

import numpy as np
import pytest

from training import themes


@pytest.fixture(scope="module")
def smoke_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    for path in (themes.FONT, themes.EMOJI_TEST):
        assert path.exists(), (
            f"{path} is missing: apt-get install -y fonts-noto-color-emoji unicode-data"
        )
    from training.__main__ import main

    out = tmp_path_factory.mktemp("smoke_models")
    assert main(["all", "--smoke", "--workers", "1", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name, n_labels", [("color", 21), ("theme", 16)])
def test_smoke_run_writes_artifacts_and_metrics(smoke_models, name, n_labels):
    from training.train import RECIPES

    folder = smoke_models / name / RECIPES[name].version
    for file in ("model.keras", "model.tflite", "MODEL_CARD.md"):
        assert (folder / file).stat().st_size > 1000
    metrics = json.loads((folder / "metrics.json").read_text())
    val = metrics["validation"]
    assert val["n"] == metrics["data"]["val_crops"] == 4 * n_labels
    assert 0.0 <= val["top1"] <= val["top5"] <= 1.0
    assert set(metrics["latency_ms_median"]) == {"keras", "tflite"}
    assert metrics["served"]["format"] == min(
        metrics["latency_ms_median"], key=metrics["latency_ms_median"].get
    )
    assert "Known weaknesses" in (folder / "MODEL_CARD.md").read_text()


def test_measure_saved_documents_saved_weights_as_their_run_measured_them(smoke_models, tmp_path):
    import shutil

    from training.__main__ import main
    from training.train import RECIPES

    version = RECIPES["theme"].version
    ran, saved = smoke_models / "theme" / version, tmp_path / "theme" / version
    saved.mkdir(parents=True)
    for file in ("model.keras", "model.tflite"):
        shutil.copy(ran / file, saved / file)
    args = ["theme", "--smoke", "--measure-saved", "--workers", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    measured = json.loads((saved / "metrics.json").read_text())
    trained = json.loads((ran / "metrics.json").read_text())
    assert measured["validation"] == trained["validation"]  # the same crops, the same weights
    assert measured["data"] == trained["data"] and measured["params"] == trained["params"]
    assert measured["training_seconds"] is None and trained["training_seconds"] > 0
    assert "stopped before it recorded" in (saved / "MODEL_CARD.md").read_text()
    assert f'version = "{version}"' in (tmp_path / "manifest.toml").read_text()


def test_theme_split_keeps_every_emoji_group_on_one_side():
    train, val = themes.split(themes.render_emoji(), 0.2, seed=7)
    assert {e.group for e in train}.isdisjoint({e.group for e in val})
    assert {e.theme for e in val} == set(range(len(themes.LABELS)))


def test_smoke_manifest_serves_both_models_through_the_core(smoke_models):
    from predictor import Predictor

    predictor = Predictor.from_manifest(smoke_models / "manifest.toml")
    image = np.full((300, 400, 3), 120, np.uint8)
    result = predictor.predict(image_bytes(image), 200, 150, top_k=3)
    assert set(result.predictions) == {"color", "theme"}
    assert all(len(scores) == 3 for scores in result.predictions.values())
    predictor.close()


@pytest.mark.parametrize("fmt, file", [("savedmodel", "savedmodel"), ("graphdef", "model.pb")])
def test_other_export_formats_load_and_agree_with_keras(smoke_models, tmp_path, fmt, file):
    from predictor.models import load_model
    from training.export import export_all
    from training.report import spec_for
    from training.train import RECIPES

    recipe = RECIPES["color"]
    folder = smoke_models / "color" / recipe.version
    export_all(folder / "model.keras", recipe.input_size, tmp_path)
    keras_spec = spec_for(recipe, folder, "keras")
    other = load_model(
        keras_spec.__class__(**{**keras_spec.__dict__, "path": tmp_path / file, "format": fmt})
    )
    batch = np.random.default_rng(0).random(
        (2, recipe.input_size, recipe.input_size, 3), dtype=np.float32
    )
    np.testing.assert_allclose(
        other.probabilities(batch), load_model(keras_spec).probabilities(batch), atol=1e-5
    )


def image_bytes(pixels: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()
