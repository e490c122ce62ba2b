"""Micro-batching for a Ray Serve replica: concurrent single-row model calls become one call.

The Predictor calls each model with one row from a prediction thread. Here each model's
runner hands its row to a `@serve.batch` coroutine on the replica's event loop, which runs
the model once on every row that arrived within the wait, in the model's own thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..models import LoadedModel
from .metrics import Metrics
from .ray_config import Batching

# A TFLite runner invokes its interpreter row by row: merging rows buys nothing but the wait.
UNBATCHED_FORMATS = frozenset({"tflite"})


class BatchedModels:
    """Wrap models so that calls from many threads are merged per model on `loop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, batching: Batching):
        self.loop, self.batching = loop, batching
        self.metrics: Metrics | None = None  # set once the app exists; counts batch sizes
        self._pools: list[ThreadPoolExecutor] = []

    def wrap_all(self, models: list[LoadedModel]) -> list[LoadedModel]:
        """Return the models with batched runners (those that cannot batch unchanged)."""
        return [m if m.spec.format in UNBATCHED_FORMATS else self.wrap(m) for m in models]

    def wrap(self, model: LoadedModel) -> LoadedModel:
        """Return `model` whose `run` queues its rows for the next merged call."""
        batched = self._batched(model)
        loop = self.loop

        def run(batch: np.ndarray) -> np.ndarray:
            futures = [asyncio.run_coroutine_threadsafe(batched(row), loop) for row in batch]
            return np.stack([future.result() for future in futures])

        return dataclasses.replace(model, run=run)

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=False)

    def _batched(self, model: LoadedModel
                 ) -> Callable[[np.ndarray], Coroutine[Any, Any, np.ndarray]]:
        from ray import serve  # only a replica (or a test of this module) needs Ray

        pool = ThreadPoolExecutor(1, thread_name_prefix=f"pinpoint-batch-{model.spec.name}")
        self._pools.append(pool)
        name = model.spec.name

        async def run_rows(rows: list[np.ndarray]) -> list[np.ndarray]:
            # Off the event loop: the loop keeps collecting the next batch meanwhile.
            out = await asyncio.get_running_loop().run_in_executor(
                pool, model.run, np.stack(rows))
            self._count(name, len(rows))
            return list(out)

        return serve.batch(max_batch_size=self.batching.max_batch_size,
                           batch_wait_timeout_s=self.batching.batch_wait_timeout_s)(run_rows)

    def _count(self, name: str, rows: int) -> None:
        if self.metrics is None:
            return
        self.metrics.count("pinpoint_batches_total", "merged model calls (Ray engine)",
                           model=name)
        for _ in range(rows):
            self.metrics.count("pinpoint_batched_rows_total",
                               "rows in merged model calls (Ray engine)", model=name)
