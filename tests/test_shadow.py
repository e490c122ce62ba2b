import io
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import text

from predictor import ManifestError, Predictor, load_versions
from predictor.cli import main
from predictor.learning import record_click
from predictor.learning.shadow import shadows_of
from predictor.learning.shadow_scores import shadow_figures
from predictor.learning.versions import promote
from predictor.manifest import ModelSpec
from predictor.models import LoadedModel
from predictor.store import FeedbackStore
from tests.model_factory import INPUT_SIZE, LABELS, manifest_entry

CONSTANT = "echo"  # the candidate below answers this label first, whatever it sees


def constant_model(path: Path) -> None:
    """A real Keras model that ranks CONSTANT first for every crop."""
    import keras

    bias = np.zeros(len(LABELS), np.float32)
    bias[LABELS.index(CONSTANT)] = 5.0
    model = keras.Sequential([keras.Input((INPUT_SIZE, INPUT_SIZE, 3)),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(len(LABELS), activation="softmax")])
    model.layers[-1].set_weights([np.zeros((3, len(LABELS)), np.float32), bias])
    model.save(path)


@pytest.fixture(scope="module")
def constant_keras(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("constant") / "constant.keras"
    constant_model(path)
    return path


@pytest.fixture
def manifest(tmp_path, tiny_models, constant_keras) -> Path:
    shutil.copy(tiny_models / "tiny.keras", tmp_path / "tiny.keras")
    shutil.copy(tiny_models / "labels.txt", tmp_path / "labels.txt")
    shutil.copy(constant_keras, tmp_path / "constant.keras")
    path = tmp_path / "manifest.toml"
    path.write_text(manifest_entry("tiny", "tiny.keras")
                    + manifest_entry("tiny", "constant.keras", version="0.2", status="candidate"))
    return path


@pytest.fixture
def db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'feedback.db'}"
    monkeypatch.setenv("PINPOINT_DB_URL", url)
    return url


@pytest.fixture
def store(db):
    opened = FeedbackStore(db)
    yield opened
    opened.close()


def image(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def rows(store: FeedbackStore, sql: str) -> list[tuple]:
    with store.read() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def test_the_shadow_command_marks_a_candidate_and_promote_clears_it(manifest, capsys):
    m = str(manifest)
    assert main(["--manifest", m, "shadow", "tiny", "0.2"]) == 0
    assert {s.version: s.shadow for s in load_versions(m)} == {"0.1": False, "0.2": True}
    assert main(["--manifest", m, "shadow", "tiny", "0.1"]) == 2  # the active one: refused
    assert "active version" in capsys.readouterr().err
    assert main(["--manifest", m, "shadow", "tiny", "0.2", "--off"]) == 0
    assert {s.version: s.shadow for s in load_versions(m)} == {"0.1": False, "0.2": False}
    main(["--manifest", m, "shadow", "tiny", "0.2"])
    promote(m, "tiny", "0.2")
    assert {s.version: (s.status, s.shadow) for s in load_versions(m)} == {
        "0.1": ("retired", False), "0.2": ("active", False)}


def test_a_hand_written_shadow_on_the_active_version_is_refused(manifest):
    manifest.write_text(manifest_entry("tiny", "tiny.keras").rstrip() + "\nshadow = true\n")
    with pytest.raises(ManifestError, match="cannot be its own shadow"):
        load_versions(manifest)


def test_a_shadow_answer_is_stored_beside_the_click_not_in_the_answer(manifest, store):
    main(["--manifest", str(manifest), "shadow", "tiny", "0.2"])
    predictor = Predictor.from_manifest(manifest)
    try:
        recorded = record_click(predictor, store, image(1), (64, 48), tester="ann")
        shadows_of(predictor).wait(30)
    finally:
        predictor.close()
    answer = recorded.to_dict()
    assert list(answer["predictions"]) == ["tiny"]
    assert answer["models"]["tiny"]["version"] == "0.1"
    assert "shadow" not in json.dumps(answer)
    assert rows(store, "SELECT model, version FROM prediction_models") == [("tiny", "0.1")]
    shadow = rows(store, "SELECT prediction_id, version, top1, error FROM shadow_predictions")
    assert shadow == [(recorded.prediction_id, "0.2", CONSTANT, None)]


class _Gate:
    """A stand-in shadow model that waits until released, or raises when told to."""

    def __init__(self, spec: ModelSpec, fail: bool = False):
        self.released, self.fail, self.spec = threading.Event(), fail, spec

    def loaded(self) -> LoadedModel:
        return LoadedModel(self.spec, self.run, 0.0, 0.0)

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.fail:
            raise RuntimeError("shadow model broke")
        assert self.released.wait(30), "the click should have returned long before"
        return np.tile(np.eye(len(LABELS))[LABELS.index("bravo")], (len(batch), 1))


def _predictor_with(manifest: Path, *gates: _Gate) -> Predictor:
    served = Predictor.from_manifest(manifest)
    return Predictor(served.models, served.limits, shadows=[g.loaded() for g in gates])


def test_the_click_returns_before_its_shadow_answers(manifest, store):
    spec = next(s for s in load_versions(manifest) if s.version == "0.2")
    gate = _Gate(spec)
    predictor = _predictor_with(manifest, gate)
    recorded = record_click(predictor, store, image(2), (10, 10), tester="ann")
    # The shadow is still blocked here: had the click waited for it, we would not be here.
    assert recorded.prediction.predictions["tiny"]
    assert rows(store, "SELECT COUNT(*) FROM shadow_predictions") == [(0,)]
    gate.released.set()
    shadows_of(predictor).wait(30)
    predictor.close()
    assert rows(store, "SELECT top1 FROM shadow_predictions") == [("bravo",)]


def test_a_failing_shadow_never_fails_the_click(manifest, store, monkeypatch):
    spec = next(s for s in load_versions(manifest) if s.version == "0.2")
    broken, fine = _Gate(spec, fail=True), _Gate(
        ModelSpec(**{**spec.__dict__, "version": "0.3"}))
    fine.released.set()
    predictor = _predictor_with(manifest, broken, fine)
    first = record_click(predictor, store, image(3), (40, 40), tester="ann")
    shadows_of(predictor).wait(30)
    monkeypatch.setattr(store, "record_shadow", _raise)  # the store write itself fails
    second = record_click(predictor, store, image(4), (40, 40), tester="ann")
    shadows_of(predictor).wait(30)
    predictor.close()
    assert first.status == second.status == "ok"
    stored = rows(store, "SELECT prediction_id, version, top1, error IS NULL "
                         "FROM shadow_predictions ORDER BY version")
    assert stored == [(first.prediction_id, "0.2", None, 0),
                      (first.prediction_id, "0.3", "bravo", 1)]
    assert shadows_of(predictor).counts == {"stored": 1, "failed": 1, "skipped": 0}
    assert rows(store, "SELECT COUNT(*) FROM predictions WHERE status = 'ok'") == [(2,)]


def _raise(*_args, **_kwargs):
    raise RuntimeError("database went away")


def test_shadow_and_served_are_scored_on_the_same_labeled_clicks(manifest, store, capsys):
    m = str(manifest)
    plain = Predictor.from_manifest(manifest)
    before = record_click(plain, store, image(10), (64, 48), tester="ann")  # no shadow yet
    plain.close()
    main(["--manifest", m, "shadow", "tiny", "0.2"])
    predictor = Predictor.from_manifest(manifest)
    clicks = [record_click(predictor, store, image(20 + i), (30 + 9 * i, 40), tester="ann")
              for i in range(6)]
    shadows_of(predictor).wait(30)
    predictor.close()
    served_top1 = [c.prediction.predictions["tiny"][0].label for c in clicks]
    truths = [CONSTANT, CONSTANT, served_top1[2], "alpha", None, "unlabeled"]
    store.record_labels(before.prediction_id,
                        {"tiny": before.prediction.predictions["tiny"][0].label}, tester="ann")
    for click, truth in zip(clicks, truths, strict=True):
        if truth != "unlabeled":
            store.record_labels(click.prediction_id, {"tiny": truth}, tester="ann")

    scored = list(zip(truths[:4], served_top1[:4], strict=True))  # model labels only
    expected_served = sum(t == s for t, s in scored) / 4
    [row] = shadow_figures(store, "tiny")
    assert (row["version"], row["shadowed_clicks"], row["labeled"]) == ("0.2", 6, 4)
    assert row["shadow_top1"] == 0.5  # right exactly on the two CONSTANT truths
    assert row["served_top1"] == pytest.approx(expected_served)
    assert row["served_versions"] == "0.1"

    capsys.readouterr()
    assert main(["--manifest", m, "compare", "tiny", "0.1", "0.2", "--recorded", "--json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert compared["points"] == 4  # the click before the shadow has no 0.2 answer
    assert (compared["a"]["top1"], compared["b"]["top1"]) == (row["served_top1"], 0.5)
    assert main(["--manifest", m, "shadow", "tiny"]) == 0
    assert "4 labeled" in capsys.readouterr().out


def test_a_shadow_that_cannot_load_is_left_out_and_serving_goes_on(manifest, store):
    (manifest.parent / "broken.keras").write_bytes(b"not a model")
    manifest.write_text(manifest.read_text() + manifest_entry(
        "tiny", "broken.keras", version="0.3", status="candidate").rstrip() + "\nshadow = true\n")
    predictor = Predictor.from_manifest(manifest)
    recorded = record_click(predictor, store, image(5), (40, 40), tester="ann")
    predictor.close()
    assert shadows_of(predictor) is None and recorded.status == "ok"
