import types
import uuid

import limits.storage.memory
import pytest

import predictor.ratelimit
from predictor import PinpointError, RateLimited, RateLimiter, SettingsError
from predictor.config import Rate, parse_rate


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    for module in (limits.storage.memory, predictor.ratelimit):
        monkeypatch.setattr(module, "time", types.SimpleNamespace(time=fake))
    return fake


def test_rate_limit_blocks_the_extra_event_then_recovers(clock):
    limiter = RateLimiter(3, 60)
    for _ in range(3):
        limiter.check("ann")
    with pytest.raises(RateLimited) as limited:
        limiter.check("ann")
    assert isinstance(limited.value, PinpointError)
    assert limited.value.retry_after == pytest.approx(60) and "wait 60 s" in str(limited.value)
    limiter.check("bob")  # other testers are not affected
    clock.now += 60.5
    limiter.check("ann")  # the oldest event left the window


def test_refused_events_do_not_count(clock):
    limiter = RateLimiter(1, 10)
    limiter.check("ann")
    for _ in range(5):
        with pytest.raises(RateLimited):
            limiter.check("ann")
    clock.now += 10.5
    limiter.check("ann")


@pytest.mark.parametrize("text, expected", [
    ("30/60", Rate(30, 60)), ("5 / 1.5", Rate(5, 2)), ("0", None), ("off", None),
    ("none", None), ("None", None),
])
def test_one_parser_reads_every_rate(text, expected):
    assert parse_rate(text) == expected
    limiter = RateLimiter.from_env(text)
    assert (limiter.limit, limiter.window) == (expected.limit, expected.per_s) if expected \
        else limiter is None


@pytest.mark.parametrize("text", ["30", "a/b", "0/60", "-1/60", "5/0"])
def test_bad_rate_limit_text_is_refused(text):
    with pytest.raises(SettingsError, match="rate limit must look like 60/60"):
        RateLimiter.from_env(text)


def test_app_limit_and_storage_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PINPOINT_RATE_LIMIT", "7/30")
    limiter = RateLimiter.from_env()
    assert (limiter.limit, limiter.window) == (7, 30)
    monkeypatch.setenv("PINPOINT_RATE_STORAGE", "nosuch://x")
    with pytest.raises(SettingsError, match="PINPOINT_RATE_STORAGE"):
        RateLimiter.from_env()


def test_two_limiters_on_one_redis_share_the_limit(redis_url):
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    first, second = (RateLimiter(3, 60, redis_url, namespace=namespace) for _ in range(2))
    first.check("ann")
    second.check("ann")
    first.check("ann")
    with pytest.raises(RateLimited):
        second.check("ann")  # in memory each would still allow two more
    second.check("bob")
