"""The service's HTTP test-suite (tests/test_api.py) again, against the app on Ray Serve.

One single-node Ray cluster on loopback for this module; the suite's tests that use the
shared `api` server are collected here a second time, with `api` served by Ray.
"""

import inspect
from dataclasses import dataclass

import httpx
import pytest

from predictor.service import Settings
from predictor.service.ray_config import Batching, RayConfig
from tests import test_api as http_suite
from tests.live_server import ALICE, KEYS, free_port, wait_ready
from tests.ray_support import import_or_fail
from tests.test_api import LIMITS, db_path, image_folder, metric, upload  # noqa: F401

pytestmark = [pytest.mark.ray, pytest.mark.slow]

BORROWED = {name: test for name, test in vars(http_suite).items()
            if name.startswith("test_") and "api" in inspect.signature(test).parameters}
globals().update(BORROWED)
BATCHED = ("keras", "savedmodel", "graphdef")


@dataclass(frozen=True)
class Served:
    url: str
    port: int


@pytest.fixture(scope="module")
def ray_port():
    """Start a Ray cluster (2 CPUs, no dashboard) and Serve's proxy on a free loopback port;
    stop it when this module is done, so the rest of the test run has the CPUs back."""
    engine = import_or_fail("predictor.service.ray_engine")
    port = free_port()
    engine.start_cluster("127.0.0.1", port, num_cpus=2)
    yield port
    engine.stop_cluster()


def deploy(port, settings, config, name, prefix="/"):
    from predictor.service.ray_engine import deploy as ray_deploy

    ray_deploy(settings, config, name=name, route_prefix=prefix)
    url = f"http://127.0.0.1:{port}{prefix.rstrip('/')}"
    wait_ready(url)
    return url


@pytest.fixture(scope="module")
def api(ray_port, tiny_models, image_folder, db_path):  # noqa: F811
    from ray import serve

    settings = Settings(api_keys=KEYS, image_root=image_folder, db_url=f"sqlite:///{db_path}",
                        manifest=str(tiny_models / "manifest.toml"), limits=LIMITS,
                        rate=100_000, per_s=1)
    config = RayConfig(num_replicas=1, max_ongoing_requests=16,
                       batching=Batching(True, max_batch_size=4, batch_wait_timeout_s=0.01))
    yield Served(deploy(ray_port, settings, config, "suite"), ray_port)
    serve.delete("suite")


def test_the_borrowed_suite_is_the_whole_shared_server_part_of_test_api():
    assert len(BORROWED) >= 20
    assert "test_upload_gives_the_cli_json_plus_a_stored_prediction_id" in BORROWED
    assert "test_chunked_upload_without_length_is_cut_off_at_the_cap" in BORROWED


def batch_rows(url):
    text = httpx.get(f"{url}/metrics", headers=ALICE).text
    return {name: metric(text, f'pinpoint_batched_rows_total{{model="{name}"}}')
            for name in (*BATCHED, "tflite")}


def test_every_prediction_row_goes_through_the_replicas_batcher_except_tflite(api):
    before = batch_rows(api.url)
    for _ in range(3):
        assert upload(api.url).status_code == 200
    after = batch_rows(api.url)
    assert {name: after[name] - before[name] for name in after} == {
        "keras": 3, "savedmodel": 3, "graphdef": 3, "tflite": 0}


def test_rate_limit_deadline_and_unbatched_models_on_a_second_application(ray_port,
                                                                          tiny_models, tmp_path):
    from ray import serve

    db = tmp_path / "r.db"
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{db}", deadline_s=1e-6,
                        manifest=str(tiny_models / "manifest.toml"), rate=3, per_s=60)
    config = RayConfig(num_replicas=1, batching=Batching(enabled=False))
    url = deploy(ray_port, settings, config, "limited", prefix="/limited")
    try:
        codes = [httpx.get(f"{url}/v1/models", headers=ALICE).status_code for _ in range(3)]
        refused = httpx.get(f"{url}/v1/models", headers=ALICE)
        other = httpx.get(f"{url}/v1/models", headers={"X-API-Key": KEYS["bob"]})
        late = upload(url, headers={"X-API-Key": KEYS["bob"]})
        text = httpx.get(f"{url}/metrics", headers={"X-API-Key": KEYS["bob"]}).text
    finally:
        serve.delete("limited")
    assert codes == [200, 200, 200]
    assert refused.status_code == 429 and refused.json()["error"] == "RateLimited"
    assert 55 <= int(refused.headers["retry-after"]) <= 60  # the first of 3 leaves the window
    assert other.status_code == 200
    # No prediction ends within a microsecond: 503, stored as a timeout, never scored.
    assert late.status_code == 503 and late.json()["error"] == "DeadlineExceeded"
    assert http_suite.rows(db, "SELECT tester, status FROM predictions") == [
        ("api:bob", "timeout")]
    # Batching off: the warm-up and the prediction called the models directly.
    assert "pinpoint_batches_total" not in text
