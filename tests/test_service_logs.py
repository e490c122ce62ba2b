import base64
import io
import json
import logging
import os

import httpx
import pytest

from predictor.service.logs import JsonFormatter, TextFormatter, event
from predictor.service.settings import Settings, SettingsError
from tests.conftest import encode, noise_image
from tests.live_server import (
    ALICE,
    KEYS,
    free_port,
    log_events,
    serve_logged,
    wait_ready,
    write_tflite_manifest,
)

PHOTO = encode(noise_image(96, 64, seed=11), "PNG")
WRONG_KEY = "wrong-but-long-key-7f3a9c"
OUTSIDE = "../outside-secret-name.png"


def _record(fields):
    logger = logging.getLogger("pinpoint.test")
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    try:
        event(logger, "predict", **fields)
    finally:
        logger.removeHandler(handler)
    return records[0]


def test_json_lines_carry_the_event_and_its_fields():
    record = _record({"status": 200, "ms": {"decode": 1.5}, "models": {"color": "1.0"}})
    line = JsonFormatter().format(record)
    parsed = json.loads(line)
    assert "\n" not in line
    assert parsed["event"] == "predict" and parsed["logger"] == "pinpoint.test"
    assert parsed["status"] == 200 and parsed["ms"] == {"decode": 1.5}
    assert parsed["level"] == "info" and parsed["ts"].endswith("+00:00")
    assert parsed["pid"] == os.getpid()


def test_text_lines_are_key_value():
    record = _record({"status": 404, "models": {"color": "1.0", "theme": "2"}})
    assert TextFormatter().format(record) == (
        "INFO: pinpoint.test predict status=404 models=color:1.0,theme:2")


@pytest.mark.parametrize("value, expected", [("", "json"), ("json", "json"), ("TEXT", "text")])
def test_log_format_setting(value, expected):
    assert Settings.from_env({"PINPOINT_LOG_FORMAT": value}).log_format == expected


def test_an_unknown_log_format_is_a_settings_error():
    with pytest.raises(SettingsError, match="PINPOINT_LOG_FORMAT"):
        Settings.from_env({"PINPOINT_LOG_FORMAT": "xml"})


@pytest.fixture(scope="module")
def logged_server(tiny_models, tmp_path_factory):
    """A real server (TFLite model "color" 1.0, access log on) and a few requests sent to it."""
    folder = tmp_path_factory.mktemp("logged")
    (folder / "images").mkdir()
    (folder / "images" / "inside.png").write_bytes(PHOTO)
    (folder / "outside-secret-name.png").write_bytes(PHOTO)
    manifest = write_tflite_manifest(folder / "manifest.toml", tiny_models, "1.0")
    env = {"PINPOINT_MANIFEST": str(manifest), "PINPOINT_DB_URL": f"sqlite:///{folder}/l.db",
           "PINPOINT_API_RATE": "0", "PINPOINT_IMAGE_ROOT": str(folder / "images"),
           "PINPOINT_API_KEYS": ",".join(f"{k}:{v}" for k, v in KEYS.items())}
    port = free_port()
    server = serve_logged(env, port, folder)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        with httpx.Client(base_url=url, timeout=30) as client:
            answers = {
                "upload": client.post("/v1/predict", headers=ALICE, data={"x": "40", "y": "30"},
                                      files={"image": ("p.png", PHOTO)}),
                "path": client.post("/v1/predict", headers=ALICE,
                                    json={"path": "inside.png", "x": 10, "y": 20}),
                "outside": client.post("/v1/predict", headers=ALICE,
                                       json={"path": OUTSIDE, "x": 1, "y": 1}),
                "wrong key": client.post("/v1/predict", headers={"X-API-Key": WRONG_KEY},
                                         files={"image": ("p.png", PHOTO)}, data={"x": 1, "y": 1}),
                "off image": client.post("/v1/predict", headers=ALICE, data={"x": "500", "y": "1"},
                                         files={"image": ("p.png", PHOTO)}),
                "models": client.get("/v1/models", headers=ALICE),
            }
    finally:
        server.terminate()
        server.wait(60)
    return answers, folder


def _predict_lines(folder):
    return [e for e in log_events(folder / "stderr.log") if e.get("event") == "predict"]


def test_one_predict_line_per_prediction_request_with_its_id_and_status(logged_server):
    answers, folder = logged_server
    lines = _predict_lines(folder)
    predicts = [a for name, a in answers.items() if name != "models"]
    assert [line["status"] for line in lines] == [a.status_code for a in predicts]
    assert [line["status"] for line in lines] == [200, 200, 404, 401, 422]
    assert [line["request_id"] for line in lines] == [a.headers["x-request-id"] for a in predicts]
    assert [line.get("error") for line in lines] == [
        None, None, "ImageNotFound", "Unauthorized", "PointOutsideImage"]


def test_a_predict_line_carries_image_size_point_versions_and_stage_timings(logged_server):
    answers, folder = logged_server
    line, body = _predict_lines(folder)[0], answers["upload"].json()
    assert line["image"] == {"width": 96, "height": 64, "format": "PNG", "bytes": len(PHOTO)}
    assert line["point"] == {"x": 40.0, "y": 30.0}
    assert line["models"] == {"color": "1.0"}
    assert line["prediction_id"] == body["prediction_id"]
    assert set(line["ms"]) == {"decode", "crop", "model:color", "total"}
    assert line["ms"]["total"] == pytest.approx(body["timings_ms"]["total"], abs=0.006)
    assert line["outcome"] == "ok" and line["total_ms"] >= line["ms"]["total"]
    refused = _predict_lines(folder)[4]  # the point is off the image: no image, no timings
    assert refused["point"] == {"x": 500.0, "y": 1.0} and "image" not in refused


def test_one_line_per_model_load_with_load_and_warm_up_times(logged_server):
    _answers, folder = logged_server
    events = log_events(folder / "stderr.log")
    loads = [e for e in events if e.get("event") == "model_loaded"]
    assert [(e["model"], e["version"], e["format"], e["reason"]) for e in loads] == [
        ("color", "1.0", "tflite", "start")]
    assert loads[0]["load_ms"] > 0 and loads[0]["warmup_ms"] > 0
    assert [e["event"] for e in events][-1] == "stopped"


def test_no_key_image_bytes_or_outside_path_in_any_log_line(logged_server):
    _answers, folder = logged_server
    logs = (folder / "stderr.log").read_text() + (folder / "stdout.log").read_text()
    for secret in [*KEYS.values(), WRONG_KEY, "outside-secret-name", "inside.png",
                   base64.b64encode(PHOTO[:48]).decode()[:40], "IHDR", PHOTO[:64].hex()]:
        assert secret not in logs


def test_access_log_lines_keep_working(logged_server):
    _answers, folder = logged_server
    access = (folder / "stdout.log").read_text()
    assert '"POST /v1/predict HTTP/1.1" 200' in access
    assert '"POST /v1/predict HTTP/1.1" 401' in access
    assert '"GET /v1/models HTTP/1.1" 200' in access


def test_text_log_format_writes_plain_lines(tiny_models, tmp_path):
    manifest = write_tflite_manifest(tmp_path / "manifest.toml", tiny_models, "1.0")
    env = {"PINPOINT_MANIFEST": str(manifest), "PINPOINT_DB_URL": f"sqlite:///{tmp_path}/t.db"}
    port = free_port()
    server = serve_logged(env, port, tmp_path, "--log-format", "text")
    try:
        wait_ready(f"http://127.0.0.1:{port}")
        httpx.post(f"http://127.0.0.1:{port}/v1/predict", files={"image": ("p.png", PHOTO)},
                   data={"x": "40", "y": "30"}, timeout=30)
    finally:
        server.terminate()
        server.wait(60)
    text = (tmp_path / "stderr.log").read_text()
    assert log_events(tmp_path / "stderr.log") == []
    assert "INFO: pinpoint.models model_loaded model=color version=1.0 format=tflite" in text
    lines = [line for line in io.StringIO(text) if " predict request_id=" in line]
    assert len(lines) == 1 and " status=200 " in lines[0] and "models=color:1.0" in lines[0]
