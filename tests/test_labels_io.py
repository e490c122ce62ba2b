import csv
import io
import shutil
import zipfile

import pytest
from PIL import Image

from predictor import Predictor
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
