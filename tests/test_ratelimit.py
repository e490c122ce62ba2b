import pytest

from predictor import PinpointError, RateLimited, RateLimiter


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_rate_limit_blocks_the_extra_event_then_recovers():
    clock = FakeClock()
    limiter = RateLimiter(3, 60, clock)
    for _ in range(3):
        limiter.check("ann")
    with pytest.raises(RateLimited) as limited:
        limiter.check("ann")
    assert isinstance(limited.value, PinpointError)
    assert limited.value.retry_after == pytest.approx(60) and "wait 60 s" in str(limited.value)
    limiter.check("bob")  # other testers are not affected
    clock.now += 60.0
    limiter.check("ann")  # the oldest event left the window


def test_refused_events_do_not_count():
    clock = FakeClock()
    limiter = RateLimiter(1, 10, clock)
    limiter.check("ann")
    for _ in range(5):
        with pytest.raises(RateLimited):
            limiter.check("ann")
    clock.now += 10.0
    limiter.check("ann")


@pytest.mark.parametrize("text, expected", [
    ("30/60", (30, 60.0)), ("5 / 1.5", (5, 1.5)), ("0", None), ("off", None),
])
def test_rate_limit_from_text(text, expected):
    limiter = RateLimiter.from_env(text)
    assert (limiter.limit, limiter.window) == expected if expected else limiter is None


@pytest.mark.parametrize("text", ["30", "a/b", "0/60", "-1/60"])
def test_bad_rate_limit_text_is_refused(text):
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter.from_env(text)
