import io
import math

import numpy as np
import pytest
from PIL import Image

from predictor import InvalidPoint, RateLimited, RateLimiter
from predictor.learning import record_click
from predictor.store import FeedbackStore, labeled_answers, prediction_timings


@pytest.fixture
def store(tmp_path):
    opened = FeedbackStore(f"sqlite:///{tmp_path / 'feedback.db'}")
    yield opened
    opened.close()


@pytest.fixture
def decoded(tiny_predictor):
    image = Image.new("RGB", (640, 480), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 320, 480))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return tiny_predictor.decode(buffer.getvalue())


def test_prediction_is_stored_with_each_models_crop(tiny_predictor, store, decoded):
    recorded = record_click(tiny_predictor, store, decoded, (100.0, 200.0), tester="ann")
    names = [spec.name for spec in tiny_predictor.specs]
    assert sorted(recorded.crops) == sorted(names)
    assert recorded.crops[names[0]].getpixel((64, 64))[0] > 200  # the red half, around the point
    store.record_labels(recorded.prediction_id, {names[0]: "alpha"}, tester="ann")
    row = labeled_answers(store).iloc[0]
    assert (row["point_x"], row["point_y"], row["truth"]) == (100.0, 200.0, "alpha")
    with store.read() as conn:
        png = conn.exec_driver_sql("SELECT crop_png FROM prediction_models LIMIT 1").scalar()
    assert Image.open(io.BytesIO(png)).size == (128, 128)


@pytest.mark.parametrize("point", [(math.nan, 1.0), (1.0, math.inf), (-1.0, 5.0), (641.0, 5.0)])
def test_bad_point_is_recorded_as_failed_and_raised(tiny_predictor, store, decoded, point):
    with pytest.raises(InvalidPoint):
        record_click(tiny_predictor, store, decoded, point, tester="ann")
    timings = prediction_timings(store)
    assert timings["status"].tolist() == ["failed"]
    assert labeled_answers(store).empty


def test_rate_limited_click_stores_nothing(tiny_predictor, store, decoded):
    limiter = RateLimiter(1, 3600)
    record_click(tiny_predictor, store, decoded, (5, 5), tester="ann", limiter=limiter)
    with pytest.raises(RateLimited):
        record_click(tiny_predictor, store, decoded, (6, 6), tester="ann", limiter=limiter)
    assert len(prediction_timings(store)) == 1


def test_parallel_flag_is_stored(tiny_predictor, store, decoded):
    for parallel in (False, True):
        record_click(tiny_predictor, store, decoded, (5, 5), tester="t", parallel=parallel)
    assert prediction_timings(store)["parallel"].tolist() == [0, 1]


def test_nan_scores_make_a_degraded_prediction_that_is_never_scored(tiny_predictor, store,
                                                                     decoded, monkeypatch):
    model = tiny_predictor.models[0]
    monkeypatch.setattr(type(model), "probabilities",
                        lambda self, batch: np.full((len(batch), len(self.spec.labels)), np.nan))
    recorded = record_click(tiny_predictor, store, decoded, (5, 5), tester="t")
    assert recorded.status == "degraded" and recorded.faulty[0] == model.spec.name
    store.record_labels(recorded.prediction_id, {model.spec.name: "alpha"}, tester="t")
    assert prediction_timings(store)["status"].tolist() == ["degraded"]
    assert labeled_answers(store).empty


def test_edit_label_checks_the_label_like_a_new_one_and_keeps_the_history(tiny_predictor, store,
                                                                           decoded):
    from predictor import NotYourLabel, UnknownLabel
    from predictor.learning import edit_label
    from predictor.store import label_history

    recorded = record_click(tiny_predictor, store, decoded, (100.0, 200.0), tester="ann")
    name = tiny_predictor.specs[0].name
    store.record_labels(recorded.prediction_id, {name: "alpha"}, tester="ann")
    with pytest.raises(UnknownLabel):
        edit_label(tiny_predictor, store, recorded.prediction_id, name, "no-such", tester="ann")
    with pytest.raises(NotYourLabel):
        edit_label(tiny_predictor, store, recorded.prediction_id, name, None, tester="bob")
    edit_label(tiny_predictor, store, recorded.prediction_id, name, None, tester="ann")
    assert labeled_answers(store)["truth"].isna().tolist() == [True]
    history = label_history(store, recorded.prediction_id, name)
    assert history["label"].tolist() == ["alpha", None]
    assert history["replaced_by"].tolist()[0] == "ann"
