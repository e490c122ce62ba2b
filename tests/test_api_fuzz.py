import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from predictor import ImageLimits
from predictor.service import Settings, create_app
from tests.conftest import encode, noise_image
from tests.live_server import ALICE, KEYS, LiveServer, sharing, wait_ready

SEEDS = {fmt: encode(noise_image(64, 48, seed=11), fmt) for fmt in ("PNG", "JPEG", "WEBP")}
FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@pytest.fixture(scope="module")
def fuzz_api(tiny_predictor, tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz_images")
    (root / "photo.png").write_bytes(SEEDS["PNG"])
    db = tmp_path_factory.mktemp("fuzz_db") / "f.db"
    limits = ImageLimits(max_bytes=100_000, max_pixels=2_000_000)
    settings_ = Settings(api_keys=KEYS, image_root=root, db_url=f"sqlite:///{db}", rate=0,
                         limits=limits)
    app = create_app(settings_, load_predictor=lambda: sharing(tiny_predictor, limits=limits))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server


# The schema the running service serves, built here without starting it.
schema = schemathesis.openapi.from_dict(create_app(Settings(api_keys=KEYS)).openapi())


@schema.parametrize()
@FUZZ
def test_no_request_the_schema_allows_gets_a_5xx(case, fuzz_api):
    response = case.call(base_url=fuzz_api.url, headers=ALICE)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    if response.status_code >= 400 and case.path != "/metrics":
        assert "error" in response.json()


def upload(url, image, x="32", y="24"):
    files = {"image": ("upload", bytes(image), "application/octet-stream")}
    return httpx.post(f"{url}/v1/predict", files=files, data={"x": x, "y": y}, headers=ALICE,
                      timeout=30)


@given(fmt=st.sampled_from(sorted(SEEDS)), keep=st.floats(0, 1),
       flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=6))
@FUZZ
def test_truncated_or_bit_flipped_uploads_get_4xx_never_5xx(fuzz_api, fmt, keep, flips):
    data = bytearray(SEEDS[fmt][: round(len(SEEDS[fmt]) * keep)])
    for where, mask in flips:
        if data:
            data[round(where * (len(data) - 1))] ^= mask
    response = upload(fuzz_api.url, data)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:  # a flipped header can shrink the image under the point
        assert response.json()["error"] in ("ImageRejected", "PointOutsideImage")


POINT_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                         st.integers(-10**30, 10**30).map(str),
                         st.text(max_size=20).filter(lambda s: "\x00" not in s))


@given(x=POINT_VALUES, y=POINT_VALUES)
@FUZZ
def test_any_point_text_is_a_prediction_or_a_point_error(fuzz_api, x, y):
    response = upload(fuzz_api.url, SEEDS["PNG"], x, y)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert 0 <= float(x) <= 64 and 0 <= float(y) <= 48
    else:
        assert response.json()["error"] in ("InvalidPoint", "PointOutsideImage", "BadRequest")
