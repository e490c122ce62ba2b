import json
import os
import socket
import sqlite3
import threading

import httpx
import numpy as np
import pytest

from predictor import ImageLimits, Predictor, load_manifest
from predictor.models import LoadedModel
from predictor.service import Settings, create_app
from tests.conftest import encode, noise_image
from tests.live_server import ALICE, KEYS, LiveServer, sharing, wait_ready
from tests.model_factory import LABELS

LIMITS = ImageLimits(max_bytes=200_000, max_pixels=4_000_000)
PHOTO = encode(noise_image(120, 90, seed=3), "PNG")
NAMES = ["keras", "savedmodel", "graphdef", "tflite"]


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """An image root with photos, and every P1 trap next to and inside it."""
    base = tmp_path_factory.mktemp("images")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "photo.png").write_bytes(PHOTO)
    (root / "sub" / "deep.jpg").write_bytes(encode(noise_image(90, 60, seed=4), "JPEG"))
    (base / "secret.png").write_bytes(PHOTO)
    (base / "root2").mkdir()
    (base / "root2" / "other.png").write_bytes(PHOTO)
    (root / "link_out.png").symlink_to(base / "secret.png")
    (root / "link_zero.png").symlink_to("/dev/zero")
    (root / "link_in.png").symlink_to(root / "photo.png")
    os.mkfifo(root / "pipe.png")
    return root


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    return tmp_path_factory.mktemp("api_db") / "pinpoint.db"


@pytest.fixture(scope="module")
def api(tiny_predictor, image_folder, db_path):
    settings = Settings(api_keys=KEYS, image_root=image_folder, db_url=f"sqlite:///{db_path}",
                        limits=LIMITS, rate=100_000, per_s=1)
    app = create_app(settings, load_predictor=lambda: sharing(tiny_predictor, limits=LIMITS))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server


def upload(url, image=PHOTO, x="60", y="45", headers=ALICE, **fields):
    files = {"image": ("photo.png", image, "image/png")}
    return httpx.post(f"{url}/v1/predict", files=files, data={"x": x, "y": y, **fields},
                      headers=headers, timeout=30)


def by_path(url, path, x=10, y=10, headers=ALICE, **fields):
    body = {"path": path, "x": x, "y": y, **fields}
    return httpx.post(f"{url}/v1/predict", json=body, headers=headers, timeout=30)


def rows(db_path, sql, *args):
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql, args).fetchall()


def metric(text, line_start):
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(line_start)]
    return sum(values)


# -- endpoints ----------------------------------------------------------------------------


def test_health_and_readiness_answer_without_a_key(api):
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "alive"}
    ready = httpx.get(f"{api.url}/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "models": NAMES}


def test_upload_gives_the_cli_json_plus_a_stored_prediction_id(api, tiny_predictor, db_path):
    response = upload(api.url, top_k="3")
    assert response.status_code == 200
    body = response.json()
    expected = tiny_predictor.predict(PHOTO, 60, 45, top_k=3).to_dict()
    assert body["predictions"] == expected["predictions"]
    assert body["crops"] == expected["crops"] and body["image"] == expected["image"]
    assert set(body) == set(expected) | {"prediction_id", "status", "faulty"}
    assert (body["status"], body["faulty"]) == ("ok", [])
    assert set(body["timings_ms"]) == {"decode", "crop", "total", *(f"model:{n}" for n in NAMES)}
    stored = rows(db_path, "SELECT tester, source, status FROM predictions WHERE id = ?",
                  body["prediction_id"])
    assert stored == [("api:alice", "api", "ok")]
    crops = rows(db_path, "SELECT COUNT(crop_png) FROM prediction_models WHERE prediction_id = ?",
                 body["prediction_id"])
    assert crops == [(4,)]


@pytest.mark.parametrize("name", ["photo.png", "sub/deep.jpg", "link_in.png"])
def test_server_path_is_predicted_like_the_file(api, tiny_predictor, image_folder, name):
    response = by_path(api.url, name, x=20, y=30, top_k=2)
    assert response.status_code == 200
    expected = tiny_predictor.predict(image_folder / name, 20, 30, top_k=2).to_dict()
    assert response.json()["predictions"] == expected["predictions"]


P1_TRAPS = [
    "../secret.png", "sub/../../secret.png", "%2e%2e/secret.png", "%2e%2e%2fsecret.png",
    "%252e%252e%252fsecret.png", "..%2fsecret.png", "/etc/passwd", "//etc/passwd",
    "..\\secret.png", "sub\\..\\..\\secret.png", "C:\\Windows\\win.ini", "C:secret.png",
    "\\\\host\\share\\photo.png", "photo.png\x00.jpg", "link_out.png", "link_zero.png",
    "/dev/zero", "../root2/other.png", "pipe.png", "sub", ".", "", "missing.png",
    None, 7, ["photo.png"], {"path": "photo.png"},
]


@pytest.mark.parametrize("name", P1_TRAPS, ids=repr)
def test_every_path_trap_is_a_404_json_error(api, name):
    response = by_path(api.url, name)
    assert response.status_code == 404
    assert response.json()["error"] == "ImageNotFound"


def test_symlink_out_of_the_root_is_refused_although_its_target_is_an_image(api, image_folder):
    assert (image_folder.parent / "secret.png").read_bytes() == PHOTO
    assert by_path(api.url, "link_out.png").json()["message"].endswith("outside the image folder")


def test_feedback_is_stored_for_the_app_to_count(api, db_path):
    prediction_id = upload(api.url).json()["prediction_id"]
    labels = {"keras": "alpha", "tflite": None}
    response = httpx.post(f"{api.url}/v1/feedback", headers=ALICE,
                          json={"prediction_id": prediction_id, "labels": labels})
    assert response.status_code == 200
    stored = rows(db_path, "SELECT model, label, tester FROM labels WHERE prediction_id = ? "
                  "ORDER BY model", prediction_id)
    assert stored == [("keras", "alpha", "api:alice"), ("tflite", None, "api:alice")]


@pytest.mark.parametrize(("body", "status"), [
    ({"prediction_id": 10**9, "labels": {"keras": "alpha"}}, 404),
    ({"prediction_id": "PID", "labels": {"nomodel": "alpha"}}, 422),
    ({"prediction_id": "PID", "labels": {"keras": "zulu"}}, 422),
    ({"prediction_id": "PID", "labels": {}}, 422),
    ({"prediction_id": 0, "labels": {"keras": "alpha"}}, 422),
    ({"prediction_id": 2**70, "labels": {"keras": "alpha"}}, 422),
    ({"prediction_id": "PID"}, 422),
    ([1, 2], 422),
])
def test_bad_feedback_is_a_4xx_json_error(api, db_path, body, status):
    prediction_id = upload(api.url).json()["prediction_id"]
    text = json.dumps(body).replace('"PID"', str(prediction_id))
    response = httpx.post(f"{api.url}/v1/feedback", headers={**ALICE, "content-type":
                          "application/json"}, content=text)
    assert response.status_code == status, response.text
    assert response.json()["error"] in ("BadRequest", "UnknownPrediction")
    assert rows(db_path, "SELECT COUNT(*) FROM labels WHERE prediction_id = ?",
                prediction_id) == [(0,)]


def test_models_lists_each_model_with_its_labels(api):
    models = httpx.get(f"{api.url}/v1/models", headers=ALICE).json()["models"]
    assert list(models) == NAMES
    assert models["tflite"]["label_names"] == LABELS and models["keras"]["format"] == "keras"


def test_models_answer_gives_an_app_everything_it_needs_without_the_models(api, tiny_predictor):
    from predictor import ImageLimits, ServedModels

    answer = httpx.get(f"{api.url}/v1/models", headers=ALICE).json()
    assert answer["limits"] == {"max_bytes": LIMITS.max_bytes, "max_pixels": LIMITS.max_pixels}
    roomy = ImageLimits(10**9, 10**9)
    remote = ServedModels.from_json(answer, roomy, api.url)
    local = tiny_predictor.facts
    assert [(f.name, f.version, f.labels, f.input_size, f.crop_fraction, f.format, f.file)
            for f in remote.specs] == [
        (f.name, f.version, f.labels, f.input_size, f.crop_fraction, f.format, f.file)
        for f in local.specs]
    assert remote.limits == LIMITS  # the service's stricter caps apply in the app too
    assert ServedModels.from_json(answer, ImageLimits(10, 20), api.url).limits == \
        ImageLimits(10, 20)


def test_metrics_count_requests_by_status_and_time_each_model(api):
    upload(api.url)
    httpx.get(f"{api.url}/v1/models")  # a 401
    response = httpx.get(f"{api.url}/metrics", headers={"Authorization":
                                                       f"Bearer {KEYS['bob']}"})
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert metric(text, 'pinpoint_requests_total{route="/v1/predict",status="200"}') >= 1
    assert metric(text, 'pinpoint_requests_total{route="/v1/models",status="401"}') >= 1
    for name in NAMES:
        assert metric(text, f'pinpoint_model_seconds_count{{model="{name}"}}') >= 1
    assert metric(text, 'pinpoint_stage_seconds_bucket{le="+Inf",stage="decode"}') >= 1
    assert "pinpoint_ready 1.0" in text.splitlines()


def test_docs_offer_a_form_for_both_ways_of_asking(api):
    assert "swagger-ui" in httpx.get(f"{api.url}/docs").text
    schema = httpx.get(f"{api.url}/openapi.json").json()
    body = schema["paths"]["/v1/predict"]["post"]["requestBody"]["content"]
    assert body["multipart/form-data"]["schema"]["properties"]["image"]["format"] == "binary"
    assert body["application/json"]["schema"]["required"] == ["path", "x", "y"]
    assert "APIKeyHeader" in schema["components"]["securitySchemes"]


# -- keys (A1) ----------------------------------------------------------------------------

CALLS = [("GET", "/v1/models"), ("POST", "/v1/predict"), ("POST", "/v1/feedback"),
         ("GET", "/metrics")]
BAD_KEYS = [{}, {"X-API-Key": "wrong-key-wrong-key-01"}, {"X-API-Key": KEYS["alice"][:-1]},
            {"X-API-Key": KEYS["alice"] + "x"}, {"Authorization": "Basic " + KEYS["alice"]}]


@pytest.mark.parametrize("call", CALLS, ids=str)
@pytest.mark.parametrize("headers", BAD_KEYS, ids=str)
def test_missing_or_wrong_key_is_401(api, call, headers):
    response = httpx.request(call[0], f"{api.url}{call[1]}", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("headers", [ALICE, {"X-API-Key": KEYS["bob"]},
                                     {"Authorization": f"Bearer {KEYS['bob']}"}], ids=str)
def test_each_configured_key_is_accepted(api, headers):
    assert httpx.get(f"{api.url}/v1/models", headers=headers).status_code == 200


# -- bad input: 4xx JSON from the core's typed errors (U1-U8) ------------------------------

TIFF = encode(noise_image(20, 20), "TIFF")


@pytest.mark.parametrize(("fields", "status", "error"), [
    ({"image": b"not an image at all"}, 422, "ImageRejected"),
    ({"image": b""}, 422, "ImageRejected"),
    ({"image": TIFF}, 422, "ImageRejected"),
    ({"image": PHOTO[: len(PHOTO) // 2]}, 422, "ImageRejected"),
    ({"x": "500"}, 422, "PointOutsideImage"),
    ({"y": "-1"}, 422, "PointOutsideImage"),
    ({"x": "nan"}, 422, "InvalidPoint"),
    ({"x": "inf"}, 422, "InvalidPoint"),
    ({"x": "1e400"}, 422, "InvalidPoint"),
    ({"y": "ten"}, 422, "InvalidPoint"),
    ({"top_k": "0"}, 422, "BadRequest"),
    ({"top_k": "51"}, 422, "BadRequest"),
    ({"top_k": "two"}, 422, "BadRequest"),
], ids=lambda v: repr(v)[:40])
def test_bad_uploads_get_typed_4xx_errors(api, fields, status, error):
    response = upload(api.url, **fields)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_a_point_off_the_image_is_stored_as_failed_not_scored(api, db_path):
    before = rows(db_path, "SELECT COUNT(*) FROM predictions WHERE status = 'failed'")[0][0]
    assert upload(api.url, x="121").status_code == 422
    after = rows(db_path, "SELECT COUNT(*) FROM predictions WHERE status = 'failed'")[0][0]
    assert after == before + 1


@pytest.mark.parametrize(("request_kwargs", "status"), [
    ({"files": {"x": (None, "1"), "y": (None, "1")}}, 422),  # form without an image
    ({"files": {"image": (None, "text"), "x": (None, "1"), "y": (None, "1")}}, 422),
    ({"data": {"image": "text", "x": "1", "y": "1"}}, 415),  # url-encoded form
    ({"files": {"image": ("a.png", PHOTO)}, "data": {"y": "1"}}, 422),  # no x
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422),
    ({"json": ["photo.png", 1, 1]}, 422),
    ({"content": b"x=1", "headers": {"content-type": "text/plain"}}, 415),
    ({"content": b"--b\r\nbroken", "headers": {"content-type": "multipart/form-data"}}, 422),
], ids=lambda v: repr(v)[:50])
def test_malformed_requests_are_4xx_json(api, request_kwargs, status):
    request_kwargs = dict(request_kwargs)  # the parameters are shared with the Ray run
    headers = {**ALICE, **request_kwargs.pop("headers", {})}
    response = httpx.post(f"{api.url}/v1/predict", headers=headers, **request_kwargs)
    assert response.status_code == status, response.text
    assert "error" in response.json()


def test_unknown_route_is_a_json_404(api):
    response = httpx.get(f"{api.url}/v2/anything", headers=ALICE)
    assert response.status_code == 404 and response.json()["error"] == "HTTPError"


# -- size caps before decoding (U1) ------------------------------------------------------


def raw_exchange(port, head, chunks=(), read_timeout=10.0):
    """Send raw request bytes (stopping quietly if the server hangs up), return the status."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as conn:
        try:
            conn.sendall(head)
            for chunk in chunks:
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        while b"\r\n\r\n" not in answer:
            part = conn.recv(65536)
            if not part:
                break
            answer += part
    return int(answer.split(b" ", 2)[1]) if answer else None


def predictions_counted(url):
    text = httpx.get(f"{url}/metrics", headers=ALICE).text
    return metric(text, "pinpoint_predictions_total")


def head(port, *lines):
    text = f"POST /v1/predict HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-API-Key: {KEYS['alice']}\r\n"
    text += "Content-Type: multipart/form-data; boundary=XyZ\r\n"
    return (text + "".join(f"{line}\r\n" for line in lines) + "\r\n").encode()


def chunked(total, size=32_768):
    part = b"--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n\r\n"
    data = part + b"\x89PNG" + b"\0" * total
    for start in range(0, len(data), size):
        piece = data[start:start + size]
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"


def test_image_one_byte_over_the_cap_is_413(api):
    before = predictions_counted(api.url)
    response = upload(api.url, image=b"\xff" * (LIMITS.max_bytes + 1))
    assert response.status_code == 413 and response.json()["error"] == "TooLarge"
    assert predictions_counted(api.url) == before


def test_declared_length_over_the_cap_is_413_before_any_body_is_sent(api):
    status = raw_exchange(api.port, head(api.port, "Content-Length: 50000000"))
    assert status == 413


def test_chunked_upload_without_length_is_cut_off_at_the_cap(api):
    before = predictions_counted(api.url)
    # Twice the cap, and never the final 0-chunk: a server that read it all would hang here.
    status = raw_exchange(api.port, head(api.port, "Transfer-Encoding: chunked"),
                          chunked(2 * LIMITS.max_bytes))
    assert status == 413
    assert predictions_counted(api.url) == before


def test_lying_small_content_length_with_a_big_chunked_body_is_refused(api):
    before = predictions_counted(api.url)
    lie = head(api.port, "Content-Length: 100", "Transfer-Encoding: chunked")
    status = raw_exchange(api.port, lie, chunked(2 * LIMITS.max_bytes))
    assert status in (400, 413)
    assert predictions_counted(api.url) == before


def test_lying_content_length_reads_no_more_than_declared(api):
    before = predictions_counted(api.url)
    body = b"".join(chunked(LIMITS.max_bytes // 2)).replace(b"\r\n", b"")
    status = raw_exchange(api.port, head(api.port, "Content-Length: 100"), [body])
    assert status == 400  # 100 bytes of a multipart body: no image part, never decoded
    assert predictions_counted(api.url) == before


# -- rate limit (R1) ----------------------------------------------------------------------


def test_rate_limit_is_per_key_with_retry_after(tiny_predictor, tmp_path):
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{tmp_path / 'r.db'}", rate=3, per_s=60)
    app = create_app(settings, load_predictor=lambda: sharing(tiny_predictor))
    with LiveServer(app) as server:
        wait_ready(server.url)
        codes = [httpx.get(f"{server.url}/v1/models", headers=ALICE).status_code
                 for _ in range(3)]
        refused = httpx.get(f"{server.url}/v1/models", headers=ALICE)
        other = httpx.get(f"{server.url}/v1/models", headers={"X-API-Key": KEYS["bob"]})
        no_root = by_path(server.url, "photo.png", headers={"X-API-Key": KEYS["bob"]})
    assert codes == [200, 200, 200]
    assert refused.status_code == 429 and refused.json()["error"] == "RateLimited"
    assert 55 <= int(refused.headers["retry-after"]) <= 60  # the first of 3 leaves the window
    assert other.status_code == 200
    assert no_root.status_code == 404 and "PINPOINT_IMAGE_ROOT" in no_root.json()["message"]


# -- deadline, overload, readiness (T1-T3) ------------------------------------------------


class GatedModel:
    """A fake model whose runs wait for a gate once `hold` is set (the real spec, fake maths)."""

    def __init__(self):
        self.hold = threading.Event()
        self.gate = threading.Event()
        self.started = threading.Event()

    def run(self, batch):
        if self.hold.is_set():
            self.started.set()
            self.gate.wait(20)
        return np.full((len(batch), len(LABELS)), 1 / len(LABELS), np.float32)


@pytest.fixture
def gated(tiny_models):
    spec = load_manifest(tiny_models / "manifest.toml")[0]
    model = GatedModel()
    yield model, Predictor([LoadedModel(spec, model.run, 0.0, 0.0)], limits=LIMITS)
    model.gate.set()


def test_past_the_deadline_is_503_and_stored_as_timeout_never_scored(gated, tmp_path):
    from predictor.store.feedback import FeedbackStore
    from predictor.store.queries import labeled_answers

    model, predictor = gated
    db = tmp_path / "t.db"
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{db}", deadline_s=0.5, limits=LIMITS)
    with LiveServer(create_app(settings, load_predictor=lambda: predictor)) as server:
        wait_ready(server.url)
        model.hold.set()
        response = upload(server.url)
        model.gate.set()
        after = upload(server.url)
    assert response.status_code == 503
    assert response.json()["error"] == "DeadlineExceeded" and "prediction_id" not in response.json()
    assert int(response.headers["retry-after"]) >= 1
    assert after.status_code == 200  # the service recovers once the model is quick again
    assert rows(db, "SELECT status FROM predictions ORDER BY id") == [("timeout",), ("ok",)]
    store = FeedbackStore(f"sqlite:///{db}")
    assert labeled_answers(store).empty
    store.close()


def test_full_slots_give_an_immediate_503_not_a_queue(gated, tmp_path):
    model, predictor = gated
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{tmp_path / 'o.db'}", deadline_s=30,
                        max_in_flight=1, limits=LIMITS)
    with LiveServer(create_app(settings, load_predictor=lambda: predictor)) as server:
        wait_ready(server.url)
        model.hold.set()
        first: list[httpx.Response] = []
        thread = threading.Thread(target=lambda: first.append(upload(server.url)))
        thread.start()
        assert model.started.wait(20)
        second = upload(server.url)
        model.gate.set()
        thread.join(30)
    assert second.status_code == 503 and second.json()["error"] == "Overloaded"
    assert second.headers["retry-after"] == "1"
    assert first[0].status_code == 200


def test_not_ready_until_the_models_are_loaded_and_warm(tiny_predictor, tmp_path):
    loaded = threading.Event()
    warmed: list[int] = []

    def slow_load():
        loaded.wait(20)
        predictor = sharing(tiny_predictor)
        original = predictor.predict
        predictor.predict = lambda *a, **k: (warmed.append(1), original(*a, **k))[1]
        return predictor

    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{tmp_path / 'w.db'}")
    with LiveServer(create_app(settings, load_predictor=slow_load)) as server:
        alive = httpx.get(f"{server.url}/healthz")
        waiting = httpx.get(f"{server.url}/readyz")
        early = upload(server.url)
        loaded.set()
        wait_ready(server.url)
    assert alive.status_code == 200
    assert waiting.status_code == 503 and waiting.json() == {"ready": False,
                                                             "reason": "loading models"}
    assert early.status_code == 503 and early.json()["error"] == "NotReady"
    assert warmed == [1]  # one whole warm-up prediction before ready


def test_a_model_that_fails_to_load_shows_in_readyz(tmp_path):
    broken = tmp_path / "manifest.toml"
    broken.write_text('[[model]]\nname = "x"\nfile = "missing.keras"\nlabels = "l.txt"\n')
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{tmp_path / 'b.db'}",
                        manifest=str(broken))
    with LiveServer(create_app(settings)) as server:
        for _ in range(100):
            ready = httpx.get(f"{server.url}/readyz")
            if "ManifestError" in ready.text:
                break
            threading.Event().wait(0.05)
    assert ready.status_code == 503 and "ManifestError" in ready.json()["reason"]


def test_other_endpoints_take_only_small_bodies_even_chunked(api):
    big = b'{"prediction_id": 1, "labels": {"keras": "' + b"a" * 100_000 + b'"}}'
    declared = httpx.post(f"{api.url}/v1/feedback", headers={**ALICE, "content-type":
                          "application/json"}, content=big)
    streamed = httpx.post(f"{api.url}/v1/feedback", headers={**ALICE, "content-type":
                          "application/json"}, content=iter([big[:50_000], big[50_000:]]))
    assert declared.status_code == streamed.status_code == 413
    assert streamed.json()["message"] == "the request is larger than the 65536 byte limit"


def nan_model(batch):
    return np.full((len(batch), len(LABELS)), np.nan, np.float32)


def test_a_model_returning_nan_is_answered_and_stored_as_degraded(tiny_models, tmp_path):
    spec = load_manifest(tiny_models / "manifest.toml")[0]
    predictor = Predictor([LoadedModel(spec, nan_model, 0.0, 0.0)], limits=LIMITS)
    db = tmp_path / "nan.db"
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{db}", limits=LIMITS)
    with LiveServer(create_app(settings, load_predictor=lambda: predictor)) as server:
        wait_ready(server.url)
        response = upload(server.url)
        metrics = httpx.get(f"{server.url}/metrics", headers=ALICE).text
    assert response.status_code == 200  # not a 500 from a JSON NaN
    body = response.json()
    assert (body["status"], body["faulty"]) == ("degraded", [spec.name])
    assert [s["score"] for s in body["predictions"][spec.name]] == [None] * 5
    assert rows(db, "SELECT status FROM predictions WHERE id = ?", body["prediction_id"]) == [
        ("degraded",)]
    assert metric(metrics, 'pinpoint_predictions_total{status="degraded"}') == 1
