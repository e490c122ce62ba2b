"""Every endpoint the service lists in /openapi.json refuses a missing, wrong or padded key."""

import socket

import pytest

from predictor.service import Settings, create_app
from tests.live_server import KEYS, LiveServer, wait_ready
from tests.test_api_hardening import fake_predictor

OPEN = {("GET", "/healthz"), ("GET", "/readyz")}  # documented: health answers anyone
KEY = KEYS["alice"].encode()
BAD_KEYS = {
    "no key": b"",
    "a wrong key": b"X-API-Key: not-a-key",
    "another key's prefix": b"X-API-Key: " + KEY[:-1],
    "a trailing space": b"X-API-Key: " + KEY + b" ",
    "a trailing tab": b"X-API-Key: " + KEY + b"\t",
    "a space inside": b"X-API-Key: " + KEY[:5] + b" " + KEY[5:],
    "a no-break space before": b"X-API-Key: \xc2\xa0" + KEY,
    "Bearer, a trailing space": b"Authorization: Bearer " + KEY + b" ",
    "Bearer, two spaces": b"Authorization: Bearer  " + KEY,
    "Bearer, a tab": b"Authorization: Bearer\t" + KEY,
    "Bearer, a newline-folded key": b"Authorization: Bearer " + KEY[:5] + b"\r\n " + KEY[5:],
}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    settings = Settings(api_keys=KEYS, db_url=f"sqlite:///{root / 'k.db'}", rate=0,
                        image_root=root)
    app = create_app(settings, load_predictor=fake_predictor)
    operations = sorted((method.upper(), path) for path, item in app.openapi()["paths"].items()
                        for method in item)
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server, operations


def _status(port: int, method: str, path: str, header: bytes) -> int:
    """Send the request byte for byte (httpx refuses to send padded header values)."""
    request = (f"{method} {path.replace('{', '').replace('}', '')} HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 0\r\nConnection: close\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(request + (header + b"\r\n" if header else b"") + b"\r\n")
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def test_every_listed_endpoint_refuses_every_bad_key(keyed):
    server, operations = keyed
    guarded = [op for op in operations if op not in OPEN]
    assert len(guarded) >= 5 and ("POST", "/admin/promote") in guarded
    answers = {(method, path, what): _status(server.port, method, path, header)
               for method, path in guarded for what, header in BAD_KEYS.items()}
    refused = [k for k, status in answers.items() if status in (400, 401)]
    print(f"{len(refused)} of {len(answers)} bad-key requests refused "
          f"({len(guarded)} endpoints x {len(BAD_KEYS)} keys)")
    assert {k: s for k, s in answers.items() if s not in (400, 401)} == {}
    # A folded header is malformed HTTP (400); every other bad key is a 401.
    assert all(status == 401 for (_, _, what), status in answers.items()
               if "folded" not in what)


def test_the_right_key_passes_on_every_endpoint(keyed):
    server, operations = keyed
    for method, path in operations:
        for header in (b"X-API-Key: " + KEY, b"Authorization: Bearer " + KEY):
            assert _status(server.port, method, path, header) != 401, (method, path)
