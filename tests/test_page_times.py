import threading

from predictor import StoreBusy
from predictor.store import FeedbackStore, PageTimes, prediction_timings
from tests.store_writer import fake_prediction


def test_page_times_are_written_in_the_background(tmp_path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'p.db'}")
    ids = [store.record_prediction(fake_prediction(str(i)), tester="ann") for i in range(3)]
    times = PageTimes(store)
    for prediction_id, ms in zip(ids, (120.0, 80.5, 95.0), strict=True):
        assert times.submit(prediction_id, ms)
    assert times.submit(999, 10.0)  # no such prediction: dropped, counted
    assert times.flush()
    assert prediction_timings(store)["page"].tolist() == [120.0, 80.5, 95.0]
    assert (times.written, times.dropped) == (3, 1)
    store.close()


class _BusyStore:
    def __init__(self):
        self.release = threading.Event()

    def record_page_ms(self, prediction_id, page_ms):
        self.release.wait(10)
        raise StoreBusy("busy")


def test_a_busy_store_drops_page_times_without_making_the_click_wait():
    store = _BusyStore()
    times = PageTimes(store, capacity=2)
    accepted = [times.submit(i, 1.0) for i in range(5)]  # returns at once, even when full
    assert accepted.count(False) >= 2 and times.dropped == accepted.count(False)
    store.release.set()
    assert times.flush()
    assert (times.written, times.dropped) == (0, 5)
