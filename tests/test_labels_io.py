import csv
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from predictor import LabeledFileError, Predictor
from predictor.learning.evaluate import read_labeled
from predictor.learning.labels_io import export_labels, import_labels
from predictor.learning.recording import record_click, record_labels
from predictor.store import FeedbackStore
from tests.model_factory import manifest_entry

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)"]


@pytest.fixture
def formula_world(tiny_models, tmp_path):
    """The tiny TFLite model whose labels look like formulas, a store, and one labeled click
    per formula (as tester, as image name and as label)."""
    shutil.copy(tiny_models / "tiny.tflite", tmp_path / "tiny.tflite")
    (tmp_path / "labels.txt").write_text("\n".join([*FORMULAS, "plain", "other"]) + "\n")
    (tmp_path / "manifest.toml").write_text(manifest_entry("m", "tiny.tflite"))
    predictor = Predictor.from_manifest(tmp_path / "manifest.toml")
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / "photo.png")
    for formula in FORMULAS:
        click = record_click(predictor, store, str(tmp_path / "photo.png"), (32, 32),
                             tester=formula, source="import", image_name=formula)
        record_labels(predictor, store, click.prediction_id, {"m": formula}, tester=formula)
    yield predictor, store
    predictor.close()
    store.close()


def _cells(text: str) -> list[str]:
    return [cell for row in list(csv.reader(io.StringIO(text)))[1:] for cell in row]


@pytest.mark.parametrize("fmt", ["csv", "zip"])
def test_an_export_never_starts_a_cell_with_a_formula(formula_world, tmp_path, fmt):
    _, store = formula_world
    out = tmp_path / f"export.{fmt}"
    assert export_labels(store, out, fmt) == len(FORMULAS)
    text = out.read_text() if fmt == "csv" else \
        zipfile.ZipFile(out).read("labels.csv").decode()
    cells = _cells(text)
    assert [c for c in cells if c[:1] in "=+-@\t\r" and c] == []
    assert {f"'{formula}" for formula in FORMULAS} <= set(cells)


def test_an_export_reads_back_with_the_formulas_as_plain_text(formula_world, tmp_path):
    predictor, store = formula_world
    export_labels(store, tmp_path / "export.csv", "csv")
    _, rows = read_labeled(tmp_path / "export.csv")
    assert [(row["tester"], row["image"], row["m"]) for _, row in rows] == [
        (formula, formula, formula) for formula in FORMULAS]
    back = tmp_path / "back.csv"  # as a spreadsheet saves it: the quote kept
    with back.open("w", newline="") as handle:
        csv.writer(handle).writerows([["image", "x", "y", "m"],
                                      *(["photo.png", 10, 10, f"'{f}"] for f in FORMULAS)])
    result = import_labels(predictor, store, back, tester="ann")
    assert (result["imported"], result["skipped"]) == (len(FORMULAS), [])


@pytest.fixture
def plain_world(tiny_models, tmp_path, monkeypatch):
    """The tiny TFLite model as `m`, an empty store, and a folder with a photo to label."""
    monkeypatch.delenv("PINPOINT_IMAGE_ROOT", raising=False)
    shutil.copy(tiny_models / "tiny.tflite", tmp_path / "tiny.tflite")
    shutil.copy(tiny_models / "labels.txt", tmp_path / "labels.txt")
    (tmp_path / "manifest.toml").write_text(manifest_entry("m", "tiny.tflite"))
    predictor = Predictor.from_manifest(tmp_path / "manifest.toml")
    store = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    for folder in ("data", "outside"):
        (tmp_path / folder).mkdir()
        Image.new("RGB", (64, 64), (200, 30, 30)).save(tmp_path / folder / "photo.png")
    yield predictor, store, tmp_path / "data"
    predictor.close()
    store.close()


def _stored(store: FeedbackStore) -> int:
    from sqlalchemy import text

    with store.read() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM predictions")).scalar_one())


def test_import_skips_rows_whose_image_is_out_of_the_files_reach(plain_world):
    predictor, store, data = plain_world
    (data / "link.png").symlink_to(data.parent / "outside" / "photo.png")
    outside = data.parent / "outside" / "photo.png"
    (data / "labels.csv").write_text(
        "image,x,y,m\nphoto.png,10,10,alpha\n../outside/photo.png,10,10,alpha\n"
        f"{outside},10,10,alpha\nlink.png,10,10,alpha\nphoto.png,20,20,bravo\n")
    result = import_labels(predictor, store, data / "labels.csv", tester="ann")
    assert result["imported"] == 2 and _stored(store) == 2
    assert [s["row"] for s in result["skipped"]] == [3, 4, 5]
    assert all("outside the labeled file's reach" in s["error"] for s in result["skipped"])


def test_a_jsonl_cannot_copy_a_file_beside_the_temporary_folder(plain_world):
    import json
    import tempfile
    import uuid

    predictor, store, data = plain_world
    unique = f"pinpoint-probe-{uuid.uuid4().hex}"
    (data.parent / unique).mkdir()
    Image.new("RGB", (64, 64)).save(data.parent / unique / "p.png")
    record = {"image": f"../{unique}/p.png", "x": 5, "y": 5, "labels": {"m": {"truth": "alpha"}}}
    (data / "labels.jsonl").write_text(json.dumps(record) + "\n")
    landed = Path(tempfile.gettempdir()) / unique / "p.png"  # the temporary folder's "../"
    try:
        result = import_labels(predictor, store, data / "labels.jsonl", tester="ann")
        assert not landed.exists()
        assert (result["imported"], [s["row"] for s in result["skipped"]]) == (0, [2])
    finally:
        shutil.rmtree(landed.parent, ignore_errors=True)


@pytest.mark.parametrize(("content", "message"), [
    (b"image,x,y,m,m\nphoto.png,1,1,alpha,bravo\n", "column(s) m appear twice"),
    ("image,x,y,m\nphoto.png,1,1,\u00e9t\u00e9\n".encode("latin-1"), "cannot read"),
    (b"image,x,y,m\nphoto.png,1,1," + b"a" * (10 << 20) + b"\n", "field larger than"),
])
def test_an_unreadable_labeled_file_is_refused_whole_and_stores_nothing(plain_world, content,
                                                                      message):
    predictor, store, data = plain_world
    (data / "labels.csv").write_bytes(content)
    with pytest.raises(LabeledFileError, match=re.escape(message)):
        import_labels(predictor, store, data / "labels.csv", tester="ann")
    assert _stored(store) == 0


@pytest.mark.parametrize(("entries", "message"), [
    ([("labels.csv", b"image,x,y,m\n"), ("zeros.bin", b"\0" * (8 << 20))],
     "the zip unpacks to more than 1 MB"),
    ([("labels.csv", b"image,x,y,m\n"), ("labels.csv", b"image,x,y,m\nphoto.png,1,1,a\n")],
     "the zip holds 'labels.csv' twice"),
    ([("labels.csv", b"image,x,y,m\n"), ("../escape.png", b"x")],
     "the zip holds an unsafe entry: '../escape.png'"),
])
def test_a_zip_to_import_is_checked_before_it_is_unpacked(plain_world, monkeypatch, entries,
                                                          message):
    import warnings

    predictor, store, data = plain_world
    monkeypatch.setattr("predictor.learning.labels_io.MAX_UNZIPPED_MB", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
        with zipfile.ZipFile(data / "export.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in entries:
                archive.writestr(name, content)
    with pytest.raises(LabeledFileError, match=re.escape(message)):
        import_labels(predictor, store, data / "export.zip", tester="ann")
    assert _stored(store) == 0


def _halves(store: FeedbackStore) -> tuple[int, int]:
    """(imported clicks, those without their label): a half-stored row shows up as the latter."""
    from sqlalchemy import text

    with store.read() as conn:
        clicks = conn.execute(text(
            "SELECT COUNT(*) FROM predictions WHERE source = 'import'")).scalar_one()
        bare = conn.execute(text(
            "SELECT COUNT(*) FROM predictions p WHERE source = 'import' AND NOT EXISTS "
            "(SELECT 1 FROM labels l WHERE l.prediction_id = p.id)")).scalar_one()
    return int(clicks), int(bare)


def _labeled_csv(data: Path, rows: int) -> Path:
    lines = [f"photo.png,{4 + i % 56},{4 + i // 56},{'alpha' if i % 2 else 'bravo'}"
             for i in range(rows)]
    (data / "labels.csv").write_text("image,x,y,m\n" + "\n".join(lines) + "\n")
    return data / "labels.csv"


def test_a_row_failing_while_it_is_stored_leaves_nothing_of_itself(plain_world, monkeypatch):
    import predictor.store.feedback as feedback

    predictor, store, data = plain_world
    real, calls = feedback._upsert_label, []

    def failing_third(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")  # as the database would, mid-row
        return real(*args, **kwargs)

    monkeypatch.setattr(feedback, "_upsert_label", failing_third)
    result = import_labels(predictor, store, _labeled_csv(data, 5), tester="ann")
    assert result["imported"] == 4 and [s["row"] for s in result["skipped"]] == [4]
    assert _halves(store) == (4, 0)


KILLED_IMPORT = """
import sys
from predictor import Predictor
from predictor.learning.labels_io import import_labels
from predictor.store import FeedbackStore
predictor = Predictor.from_manifest(sys.argv[1])
store = FeedbackStore(sys.argv[2])
print("importing", flush=True)
import_labels(predictor, store, sys.argv[3], tester="ann")
print("done", flush=True)
"""


def test_an_import_killed_at_random_points_stores_each_row_whole_or_not_at_all(plain_world):
    import random
    import signal
    import subprocess
    import sys
    import time

    from sqlalchemy import text

    _, store, data = plain_world
    csv_path, url = _labeled_csv(data, 2000), str(store.engine.url)
    rng, killed = random.Random(20), 0
    for _ in range(6):
        child = subprocess.Popen([sys.executable, "-c", KILLED_IMPORT,
                                  str(data.parent / "manifest.toml"), url, str(csv_path)],
                                 stdout=subprocess.PIPE, text=True,
                                 cwd=Path(__file__).resolve().parent.parent)
        assert child.stdout.readline().strip() == "importing"
        time.sleep(rng.uniform(0.0, 1.5))
        child.send_signal(signal.SIGKILL)
        killed += child.wait(60) == -signal.SIGKILL
    clicks, bare = _halves(store)
    with store.read() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    print(f"{killed} of 6 imports killed mid-way; {clicks} rows stored whole, {bare} half")
    assert killed >= 4 and clicks > 0 and bare == 0


def test_a_zip_export_holds_only_originals_still_holding_the_clicked_bytes(plain_world,
                                                                           tmp_path,
                                                                           monkeypatch):
    import os

    predictor, store, data = plain_world
    photo = data / "photo.png"
    paths = [photo, data / "changed.png", data / "fifo.png"]
    for path in paths[1:]:
        shutil.copy(photo, path)
    for path in paths:
        click = record_click(predictor, store, str(path), (10, 10), tester="ann",
                             source="import", image_name=str(path))
        record_labels(predictor, store, click.prediction_id, {"m": "alpha"}, tester="ann")
    paths[1].write_bytes(b"another file now")  # the stored path says something else
    paths[2].unlink()
    os.mkfifo(paths[2])  # opening it to read would wait forever for a writer
    export_labels(store, tmp_path / "export.zip", "zip")
    archive = zipfile.ZipFile(tmp_path / "export.zip")
    originals = [n for n in archive.namelist() if n.startswith("originals/")]
    assert len(originals) == 1 and archive.read(originals[0]) == photo.read_bytes()
    monkeypatch.setattr("predictor.learning.labels_io.MAX_ORIGINAL_MB", 100 / 2**20)
    export_labels(store, tmp_path / "capped.zip", "zip")  # the photo is over 100 bytes
    assert not [n for n in zipfile.ZipFile(tmp_path / "capped.zip").namelist()
                if n.startswith("originals/")]
