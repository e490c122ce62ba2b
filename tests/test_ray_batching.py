"""Micro-batching (predictor/service/batching.py) on a plain event loop: no cluster needed."""

import asyncio
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from predictor import load_manifest
from predictor.models import LoadedModel
from tests.model_factory import INPUT_SIZE, LABELS
from tests.ray_support import import_or_fail

import_or_fail("ray.serve")

from predictor.service.batching import BatchedModels  # noqa: E402
from predictor.service.ray_config import Batching  # noqa: E402

pytestmark = pytest.mark.ray


class RecordingModel:
    """Answers each row with its own marker; the first call waits at a gate."""

    def __init__(self, fail: bool = False):
        self.sizes: list[int] = []
        self.started, self.gate, self.fail = threading.Event(), threading.Event(), fail

    def run(self, batch):
        self.sizes.append(len(batch))
        if len(self.sizes) == 1:
            self.started.set()
            self.gate.wait(20)
        if self.fail:
            raise RuntimeError("model broke")
        out = np.zeros((len(batch), len(LABELS)), np.float32)
        out[:, 0] = batch[:, 0, 0, 0]  # the caller's marker comes back in column 0
        return out


@pytest.fixture
def loop(monkeypatch):
    # serve.batch asks the replica for max_ongoing_requests (only to warn); here is no replica.
    replica = SimpleNamespace(_deployment_config=SimpleNamespace(max_ongoing_requests=64))
    monkeypatch.setattr("ray.serve.get_replica_context", lambda: replica)
    running = asyncio.new_event_loop()
    thread = threading.Thread(target=running.run_forever, daemon=True)
    thread.start()
    yield running
    asyncio.run_coroutine_threadsafe(_cancel_tasks(), running).result(10)
    running.call_soon_threadsafe(running.stop)
    thread.join(10)
    running.close()


async def _cancel_tasks() -> None:
    """Stop the batch queues' background tasks before the loop goes."""
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture(scope="module")
def specs(tiny_models):
    return {spec.format: spec for spec in load_manifest(tiny_models / "manifest.toml")}


def row(marker: float) -> np.ndarray:
    return np.full((1, INPUT_SIZE, INPUT_SIZE, 3), marker, np.float32)


def call_in_threads(model: LoadedModel, markers: list[float], results: dict) -> list:
    def call(marker: float) -> None:
        try:
            results[marker] = float(model.run(row(marker))[0, 0])
        except RuntimeError as exc:
            results[marker] = str(exc)

    threads = [threading.Thread(target=call, args=(m,)) for m in markers]
    for thread in threads:
        thread.start()
    return threads


def settle(loop) -> None:
    """Let the loop run everything scheduled so far (the waiting rows join the queue)."""
    for _ in range(3):
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(10)


def test_rows_waiting_behind_a_running_call_are_merged_into_one_call(loop, specs):
    fake = RecordingModel()
    batcher = BatchedModels(loop, Batching(True, max_batch_size=8, batch_wait_timeout_s=0.05))
    model = batcher.wrap(LoadedModel(specs["keras"], fake.run, 0.0, 0.0))
    results: dict[float, object] = {}
    first = call_in_threads(model, [1.0], results)
    assert fake.started.wait(20)
    rest = call_in_threads(model, [2.0, 3.0, 4.0], results)
    settle(loop)
    fake.gate.set()
    for thread in first + rest:
        thread.join(20)
    assert results == {1.0: 1.0, 2.0: 2.0, 3.0: 3.0, 4.0: 4.0}  # each caller gets its own row
    assert fake.sizes == [1, 3]
    batcher.close()


def test_a_batch_never_exceeds_max_batch_size(loop, specs):
    fake = RecordingModel()
    batcher = BatchedModels(loop, Batching(True, max_batch_size=2, batch_wait_timeout_s=0.05))
    model = batcher.wrap(LoadedModel(specs["savedmodel"], fake.run, 0.0, 0.0))
    results: dict[float, object] = {}
    first = call_in_threads(model, [1.0], results)
    assert fake.started.wait(20)
    rest = call_in_threads(model, [2.0, 3.0, 4.0, 5.0, 6.0], results)
    settle(loop)
    fake.gate.set()
    for thread in first + rest:
        thread.join(20)
    assert fake.sizes == [1, 2, 2, 1]
    assert results == {m: m for m in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}
    batcher.close()


def test_a_failing_model_call_fails_every_caller_in_its_batch(loop, specs):
    fake = RecordingModel(fail=True)
    batcher = BatchedModels(loop, Batching(True, max_batch_size=8, batch_wait_timeout_s=0.05))
    model = batcher.wrap(LoadedModel(specs["graphdef"], fake.run, 0.0, 0.0))
    results: dict[float, object] = {}
    first = call_in_threads(model, [1.0], results)
    assert fake.started.wait(20)
    rest = call_in_threads(model, [2.0, 3.0], results)
    settle(loop)
    fake.gate.set()
    for thread in first + rest:
        thread.join(20)
    assert results == {1.0: "model broke", 2.0: "model broke", 3.0: "model broke"}
    assert fake.sizes == [1, 2]
    batcher.close()


def test_tflite_models_are_left_unbatched(loop, specs):
    fake = RecordingModel()
    batcher = BatchedModels(loop, Batching())
    models = [LoadedModel(specs[f], fake.run, 0.0, 0.0) for f in ("keras", "tflite")]
    wrapped = batcher.wrap_all(models)
    assert wrapped[1] is models[1]
    assert wrapped[0].run is not fake.run and wrapped[0].spec == models[0].spec
    batcher.close()
