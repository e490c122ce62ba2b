import sqlite3
from dataclasses import replace

import pytest

from predictor import ImageLimits, crop_image
from predictor.service import Settings, create_app
from predictor.service.client import PinpointClient
from predictor.service.remote import (
    ServiceDegraded,
    label_remote,
    models_remote,
    predict_remote,
    prediction_from_json,
)
from predictor.store.feedback import FeedbackStore
from tests.conftest import encode, noise_image
from tests.live_server import KEYS, LiveServer, free_port, sharing, wait_ready

PHOTO = encode(noise_image(100, 70, seed=6), "JPEG")


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory):
    return tmp_path_factory.mktemp("remote") / "shared.db"


@pytest.fixture(scope="module")
def service(tiny_predictor, shared_db):
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{shared_db}",
                        limits=ImageLimits(200_000, 1_000_000))
    with LiveServer(create_app(settings, load_predictor=lambda: sharing(tiny_predictor))) as s:
        wait_ready(s.url)
        yield s


def test_remote_prediction_equals_in_process_and_labels_reach_the_shared_store(
        service, tiny_predictor, shared_db):
    decoded = tiny_predictor.decode(PHOTO)
    client = PinpointClient(service.url, KEYS["alice"])
    remote = predict_remote(client, PHOTO, decoded, (50.0, 35.0), tester="ann")
    local = tiny_predictor.predict(decoded, 50.0, 35.0)
    assert remote.prediction.to_dict()["predictions"] == local.to_dict()["predictions"]
    assert remote.prediction.crops == local.crops and remote.prediction.point == (50.0, 35.0)
    assert {name: crop.tobytes() for name, crop in remote.crops.items()} == {
        name: crop_image(decoded, box).tobytes() for name, box in local.crops.items()}
    label_remote(client, remote.prediction_id, {"graphdef": "echo"})
    with sqlite3.connect(shared_db) as conn:
        assert conn.execute("SELECT label FROM labels WHERE prediction_id = ?",
                            (remote.prediction_id,)).fetchall() == [("echo",)]


def test_no_service_raises_degraded_and_stores_an_unscored_row(tiny_predictor, tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'app.db'}")
    client = PinpointClient(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServiceDegraded, match="did not answer .cannot reach"):
        predict_remote(client, PHOTO, tiny_predictor.decode(PHOTO), (1.0, 1.0), tester="ann",
                       store=store)
    with pytest.raises(ServiceDegraded, match="not saved"):
        label_remote(client, 1, {"keras": "alpha"})
    store.close()
    with sqlite3.connect(tmp_path / "app.db") as conn:
        assert conn.execute("SELECT status, tester FROM predictions").fetchall() == [
            ("degraded", "ann")]


def test_prediction_from_json_round_trips_the_cli_shape(tiny_predictor):
    original = tiny_predictor.predict(PHOTO, 10, 60, top_k=3)
    assert prediction_from_json(original.to_dict()).to_dict() == original.to_dict()


def test_null_scores_from_a_degraded_answer_come_back_as_nan(tiny_predictor):
    import math

    from predictor.learning.recording import RecordedPrediction

    original = tiny_predictor.predict(PHOTO, 10, 60, top_k=2)
    name = next(iter(original.predictions))
    nan_scores = {**original.predictions,
                  name: [type(s)(s.label, math.nan) for s in original.predictions[name]]}
    answer = RecordedPrediction(7, replace(original, predictions=nan_scores), {}, (name,))
    data = answer.to_dict()
    assert (data["status"], data["faulty"], data["prediction_id"]) == ("degraded", [name], 7)
    assert [s["score"] for s in data["predictions"][name]] == [None, None]
    rebuilt = prediction_from_json(data)
    assert all(math.isnan(s.score) for s in rebuilt.predictions[name])


def test_model_facts_come_from_the_service_and_decode_like_the_local_predictor(
        service, tiny_predictor):
    facts = models_remote(PinpointClient(service.url, KEYS["alice"]), ImageLimits())
    assert [f.name for f in facts.specs] == [s.name for s in tiny_predictor.specs]
    assert facts.where == service.url and facts.limits == ImageLimits(200_000, 1_000_000)
    assert facts.decode(PHOTO).size == tiny_predictor.decode(PHOTO).size == (100, 70)
    assert facts.describe()["keras"]["labels"] == len(tiny_predictor.specs[0].labels)


def test_model_facts_from_a_missing_or_refusing_service_raise_degraded(service):
    with pytest.raises(ServiceDegraded, match="did not answer .cannot reach"):
        models_remote(PinpointClient(f"http://127.0.0.1:{free_port()}"), ImageLimits())
    with pytest.raises(ServiceDegraded, match="did not answer .HTTP 401"):
        models_remote(PinpointClient(service.url, "wrong-key"), ImageLimits())
