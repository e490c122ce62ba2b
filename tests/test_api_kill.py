import signal
import sqlite3
import threading
import time

import httpx
import pytest

from tests.conftest import encode, noise_image
from tests.live_server import ALICE, KEYS, free_port, serve_subprocess, wait_ready

PHOTO = encode(noise_image(96, 64, seed=8), "PNG")


@pytest.mark.slow
def test_sigkill_during_load_loses_no_acknowledged_prediction_or_feedback(tiny_models, tmp_path):
    db = tmp_path / "d2.db"
    port = free_port()
    env = {"PINPOINT_MANIFEST": str(tiny_models / "manifest.toml"),
           "PINPOINT_DB_URL": f"sqlite:///{db}", "PINPOINT_API_RATE": "0",
           "PINPOINT_API_KEYS": ",".join(f"{k}:{v}" for k, v in KEYS.items())}
    server = serve_subprocess(env, port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        acked = {"predictions": set(), "labels": {}}
        stop = threading.Event()
        writers = [threading.Thread(target=_write, args=(url, n, acked, stop)) for n in range(4)]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + 60
        while len(acked["labels"]) < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)  # mid-load: requests are in flight right now
        server.wait(10)
        stop.set()
        for writer in writers:
            writer.join(30)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(acked["labels"]) >= 40
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = {row[0] for row in conn.execute("SELECT id FROM predictions WHERE status='ok'")}
        labels = dict(conn.execute("SELECT prediction_id, label FROM labels WHERE model='keras'"))
        models = dict(conn.execute(
            "SELECT prediction_id, COUNT(*) FROM prediction_models GROUP BY prediction_id"))
    assert acked["predictions"] <= stored
    assert all(models[pid] == 4 for pid in stored)  # no half-written prediction
    assert {pid: labels.get(pid) for pid in acked["labels"]} == acked["labels"]


def _write(url, n, acked, stop):
    """Predict then label, over and over, noting only what the service acknowledged."""
    chosen = ["alpha", "bravo", "charlie", "delta"][n]
    with httpx.Client(base_url=url, headers=ALICE, timeout=10) as client:
        while not stop.is_set():
            try:
                answer = client.post("/v1/predict", files={"image": ("p.png", PHOTO)},
                                     data={"x": "40", "y": "30"})
                if answer.status_code != 200:
                    continue
                prediction_id = answer.json()["prediction_id"]
                acked["predictions"].add(prediction_id)
                labeled = client.post("/v1/feedback", json={"prediction_id": prediction_id,
                                                            "labels": {"keras": chosen}})
                if labeled.status_code == 200:
                    acked["labels"][prediction_id] = chosen
            except httpx.HTTPError:
                if stop.wait(0.05):
                    return
