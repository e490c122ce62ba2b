"""Hardening round 2 (issue 11) through the real service, with a fake model (no TensorFlow)."""

import contextlib
import ctypes
import hashlib
import os
import threading
from pathlib import Path

import httpx
import numpy as np
import pytest

from predictor import ImageLimits, Predictor
from predictor.manifest import ModelSpec
from predictor.models import LoadedModel
from predictor.service import Settings, create_app
from tests.conftest import encode, noise_image
from tests.live_server import ALICE, KEYS, LiveServer, wait_ready

LIMITS = ImageLimits(max_bytes=200_000, max_pixels=4_000_000)
INSIDE = encode(noise_image(64, 48, seed=21), "PNG")
OUTSIDE = encode(noise_image(64, 48, seed=22), "PNG")
RENAME_EXCHANGE = 2
AT_FDCWD = -100


def fake_predictor() -> Predictor:
    spec = ModelSpec("fake", Path("fake.keras"), "keras", ("a", "b"), Path("labels.txt"), "1",
                     8, 1 / 255, 0.0, 0.5)
    run = lambda batch: np.tile(np.array([[0.75, 0.25]], np.float32), (len(batch), 1))  # noqa: E731
    return Predictor([LoadedModel(spec, run, 0.0, 0.0)], limits=LIMITS)


def exchange(a: Path, b: Path) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE), as an attacker's loop would."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(AT_FDCWD, bytes(a), AT_FDCWD, bytes(b), RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")


class Swapper:
    """Swap two names in a loop in a thread until the `with` block ends."""

    def __init__(self, a: Path, b: Path):
        self.a, self.b, self.stop, self.swaps = a, b, threading.Event(), 0
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            exchange(self.a, self.b)
            self.swaps += 1

    def __enter__(self) -> "Swapper":
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """An image root whose `race` folder can be swapped with a link to a folder outside it."""
    base = tmp_path_factory.mktemp("hardening")
    root, outside = base / "root", base / "outside"
    (root / "race").mkdir(parents=True)
    outside.mkdir()
    (root / "photo.png").write_bytes(INSIDE)
    (root / "race" / "secret.png").write_bytes(INSIDE)
    (outside / "secret.png").write_bytes(OUTSIDE)
    (root / "alt").symlink_to(outside)
    (root / "swap.png").write_bytes(INSIDE)
    os.mkfifo(root / "fifo.png")
    return root


@pytest.fixture(scope="module")
def api(folder):
    settings = Settings(api_keys=KEYS, image_root=folder, db_url=f"sqlite:///{folder}.db",
                        limits=LIMITS, rate=0, deadline_s=2)
    with LiveServer(create_app(settings, load_predictor=fake_predictor)) as server:
        wait_ready(server.url)
        yield server


def by_path(url, path, x=10, y=10, **fields):
    body = {"path": path, "x": x, "y": y, **fields}
    return httpx.post(f"{url}/v1/predict", json=body, headers=ALICE, timeout=30)


def unblock_fifos(folder: Path) -> None:
    """Open every FIFO for writing once, so a reader blocked on it (old code) can finish."""
    for name in ("fifo.png", "swap.png"):
        with contextlib.suppress(OSError):
            os.close(os.open(folder / name, os.O_WRONLY | os.O_NONBLOCK))


# -- 1. server paths: open once, beneath the root ------------------------------------------


def test_swapping_a_folder_with_a_link_out_never_serves_the_outside_file(api, folder):
    outside_sha = hashlib.sha256(OUTSIDE).hexdigest()
    inside_sha = hashlib.sha256(INSIDE).hexdigest()
    seen: dict[str, int] = {}
    with Swapper(folder / "race", folder / "alt") as swapper:
        for _ in range(200):
            response = by_path(api.url, "race/secret.png")
            assert response.status_code in (200, 404), response.text
            if response.status_code == 200:
                sha = response.json()["image"]["sha256"]
                seen[sha] = seen.get(sha, 0) + 1
    assert swapper.swaps > 200
    assert seen.get(outside_sha, 0) == 0, f"outside file served {seen[outside_sha]} times"
    assert seen.get(inside_sha, 0) > 0  # the race really ran on a path that works


def test_a_fifo_swapped_in_never_holds_a_prediction_slot(api, folder):
    statuses = []
    try:
        with Swapper(folder / "swap.png", folder / "fifo.png"):
            for _ in range(60):
                statuses.append(by_path(api.url, "swap.png").status_code)
    finally:
        unblock_fifos(folder)
    assert 503 not in statuses
    assert set(statuses) <= {200, 404}
    metrics = httpx.get(f"{api.url}/metrics", headers=ALICE).text
    in_flight = [float(line.split()[-1]) for line in metrics.splitlines()
                 if line.startswith("pinpoint_predictions_in_flight ")]
    assert in_flight == [0.0]
    assert all(by_path(api.url, "photo.png").status_code == 200 for _ in range(5))


# -- 2. JSON that used to give 500 ------------------------------------------------------------


def post_json(url, text, path="/v1/predict"):
    return httpx.post(f"{url}{path}", content=text, timeout=30,
                      headers={**ALICE, "content-type": "application/json"})


@pytest.mark.parametrize(("text", "status", "error"), [
    ("[" * 1000, 422, "BadRequest"),
    ('{"path": "photo.png", "x": 1' + "0" * 400 + ', "y": 1}', 422, "InvalidPoint"),
    ('{"path": "\\ud800", "x": 1, "y": 1}', 404, "ImageNotFound"),
    ('{"path": "photo.png", "x": "\\ud800", "y": 1}', 422, "InvalidPoint"),
], ids=["deep", "huge", "surrogate-path", "surrogate-x"])
def test_hostile_json_is_a_4xx_json_error(api, text, status, error):
    response = post_json(api.url, text)
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


def test_deeply_nested_feedback_is_a_4xx_json_error(api):
    response = post_json(api.url, '{"prediction_id": 1, "labels": ' + "[" * 1000, "/v1/feedback")
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_predict_with_a_huge_integer_raises_the_point_error():
    from PIL import Image

    from predictor import InvalidPoint

    with pytest.raises(InvalidPoint, match="finite"):
        fake_predictor().predict(Image.new("RGB", (20, 20)), 10**400, 1)


# -- 3. long paths and large JSON bodies ------------------------------------------------------


def test_a_long_path_is_refused_before_resolving(api):
    response = by_path(api.url, "photo.png/../" * 150 + "photo.png")
    assert response.status_code == 404
    assert "longer than 1024 bytes" in response.json()["message"]


def test_a_json_predict_body_over_64_kb_is_413(api):
    response = by_path(api.url, "photo.png/../" * 6000 + "photo.png")
    assert response.status_code == 413
    assert response.json() == {"error": "TooLarge",
                               "message": "the request is larger than the 65536 byte limit"}


# -- 4. memory: a budget of pixels decoded at once --------------------------------------------


def test_past_the_decode_budget_the_api_answers_503_with_retry_after(api):
    from predictor.memory import decode_budget

    with decode_budget().reserve(decode_budget().capacity):
        refused = by_path(api.url, "photo.png")
    assert refused.status_code == 503
    assert refused.json()["error"] == "DecodeBusy"
    assert refused.headers["retry-after"] == "1"
    assert by_path(api.url, "photo.png").status_code == 200


# -- 6. malformed multipart, strict numbers, duplicate fields ---------------------------------


def post_multipart(url, body: bytes, content_type: str):
    return httpx.post(f"{url}/v1/predict", content=body, timeout=30,
                      headers={**ALICE, "content-type": content_type})


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart body with boundary XyZ from (field, filename or None, value) parts."""
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename
                                                      else "")
        out += f"--XyZ\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + b"--XyZ--\r\n"


IMAGE = ("image", "photo.png", INSIDE)
FIELDS = [("x", None, b"10"), ("y", None, b"10")]


@pytest.mark.parametrize(("parts", "content_type", "words"), [
    ([IMAGE, ("image", "again.png", INSIDE), *FIELDS], "multipart/form-data; boundary=XyZ",
     "one file"),
    ([IMAGE, ("x", "x.txt", b"10"), ("y", None, b"10")], "multipart/form-data; boundary=XyZ",
     "one file"),
    ([IMAGE, *FIELDS], "multipart/form-data", "boundary"),
    ([IMAGE, *FIELDS, *[(f"f{i}", None, b"1") for i in range(11)]],
     "multipart/form-data; boundary=XyZ", "fields"),
    ([IMAGE, *FIELDS, ("x", None, b"20")], "multipart/form-data; boundary=XyZ",
     "'x' is sent twice"),
], ids=["two-files", "x-as-file", "no-boundary", "too-many-fields", "duplicate-x"])
def test_malformed_multipart_is_a_typed_422(api, parts, content_type, words):
    response = post_multipart(api.url, multipart(*parts), content_type)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "BadRequest"
    assert words in response.json()["message"]


@pytest.mark.parametrize("x", ["1_0", "١٠", "１０", "\u200910", "0x10", "1e1_0", "nan", "1,5"])
def test_only_plain_ascii_decimal_coordinates_are_accepted(api, x):
    parts = [IMAGE, ("x", None, x.encode()), ("y", None, b"10")]
    response = post_multipart(api.url, multipart(*parts), "multipart/form-data; boundary=XyZ")
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "InvalidPoint"


@pytest.mark.parametrize("x", ["10", "10.5", "-0", "+3", "1e1", ".5", "5.", " 10 "])
def test_plain_decimal_coordinates_are_accepted(api, x):
    parts = [IMAGE, ("x", None, x.encode()), ("y", None, b"10")]
    response = post_multipart(api.url, multipart(*parts), "multipart/form-data; boundary=XyZ")
    assert response.status_code == 200, response.text


def test_a_duplicate_json_field_is_a_422(api):
    response = post_json(api.url, '{"path": "photo.png", "x": 1, "y": 1, "x": 2}')
    assert response.status_code == 422
    assert response.json()["error"] == "BadRequest"
    assert "'x' is sent twice" in response.json()["message"]
