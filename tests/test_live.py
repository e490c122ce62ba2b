import threading
from types import SimpleNamespace

import pytest

from predictor import LivePredictor, NoModels, ReloadBusy
from predictor.live import versions


class FakePredictor:
    """Stands in for a Predictor: what LivePredictor touches is `models` and `close`."""

    def __init__(self, version: str):
        spec = SimpleNamespace(name="color", version=version)
        self.models = [SimpleNamespace(spec=spec)]
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_lease_gives_the_current_predictor():
    first = FakePredictor("1")
    live = LivePredictor(first)
    with live.lease() as leased:
        assert leased is first
    assert live.current is first and first.closed == 0


def test_lease_without_models_raises_no_models():
    with pytest.raises(NoModels), LivePredictor().lease():
        pass


def test_swap_closes_an_unused_old_predictor_at_once():
    first, second = FakePredictor("1"), FakePredictor("2")
    live = LivePredictor(first)
    assert live.swap(second) is first
    assert first.closed == 1 and second.closed == 0
    with live.lease() as leased:
        assert leased is second


def test_a_prediction_in_flight_finishes_on_the_old_predictor_which_closes_after_it():
    first, second = FakePredictor("1"), FakePredictor("2")
    live = LivePredictor(first)
    with live.lease() as leased:
        live.swap(second)
        assert leased is first and first.closed == 0  # still in use
        with live.lease() as newer:
            assert newer is second
    assert first.closed == 1 and second.closed == 0


def test_swapping_the_same_predictor_in_again_closes_nothing():
    first = FakePredictor("1")
    live = LivePredictor(first)
    live.swap(first)
    assert first.closed == 0 and live.current is first


def test_reload_swaps_in_the_loaded_models_and_reports_versions():
    first, second = FakePredictor("1.0"), FakePredictor("2.0")
    live = LivePredictor(first)
    prepared = []
    swapped = live.reload(lambda: second, prepared.append)
    assert live.current is second and prepared == [second] and first.closed == 1
    assert (swapped.before, swapped.after) == ({"color": "1.0"}, {"color": "2.0"})


def test_a_reload_that_fails_to_load_keeps_the_running_predictor():
    first = FakePredictor("1")
    live = LivePredictor(first)

    def broken():
        raise ValueError("manifest broken")

    with pytest.raises(ValueError, match="manifest broken"):
        live.reload(broken)
    assert live.current is first and first.closed == 0


def test_a_reload_whose_warm_up_fails_closes_the_new_models_and_keeps_the_old():
    first, second = FakePredictor("1"), FakePredictor("2")
    live = LivePredictor(first)

    def failing_warm_up(_predictor):
        raise RuntimeError("warm-up failed")

    with pytest.raises(RuntimeError):
        live.reload(lambda: second, failing_warm_up)
    assert live.current is first and first.closed == 0 and second.closed == 1


def test_a_second_reload_while_one_is_loading_is_refused():
    live = LivePredictor(FakePredictor("1"))
    loading, release = threading.Event(), threading.Event()

    def slow_load():
        loading.set()
        release.wait(10)
        return FakePredictor("2")

    first_reload = threading.Thread(target=live.reload, args=(slow_load,))
    first_reload.start()
    assert loading.wait(10)
    with pytest.raises(ReloadBusy):
        live.reload(lambda: FakePredictor("3"))
    release.set()
    first_reload.join(10)
    assert versions(live.current) == {"color": "2"}


def test_no_leased_predictor_is_ever_closed_while_in_use_under_concurrent_swaps():
    live = LivePredictor(FakePredictor("0"))
    used_closed, stop = [], threading.Event()

    def predict_loop():
        while not stop.is_set():
            with live.lease() as predictor:
                if predictor.closed:
                    used_closed.append(predictor)
                sum(range(200))  # a little work while holding it
                if predictor.closed:
                    used_closed.append(predictor)

    threads = [threading.Thread(target=predict_loop) for _ in range(4)]
    for thread in threads:
        thread.start()
    made = [FakePredictor(str(n)) for n in range(1, 300)]
    for predictor in made:
        live.swap(predictor)
    stop.set()
    for thread in threads:
        thread.join(10)
    assert used_closed == []
    assert all(p.closed == 1 for p in made[:-1]) and made[-1].closed == 0
    live.close()
    assert made[-1].closed == 1 and live.current is None
