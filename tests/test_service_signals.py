import signal
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager

import httpx
import pytest

from predictor.service import Settings, create_app
from predictor.store.feedback import FeedbackStore
from tests.conftest import encode, noise_image
from tests.live_server import (
    ALICE,
    KEYS,
    LiveServer,
    free_port,
    log_events,
    serve_logged,
    sharing,
    wait_for_event,
    wait_ready,
    write_tflite_manifest,
)

PHOTO = encode(noise_image(96, 64, seed=9), "PNG")
pytestmark = pytest.mark.slow


@contextmanager
def _serving(tiny_models, folder, *args):
    manifest = write_tflite_manifest(folder / "manifest.toml", tiny_models, "1.0")
    env = {"PINPOINT_MANIFEST": str(manifest), "PINPOINT_DB_URL": f"sqlite:///{folder}/s.db",
           "PINPOINT_API_RATE": "0", "PINPOINT_MAX_IN_FLIGHT": "8",
           "PINPOINT_API_KEYS": ",".join(f"{k}:{v}" for k, v in KEYS.items())}
    port = free_port()
    server = serve_logged(env, port, folder, "--no-access-log", *args)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        yield url, manifest, folder, server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(10)


@pytest.fixture
def served(tiny_models, tmp_path):
    """Start a real server on a TFLite manifest; yield (url, manifest, folder, process)."""
    with _serving(tiny_models, tmp_path) as serving:
        yield serving


class Clients:
    """Threads that predict then label in a loop; they note what the service acknowledged."""

    def __init__(self, url: str, count: int):
        self.url, self.stop = url, threading.Event()
        self.answers: list[list[tuple[int, str | None]]] = [[] for _ in range(count)]
        self.predictions: set[int] = set()
        self.labels: dict[int, str] = {}
        self.threads = [threading.Thread(target=self._loop, args=(n,)) for n in range(count)]

    def __enter__(self) -> "Clients":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def wait_for(self, condition, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert condition(), "the clients never got there"

    def _loop(self, n: int) -> None:
        label = ["alpha", "bravo", "charlie", "delta"][n % 4]
        with httpx.Client(base_url=self.url, headers=ALICE, timeout=60) as client:
            while not self.stop.is_set():
                try:
                    answer = client.post("/v1/predict", files={"image": ("p.png", PHOTO)},
                                         data={"x": "40", "y": "30"})
                except httpx.HTTPError:  # refused or closed before the request was read
                    self.stop.wait(0.05)
                    continue
                version = answer.json()["models"]["color"]["version"] if answer.is_success \
                    else None
                self.answers[n].append((answer.status_code, version))
                if answer.status_code != 200:
                    continue
                prediction_id = answer.json()["prediction_id"]
                self.predictions.add(prediction_id)
                try:
                    labeled = client.post("/v1/feedback", json={
                        "prediction_id": prediction_id, "labels": {"color": label}})
                except httpx.HTTPError:
                    continue
                if labeled.status_code == 200:
                    self.labels[prediction_id] = label


def _slow_upload(url: str, halfway: threading.Event, result: dict) -> None:
    """Send one upload in two halves with a pause between them; keep the answer."""
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n40\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="y"\r\n\r\n30\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="p.png"\r\n'
            "Content-Type: image/png\r\n\r\n").encode() + PHOTO
    body += f"\r\n--{boundary}--\r\n".encode()

    def halves():
        yield body[: len(body) // 2]
        halfway.set()
        time.sleep(1.0)  # the server gets SIGTERM now, with this request half read
        yield body[len(body) // 2:]

    headers = {**ALICE, "Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(body))}
    try:
        answer = httpx.post(f"{url}/v1/predict", content=halves(), headers=headers, timeout=60)
        result["status"], result["body"] = answer.status_code, answer.json()
    except httpx.HTTPError as exc:
        result["error"] = repr(exc)


def test_sigterm_under_load_answers_every_request_it_took_stores_every_label_and_exits_0(served):
    url, _manifest, folder, server = served
    halfway, slow = threading.Event(), {}
    with Clients(url, 4) as clients:
        clients.wait_for(lambda: len(clients.labels) >= 20)
        uploader = threading.Thread(target=_slow_upload, args=(url, halfway, slow))
        uploader.start()
        assert halfway.wait(30)
        time.sleep(0.3)  # let the server read the first half
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
        uploader.join(60)
    assert slow.get("status") == 200, slow  # in flight at SIGTERM, answered in full
    with sqlite3.connect(folder / "s.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in conn.execute("SELECT id FROM predictions WHERE status='ok'")}
        labels = dict(conn.execute("SELECT prediction_id, label FROM labels"))
    # A graceful stop answers what it stored: nothing stored went unacknowledged (SIGKILL
    # may store rows whose answers were lost; tests/test_api_kill.py), nothing acked is lost.
    assert stored == clients.predictions | {slow["body"]["prediction_id"]}
    assert labels == clients.labels
    events = [e.get("event") for e in log_events(folder / "stderr.log")]
    assert events[-1] == "stopped"
    assert log_events(folder / "stderr.log")[-1]["store_flushed"] is True
    assert "Cancel" not in (folder / "stderr.log").read_text()  # no request cut short
    assert not (folder / "s.db-wal").exists() or (folder / "s.db-wal").stat().st_size == 0


def test_sighup_swaps_in_the_new_manifest_without_failing_a_request(served, tiny_models):
    url, manifest, folder, server = served
    with Clients(url, 3) as clients:
        clients.wait_for(lambda: len(clients.predictions) >= 10)
        write_tflite_manifest(manifest, tiny_models, "2.0")
        server.send_signal(signal.SIGHUP)
        clients.wait_for(lambda: sum(v == "2.0" for a in clients.answers for _, v in a) >= 10)
    answers = [answer for client in clients.answers for answer in client]
    assert {status for status, _ in answers} == {200}
    for client in clients.answers:  # each client sees 1.0, then 2.0, never back
        versions = [v for _, v in client]
        assert versions == sorted(versions) and versions[-1] == "2.0"
    assert any(v == "1.0" for _, v in answers)
    models = httpx.get(f"{url}/v1/models", headers=ALICE, timeout=10).json()["models"]
    assert models["color"]["version"] == "2.0"
    reloaded = wait_for_event(folder / "stderr.log", "reloaded")
    assert (reloaded["before"], reloaded["after"]) == ({"color": "1.0"}, {"color": "2.0"})
    loads = [e for e in log_events(folder / "stderr.log") if e.get("event") == "model_loaded"]
    assert [(e["version"], e["reason"]) for e in loads] == [("1.0", "start"), ("2.0", "reload")]
    assert server.poll() is None


def test_sighup_with_a_broken_manifest_keeps_the_old_models_and_logs_why(served):
    url, manifest, folder, server = served
    manifest.write_text('[[model]]\nname = "color"\nfile = "no-such-model.tflite"\n')
    with Clients(url, 2) as clients:
        clients.wait_for(lambda: len(clients.predictions) >= 5)
        server.send_signal(signal.SIGHUP)
        failed = wait_for_event(folder / "stderr.log", "reload_failed")
        done = len(clients.predictions)
        clients.wait_for(lambda: len(clients.predictions) >= done + 5)
    assert failed["level"] == "error" and failed["kept"] == {"color": "1.0"}
    assert failed["error"].startswith("ManifestError: ")
    assert "no-such-model.tflite" in failed["error"]
    answers = [answer for client in clients.answers for answer in client]
    assert set(answers) == {(200, "1.0")}
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    assert server.poll() is None


def test_sighup_reloads_every_worker_in_place_and_sigterm_stops_them_all(tiny_models, tmp_path):
    with _serving(tiny_models, tmp_path, "--workers", "2") as (url, manifest, folder, server):
        log = folder / "stderr.log"
        _wait_count(log, "models_ready", 2)
        with httpx.Client(base_url=url, headers=ALICE, timeout=30) as client:
            assert _versions(client, 4) == {"1.0"}
            write_tflite_manifest(manifest, tiny_models, "2.0")
            server.send_signal(signal.SIGHUP)
            _wait_count(log, "reloaded", 2)
            assert _versions(client, 12) == {"2.0"}
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    events = [e["event"] for e in log_events(folder / "stderr.log")]
    assert events.count("stopped") == 2 and events.count("load_failed") == 0


def _versions(client, count):
    answers = [client.post("/v1/predict", files={"image": ("p.png", PHOTO)}, data={"x": 4, "y": 3},
                           headers={"Connection": "close"}) for _ in range(count)]  # any worker
    assert {a.status_code for a in answers} == {200}
    return {a.json()["models"]["color"]["version"] for a in answers}


def _wait_count(log, name, count, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sum(e.get("event") == name for e in log_events(log)) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} {name!r} events:\n{log.read_text()[-3000:]}")


def test_a_reload_after_a_failed_first_load_makes_the_service_ready(tiny_predictor, tmp_path):
    attempts = []

    def load():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("model folder not mounted yet")
        return sharing(tiny_predictor)

    app = create_app(Settings(), load_predictor=load,
                     open_store=lambda: FeedbackStore(f"sqlite:///{tmp_path}/r.db"))
    state = app.state.pinpoint
    with LiveServer(app) as live:
        deadline = time.monotonic() + 60
        while state.load_error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        refused = httpx.get(f"{live.url}/readyz", timeout=10)
        assert refused.status_code == 503 and "not mounted" in refused.json()["reason"]
        assert state.reload() is True
        assert httpx.get(f"{live.url}/readyz", timeout=10).status_code == 200
        answer = httpx.post(f"{live.url}/v1/predict", files={"image": ("p.png", PHOTO)},
                            data={"x": "40", "y": "30"}, timeout=30)
        assert answer.status_code == 200 and len(attempts) == 2
