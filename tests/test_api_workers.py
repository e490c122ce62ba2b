import httpx
import pytest

from tests.live_server import ALICE, KEYS, free_port, serve_subprocess, wait_ready
from tests.model_factory import manifest_entry


def metric(text, line_start):
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(line_start))


@pytest.mark.slow
def test_two_workers_share_one_rate_limit_and_one_metrics_view(tiny_models, tmp_path, redis_url):
    manifest = tiny_models / "one_tflite.toml"
    manifest.write_text(manifest_entry("color", "tiny.tflite"))
    port = free_port()
    env = {"PINPOINT_MANIFEST": str(manifest), "PINPOINT_DB_URL": f"sqlite:///{tmp_path / 'w.db'}",
           "PINPOINT_API_RATE": "6/600", "PINPOINT_RATE_STORAGE": redis_url,
           "PINPOINT_API_KEYS": ",".join(f"{k}:{v}" for k, v in KEYS.items())}
    server = serve_subprocess(env, port, "--workers", "2")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url)
        # A new connection per request, so the kernel hands them to either worker.
        codes = [httpx.get(f"{url}/v1/models", headers=ALICE).status_code for _ in range(14)]
        other = httpx.get(f"{url}/v1/models", headers={"X-API-Key": KEYS["bob"]}).status_code
        scrapes = [httpx.get(f"{url}/metrics", headers=ALICE).text for _ in range(4)]
    finally:
        server.terminate()
        server.wait(30)
        server.stdout.close()
    # Per worker in memory, up to 12 of them would pass; one shared limit lets 6 through.
    assert codes.count(429) == 8 and len(codes) - codes.count(429) == 6
    assert other != 429
    # Whichever worker answers the scrape, it counts the requests of both (multiprocess mode).
    for text in scrapes:
        assert metric(text, 'pinpoint_requests_total{route="/v1/models",status="429"}') == 8
