import threading
import time

from predictor.learning import retrain as retrain_module
from predictor.learning.training_jobs import TrainingBusy, TrainingJobs


def test_sessions_starting_a_training_at_once_start_exactly_one(monkeypatch, tmp_path):
    release, trained = threading.Event(), []

    def slow_retrain(model, **_kwargs):  # noqa: ANN001, ANN003, ANN202
        trained.append(model)
        assert release.wait(30)
        return {"model": model, "version": "1.1.0"}

    monkeypatch.setattr(retrain_module, "retrain", slow_retrain)
    jobs, url = TrainingJobs(), f"sqlite:///{tmp_path / 'f.db'}"
    start, outcomes = threading.Barrier(8), []

    def session(model: str) -> None:  # one app session pressing "Train" (shared jobs object)
        start.wait()
        try:
            jobs.start(model, manifest=None, db_url=url)
            outcomes.append("started")
        except TrainingBusy as exc:
            outcomes.append(str(exc))

    sessions = [threading.Thread(target=session, args=(("color", "theme")[i % 2],))
                for i in range(8)]
    for thread in sessions:
        thread.start()
    for thread in sessions:
        thread.join(30)
    assert outcomes.count("started") == 1
    assert sorted(set(outcomes) - {"started"}) == [f"{jobs.status().model} is still training"]
    release.set()
    _wait(jobs)
    assert trained == [jobs.status().model] and jobs.status().result["version"] == "1.1.0"
    jobs.start("color", manifest=None, db_url=url)  # once done, the next one may start
    _wait(jobs)  # (before the fake retrain is unpatched)
    assert trained[1:] == ["color"]


def _wait(jobs: TrainingJobs) -> None:
    for _ in range(300):
        status = jobs.status()
        if status is None or not status.running:
            return
        time.sleep(0.1)
    raise AssertionError("the training did not finish")
