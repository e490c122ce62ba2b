import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from predictor import ImageLimits
from predictor.service import Settings, create_app
from predictor.service.client import PinpointClient, ServiceError
from tests.conftest import encode, noise_image
from tests.live_server import KEYS, LiveServer, free_port, sharing, wait_ready

PHOTO = encode(noise_image(80, 60, seed=5), "PNG")


@pytest.fixture(scope="module")
def service(tiny_predictor, tmp_path_factory):
    root = tmp_path_factory.mktemp("client_images")
    (root / "photo.png").write_bytes(PHOTO)
    db = tmp_path_factory.mktemp("client_db") / "c.db"
    settings = Settings(api_keys=KEYS, image_root=root, db_url=f"sqlite:///{db}",
                        limits=ImageLimits(100_000, 1_000_000))
    app = create_app(settings, load_predictor=lambda: sharing(tiny_predictor))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server


class Canned(BaseHTTPRequestHandler):
    """Answers every request with the server's `status` and `body`."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def canned():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canned)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    yield listener.getsockname()[1]
    listener.close()


def test_upload_server_path_feedback_and_models(service, tiny_predictor):
    with PinpointClient(service.url, KEYS["bob"]) as client:
        answer = client.predict(PHOTO, 40, 30, top_k=2)
        by_path = client.predict_path("photo.png", 40, 30, top_k=2)
        expected = tiny_predictor.predict(PHOTO, 40, 30, top_k=2).to_dict()["predictions"]
        assert not answer.degraded and answer.status == 200
        assert answer.predictions == expected and by_path.predictions == expected
        assert isinstance(answer.prediction_id, int)
        recorded = client.feedback(answer.prediction_id, {"keras": "alpha"})
        assert recorded.data == {"prediction_id": answer.prediction_id,
                                 "recorded": {"keras": "alpha"}}
        assert list(client.models().data["models"]) == list(expected)
        assert client.ready()


def test_a_refusal_is_degraded_with_the_service_message(service):
    with PinpointClient(service.url, KEYS["bob"]) as client:
        answer = client.predict(b"not an image", 1, 1)
    assert answer.degraded and answer.predictions == {} and answer.prediction_id is None
    assert answer.status == 422 and answer.reason == "HTTP 422: not a JPEG, PNG or WebP image"


def test_wrong_key_is_degraded_and_strict_raises(service):
    assert PinpointClient(service.url, "wrong-key-wrong-key-1").models().status == 401
    with pytest.raises(ServiceError) as raised:
        PinpointClient(service.url, "wrong-key-wrong-key-1", strict=True).models()
    assert raised.value.status == 401


def test_refused_connection_is_degraded():
    answer = PinpointClient(f"http://127.0.0.1:{free_port()}").predict(PHOTO, 1, 1)
    assert answer.degraded and answer.status is None
    assert answer.reason.startswith("cannot reach the service: ConnectError")


def test_read_timeout_is_degraded_and_strict_raises(silent_port):
    client = PinpointClient(f"http://127.0.0.1:{silent_port}", read_timeout=0.3)
    answer = client.predict(PHOTO, 1, 1)
    assert answer.degraded and answer.reason == "timed out: ReadTimeout"
    with pytest.raises(ServiceError, match="timed out"):
        PinpointClient(f"http://127.0.0.1:{silent_port}", read_timeout=0.3, strict=True).models()


@pytest.mark.parametrize(("status", "body", "reason"), [
    (500, b'{"error": "InternalError", "message": "boom"}', "HTTP 500: boom"),
    (502, b"<html>bad gateway</html>", "HTTP 502, body is not JSON"),
    (503, b'{"error": "Overloaded"}', "HTTP 503: unexpected body"),
    (200, b"{truncated", "HTTP 200, body is not JSON"),
    (200, b"[1, 2]", "HTTP 200: unexpected body"),
])
def test_server_errors_and_bad_json_are_degraded(canned, status, body, reason):
    canned.status, canned.body = status, body
    url = f"http://127.0.0.1:{canned.server_address[1]}"
    answer = PinpointClient(url).predict(PHOTO, 1, 1)
    assert (answer.degraded, answer.reason, answer.status, answer.data) == (
        True, reason, status, {})
    with pytest.raises(ServiceError) as raised:
        PinpointClient(url, strict=True).predict_path("a.png", 1, 1)
    assert raised.value.status == status and str(raised.value) == reason


def test_client_from_environment(monkeypatch):
    monkeypatch.delenv("PINPOINT_SERVICE_URL", raising=False)
    assert PinpointClient.from_env() is None
    monkeypatch.setenv("PINPOINT_SERVICE_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("PINPOINT_API_KEY", "k" * 20)
    client = PinpointClient.from_env()
    assert str(client._http.base_url) == "http://127.0.0.1:9" and client._http.headers[
        "x-api-key"] == "k" * 20
