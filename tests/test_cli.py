import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import encode, noise_image
from tests.model_factory import LABELS
from tests.test_images import REFUSED, exif_rotated_jpeg

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, manifest: Path | None = None) -> subprocess.CompletedProcess:
    prefix = ["--manifest", str(manifest)] if manifest else []
    command = [sys.executable, "-m", "predictor", *prefix, *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli_images")
    (folder / "photo.jpg").write_bytes(encode(noise_image(160, 120), "JPEG"))
    transparent = Image.new("RGBA", (80, 60), (0, 0, 0, 0))
    transparent.paste((0, 128, 0, 255), (0, 0, 40, 60))
    (folder / "logo.png").write_bytes(encode(transparent, "PNG"))
    (folder / "rotated.jpg").write_bytes(exif_rotated_jpeg(6))
    (folder / "notes.jpg").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "cut.jpg").write_bytes(encode(noise_image(160, 120), "JPEG")[:700])
    (folder / "bomb.png").write_bytes(encode(Image.new("1", (20000, 20000)), "PNG"))
    (folder / "scan.jpg").write_bytes(REFUSED["TIFF"]())
    return folder


def test_predict_prints_five_labels_per_model(tiny_models, images):
    run = cli(
        "predict",
        str(images / "photo.jpg"),
        "--x",
        "80",
        "--y",
        "60",
        manifest=tiny_models / "manifest.toml",
    )
    assert run.returncode == 0, run.stderr
    for name in ("keras", "savedmodel", "graphdef", "tflite"):
        assert f"{name} (version 0.1, crop 50,30 to 110,90)" in run.stdout
    assert run.stdout.count("  5. ") == 4 and "  6. " not in run.stdout
    assert run.stderr == ""


@pytest.mark.parametrize(
    ("name", "x", "y"), [("logo.png", "10", "10"), ("rotated.jpg", "20", "20")]
)
def test_predict_json_shape(tiny_models, images, name, x, y):
    run = cli(
        "predict",
        str(images / name),
        "--x",
        x,
        "--y",
        y,
        "--json",
        manifest=tiny_models / "manifest.toml",
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert set(data["predictions"]) == {"keras", "savedmodel", "graphdef", "tflite"}
    top = data["predictions"]["keras"]
    assert len(top) == 5 and set(top[0]) == {"label", "score"} and top[0]["label"] in LABELS
    assert set(data["crops"]["tflite"]) == {"left", "top", "right", "bottom"}
    assert data["timings_ms"]["decode"] > 0 and data["timings_ms"]["total"] > 0
    assert data["models"]["graphdef"]["format"] == "graphdef"
    assert (data["status"], data["faulty"], data["prediction_id"]) == ("ok", [], None)


def test_rotated_jpeg_reports_the_size_a_browser_shows(tiny_models, images):
    run = cli(
        "predict",
        str(images / "rotated.jpg"),
        "--x",
        "119",
        "--y",
        "79",
        "--json",
        manifest=tiny_models / "manifest.toml",
    )
    assert json.loads(run.stdout)["image"]["width"] == 120


BAD = [
    (["missing.jpg", "--x", "1", "--y", "1"], "does not exist"),
    (["empty.jpg", "--x", "1", "--y", "1"], "empty"),
    (["cut.jpg", "--x", "1", "--y", "1"], "corrupt or truncated"),
    (["notes.jpg", "--x", "1", "--y", "1"], "not a JPEG, PNG or WebP"),
    (["bomb.png", "--x", "1", "--y", "1"], "MP limit"),
    (["scan.jpg", "--x", "1", "--y", "1"], "TIFF images are not accepted"),
    (["photo.jpg", "--x", "161", "--y", "1"], "outside the 160x120 image"),
    (["photo.jpg", "--x", "-1", "--y", "1"], "outside"),
    (["photo.jpg", "--x", "nan", "--y", "1"], "finite"),
    (["photo.jpg", "--x", "inf", "--y", "1"], "finite"),
    (["photo.jpg", "--x", "ten", "--y", "1"], "not a number"),
    (["photo.jpg", "--x", "5"], "required"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_is_one_line_on_stderr_and_exit_2(tiny_models, images, args, message):
    args = [str(images / args[0]), *args[1:]]
    run = cli("predict", *args, manifest=tiny_models / "manifest.toml")
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert message in lines[-1] and "Traceback" not in run.stderr
    assert len(lines) == 1 or lines[0].startswith("usage:")  # argparse prints usage first


def test_missing_manifest_is_a_clear_error(tmp_path, images):
    run = cli(
        "predict",
        str(images / "photo.jpg"),
        "--x",
        "1",
        "--y",
        "1",
        manifest=tmp_path / "none.toml",
    )
    assert run.returncode == 2 and run.stderr.startswith("error: no model manifest")


def test_batch_keeps_order_and_survives_bad_lines(tiny_models, images, tmp_path):
    lines = [
        json.dumps({"image": str(images / "photo.jpg"), "x": 10, "y": 10, "id": 1}),
        "{not json",
        json.dumps({"image": str(images / "notes.jpg"), "x": 1, "y": 1, "id": 3}),
        json.dumps({"image": str(images / "photo.jpg"), "x": 999, "y": 1, "id": 4}),
        json.dumps([1, 2]),
        json.dumps({"x": 1, "y": 1, "id": 6}),
        json.dumps({"image": str(images / "logo.png"), "x": 5, "y": 5, "id": 7}),
    ]
    points = tmp_path / "points.jsonl"
    points.write_text("\n".join(lines) + "\n\n")
    run = cli("batch", str(points), manifest=tiny_models / "manifest.toml")
    assert run.returncode == 0, run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(out) == 7
    assert [o.get("id") for o in out] == [1, None, 3, 4, None, 6, 7]
    assert [("predictions" in o, "error" in o) for o in out] == [
        (True, False),
        (False, True),
        (False, True),
        (False, True),
        (False, True),
        (False, True),
        (True, False),
    ]
    assert len(out[0]["predictions"]["tflite"]) == 5
    assert "outside" in out[3]["error"] and "not a JPEG" in out[2]["error"]


def test_models_lists_each_model_with_load_times(tiny_models):
    run = cli("models", manifest=tiny_models / "manifest.toml")
    assert run.returncode == 0, run.stderr
    rows = run.stdout.splitlines()
    assert rows[0].split()[:4] == ["name", "format", "version", "labels"]
    assert [row.split()[:4] for row in rows[1:]] == [
        [fmt, fmt, "0.1", "6"] for fmt in ("keras", "savedmodel", "graphdef", "tflite")
    ]
    listed = json.loads(cli("models", "--json", manifest=tiny_models / "manifest.toml").stdout)
    assert listed["tflite"]["load_ms"] > 0


def test_output_cut_short_by_a_pipe_is_not_an_error(tiny_models, images, tmp_path):
    line = json.dumps({"image": str(images / "photo.jpg"), "x": 5, "y": 5})
    (tmp_path / "many.jsonl").write_text((line + "\n") * 3000)  # far more than a pipe buffers
    command = (f"{sys.executable} -m predictor --manifest {tiny_models / 'manifest.toml'} "
               f"batch {tmp_path / 'many.jsonl'} | head -1")
    run = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert json.loads(run.stdout)["x"] == 5
    assert run.stderr == "" and run.returncode == 0


def test_a_model_returning_nan_is_answered_and_recorded_as_degraded(tiny_models, images, tmp_path,
                                                                      monkeypatch, capsys):
    import numpy as np

    from predictor.cli import main
    from predictor.models import LoadedModel

    monkeypatch.setattr(LoadedModel, "probabilities",
                        lambda self, batch: np.full((len(batch), len(self.spec.labels)), np.nan))
    monkeypatch.setenv("PINPOINT_DB_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    manifest = str(tiny_models / "manifest.toml")
    args = ["--manifest", manifest, "predict", str(images / "photo.jpg"), "--x", "80", "--y", "60"]
    assert main([*args, "--json", "--record", "--tester", "ann"]) == 0
    data = json.loads(capsys.readouterr().out)  # null, not a bare NaN token
    assert (data["status"], data["faulty"]) == ("degraded", ["keras", "savedmodel", "graphdef",
                                                             "tflite"])
    assert {s["score"] for ranked in data["predictions"].values() for s in ranked} == {None}
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        assert conn.execute("SELECT id, status, source, tester FROM predictions").fetchall() == [
            (data["prediction_id"], "degraded", "cli", "ann")]
    assert main(args) == 0
    assert "degraded: the keras, savedmodel, graphdef, tflite model gave unusable scores" in (
        capsys.readouterr().out)


def test_evaluate_exits_1_when_rows_cannot_be_scored_and_still_reports(tiny_models, images,
                                                                         tmp_path):
    labeled = tmp_path / "labeled.csv"
    labeled.write_text(f"image,x,y,keras\n{images / 'photo.jpg'},80,60,alpha\n"
                       "missing.jpg,10,10,alpha\n")
    run = cli("evaluate", str(labeled), manifest=tiny_models / "manifest.toml")
    assert run.returncode == 1
    assert "keras" in run.stdout  # the report of the row that could be scored
    assert "1 row(s) could not be scored" in run.stderr
    labeled.write_text(f"image,x,y,keras\n{images / 'photo.jpg'},80,60,alpha\n")
    assert cli("evaluate", str(labeled), manifest=tiny_models / "manifest.toml").returncode == 0


def test_batch_survives_deep_nesting_huge_numbers_and_lone_surrogates(tiny_models, images,
                                                                       tmp_path):
    photo = str(images / "photo.jpg")
    lines = [
        "[" * 100_000,
        json.dumps({"image": photo, "x": 1, "y": 1, "id": 2}).replace('x": 1', 'x": 1' + "0" * 400),
        '{"image": "\\ud800", "x": 1, "y": 1, "id": 3}',
        json.dumps({"image": photo, "x": 10, "y": 10, "id": 4}),
    ]
    points = tmp_path / "hostile.jsonl"
    points.write_text("\n".join(lines) + "\n")
    run = cli("batch", str(points), manifest=tiny_models / "manifest.toml")
    assert run.returncode == 0, run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [("error" in o, "predictions" in o) for o in out] == [
        (True, False), (True, False), (True, False), (False, True)]
    assert "x must be a finite number" in out[1]["error"]


def test_batch_reads_relative_image_paths_from_the_jsonl_folder(tiny_models, images):
    points = images / "points.jsonl"
    points.write_text(json.dumps({"image": "photo.jpg", "x": 10, "y": 10}) + "\n")
    run = cli("batch", str(points), manifest=tiny_models / "manifest.toml")  # run from ROOT
    assert run.returncode == 0, run.stderr
    assert "predictions" in json.loads(run.stdout)
