import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from predictor import Predictor
from predictor.learning.evaluate import HEURISTIC, LabeledFileError, evaluate_csv, format_report
from predictor.manifest import ModelSpec
from predictor.models import LoadedModel
from tests.conftest import noise_image
from tests.model_factory import LABELS


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    for seed in range(3):
        path = tmp_path / f"noise{seed}.png"
        noise_image(64, 48, seed).save(path)
        paths.append(path)
    return paths


def ranked(predictor, image: Path, name: str = "keras") -> list[str]:
    return [s.label for s in predictor.predict(image, 20, 20, top_k=5).predictions[name]]


def write_csv(folder: Path, header: list[str], rows: list[list[object]]) -> Path:
    path = folder / "labeled.csv"
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_top1_and_top5_count_hits_misses_and_confusions(tiny_predictor, images, tmp_path):
    hit, near, miss = (ranked(tiny_predictor, image) for image in images)
    outside = next(label for label in LABELS if label not in miss)
    path = write_csv(
        tmp_path,
        ["image", "x", "y", "keras"],
        [
            [images[0].name, 20, 20, hit[0]],
            [images[1].name, 20, 20, near[2]],
            [images[2].name, 20, 20, outside],
        ],
    )
    result = evaluate_csv(tiny_predictor, path)["models"]["keras"]
    assert (result["n"], result["top1"], result["top5"]) == (
        3,
        pytest.approx(1 / 3),
        pytest.approx(2 / 3),
    )
    assert result["per_class"][outside]["top5"] == 0.0
    pairs = {(p["truth"], p["predicted"]) for p in result["confused_pairs"]}
    assert (near[2], near[0]) in pairs and (outside, miss[0]) in pairs


def test_unusable_rows_are_errors_and_the_run_goes_on(tiny_predictor, images, tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    good = ranked(tiny_predictor, images[0])[0]
    path = write_csv(
        tmp_path,
        ["image", "x", "y", "keras"],
        [
            ["missing.png", 1, 1, "alpha"],
            ["broken.jpg", 1, 1, "alpha"],
            [images[0].name, 500, 1, "alpha"],
            [images[0].name, 20, 20, good],
        ],
    )
    result = evaluate_csv(tiny_predictor, path)
    assert [e["row"] for e in result["errors"]] == [2, 3, 4]
    assert result["models"]["keras"]["n"] == 1 and result["models"]["keras"]["top1"] == 1.0
    assert "row 3: broken.jpg" in format_report(result)


def test_labels_outside_the_label_set_are_reported_not_scored(tiny_predictor, images, tmp_path):
    path = write_csv(
        tmp_path,
        ["image", "x", "y", "keras"],
        [
            [images[0].name, 20, 20, "zulu"],
            [images[1].name, 20, 20, "zulu"],
            [images[2].name, 20, 20, "ALPHA"],
        ],
    )
    result = evaluate_csv(tiny_predictor, path)
    keras = result["models"]["keras"]
    assert keras["unknown_labels"] == [{"label": "zulu", "count": 2, "rows": [2, 3]}]
    assert keras["n"] == 1 and list(keras["per_class"]) == ["alpha"]
    assert "NOT SCORED: label 'zulu'" in format_report(result)


def test_empty_cells_mean_not_labeled(tiny_predictor, images, tmp_path):
    path = write_csv(
        tmp_path,
        ["image", "x", "y", "keras", "tflite", "notes"],
        [
            [images[0].name, 20, 20, "alpha", "", "x"],
            [images[1].name, 20, 20, "", "bravo", ""],
            [images[2].name, 20, 20, "", "", "only a note"],
        ],
    )
    result = evaluate_csv(tiny_predictor, path)
    assert result["models"]["keras"]["n"] == 1 and result["models"]["tflite"]["n"] == 1
    assert result["unlabeled_rows"] == 1
    assert result["ignored_columns"] == ["notes"]
    assert sorted(result["models_without_column"]) == ["graphdef", "savedmodel"]


def test_paths_are_relative_to_the_csv_folder(tiny_predictor, images, tmp_path, monkeypatch):
    monkeypatch.chdir(Path("/"))
    path = write_csv(tmp_path, ["image", "x", "y", "keras"], [[images[0].name, 20, 20, "alpha"]])
    assert evaluate_csv(tiny_predictor, path)["errors"] == []


@pytest.mark.parametrize("content", ["image,x\na.png,1\n", "photo,x,y,keras\n"])
def test_missing_columns_are_refused(tiny_predictor, tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(LabeledFileError, match="lacks column"):
        evaluate_csv(tiny_predictor, path)


def test_missing_file_is_refused(tiny_predictor, tmp_path):
    with pytest.raises(LabeledFileError, match="no labeled file"):
        evaluate_csv(tiny_predictor, tmp_path / "nope.csv")


def test_every_version_in_the_manifest_is_scored_on_the_same_points(tiny_models, images, tmp_path):
    from predictor import Predictor, load_versions
    from predictor.learning.evaluate import evaluate_versions
    from tests.model_factory import manifest_entry

    labels = str(tiny_models / "labels.txt")
    manifest = tmp_path / "versions.toml"
    manifest.write_text(
        manifest_entry("keras", str(tiny_models / "tiny.keras"), labels=labels, version="2.0")
        + manifest_entry("keras", str(tiny_models / "tiny.tflite"), labels=labels,
                         version="1.0", status="retired")
    )
    specs = load_versions(manifest)
    served = Predictor.from_specs([s for s in specs if s.status == "active"])
    truths = [ranked(served, image)[0] for image in images]
    rows = [[image.name, 20, 20, truth] for image, truth in zip(images, truths, strict=True)]
    path = write_csv(tmp_path, ["image", "x", "y", "keras"], rows)
    result = evaluate_versions(served, [s for s in specs if s.status != "active"], path)
    served.close()
    assert result["models"]["keras"]["version"] == "2.0"
    old = result["other_versions"]["keras"]["1.0"]
    assert (old["status"], old["n"]) == ("retired", 3)
    # The same weights in another format: the same answers on the same points.
    assert old["top1"] == result["models"]["keras"]["top1"] == 1.0
    report = format_report(result)
    assert "keras (version 2.0)" in report and "keras (version 1.0, retired)" in report


RANKING = ("blue", "navy", "green", "gray", "white", "red", "black", "silver", "gold", "brown",
           "beige", "orange", "yellow", "olive", "teal", "purple", "pink", "burgundy",
           "rose gold", "multi-colored")


@pytest.fixture
def always_blue(tmp_path: Path) -> Predictor:
    """A color model that ranks the same colors at every point (blue, navy, green, ...)."""
    spec = ModelSpec(
        name="color", path=tmp_path / "none", format="tflite", labels=RANKING,
        labels_path=tmp_path / "labels.txt", version="9.9", input_size=16, scale=1.0,
        offset=0.0, crop_fraction=0.5,
    )
    scores = np.linspace(1.0, 0.05, len(RANKING), dtype=np.float32)[None]
    return Predictor([LoadedModel(spec, lambda batch: np.repeat(scores, len(batch), 0), 0, 0)])


def test_lenient_top1_accepts_alternatives_and_the_heuristic_is_scored_beside(
    always_blue, tmp_path
):
    Image.new("RGB", (64, 48), (225, 20, 20)).save(tmp_path / "red.png")
    path = write_csv(
        tmp_path,
        ["image", "x", "y", "color", "color_also"],
        [["red.png", 30, 20, "red", ""], ["red.png", 10, 10, "navy", "blue|black"],
         ["red.png", 50, 40, "blue", "navy"]],
    )
    result = evaluate_csv(always_blue, path)
    model, heuristic = result["models"]["color"], result["heuristic"]["color"]
    figures = [m[key] for m in (model, heuristic) for key in ("top1", "top1_lenient", "top5")]
    assert figures == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 1 / 3])
    assert model["per_class"]["navy"]["top1_lenient"] == 1.0
    assert heuristic["per_class"]["red"]["top1"] == 1.0 and heuristic["version"] == HEURISTIC
    assert result["ignored_columns"] == []
    report = format_report(result)
    assert "nearest-color heuristic" in report and "| heuristic:" in report


def test_models_whose_labels_are_not_colors_get_no_heuristic(tiny_predictor, images, tmp_path):
    path = write_csv(tmp_path, ["image", "x", "y", "keras"], [[images[0].name, 20, 20, "alpha"]])
    result = evaluate_csv(tiny_predictor, path)
    assert result["heuristic"] == {} and "heuristic" not in format_report(result)
