"""`python -m predictor bench`: where every millisecond of a prediction goes, on this machine."""

from __future__ import annotations

import functools
import io
import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..images import DecodedImage
from ..predict import Predictor

_REPOSITORY = Path(__file__).resolve().parents[2]


def run_benchmark(manifest: str | None = None, quick: bool = False) -> dict:
    """Measure floors, end-to-end cases, the naive baseline, concurrency, cold start, memory."""
    n = _Runs(quick)
    predictor = Predictor.from_manifest(manifest)
    images = {"png_0.3mp": synthetic_photo(640, 480, "PNG"),
              "jpeg_12mp": synthetic_photo(4000, 3000, "JPEG")}
    decoded = predictor.decode(images["jpeg_12mp"])
    ours = {
        "png_0.3mp": _times(lambda: predictor.predict(images["png_0.3mp"], 320, 240), n.e2e),
        "jpeg_12mp_first_click": _times(
            lambda: predictor.predict(images["jpeg_12mp"], 2000, 1500), n.big
        ),
        "decoded_next_click": _times(lambda: predictor.predict(decoded, 1200, 900), n.e2e),
    }
    result = {
        "machine": _machine(),
        "floor_ms": _floors(predictor, n.floor),
        "end_to_end_ms": {case: _percentiles(t) for case, t in ours.items()},
        "naive_ms": _naive(predictor, images, n),
        "series_vs_parallel_ms": {
            mode: _percentiles(
                _times(
                    functools.partial(predictor.predict, decoded, 1200, 900, parallel=parallel),
                    n.e2e,
                )
            )
            for mode, parallel in (("series", False), ("parallel", True))
        },
        "concurrency": _concurrency(manifest, decoded, n.seconds),
        "models": predictor.describe(),
        "threads": _thread_settings(),
    }
    result["cold_start_and_memory"] = _probe(manifest, n.memory_calls)
    result["ratios"] = _ratios(result)
    predictor.close()
    return result


class _Runs:
    def __init__(self, quick: bool):
        self.floor, self.e2e, self.big = (20, 10, 3) if quick else (300, 200, 30)
        self.naive_big = 2 if quick else 10
        self.seconds = 0.3 if quick else 3.0
        self.memory_calls = 50 if quick else 2000


def _times(call: Callable[[], object], runs: int) -> list[float]:
    call()  # one untimed call: first-call effects are the cold-start section's business
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1e3)
    return samples


def _percentiles(samples: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(samples, [50, 95, 99])
    return {"p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3), "runs": len(samples)}


def _floors(predictor: Predictor, runs: int) -> dict[str, dict[str, float]]:
    floors = {}
    for model in predictor.models:
        size = model.spec.input_size
        batch = np.random.default_rng(0).random((1, size, size, 3), np.float32)
        floors[model.spec.name] = _percentiles(_times(functools.partial(model.run, batch), runs))
    return floors


def _naive(predictor: Predictor, images: dict[str, bytes], n: _Runs) -> dict:
    """A first version: full Pillow decode, crop, resize, Keras `model.predict`, in series."""
    try:
        from bench.naive import NaivePredictor  # a developer tool beside the package
    except ImportError:
        return {"skipped": "the naive baseline (bench/naive.py) is not beside predictor/"}
    naive = NaivePredictor.for_specs(predictor.specs)
    if naive is None:
        return {"skipped": "no .keras file beside the served models"}
    full = naive.decode(images["jpeg_12mp"])
    return {
        "png_0.3mp": _percentiles(
            _times(lambda: naive.predict(images["png_0.3mp"], 320, 240), n.big)
        ),
        "jpeg_12mp_first_click": _percentiles(
            _times(lambda: naive.predict(images["jpeg_12mp"], 2000, 1500), n.naive_big)
        ),
        "decoded_next_click": _percentiles(_times(lambda: naive.predict(full, 1200, 900), n.big)),
    }


def _concurrency(manifest: str | None, decoded: DecodedImage, seconds: float) -> dict:
    results = {}
    for copies in (1, 2):
        predictor = Predictor.from_manifest(manifest, copies=copies)
        for callers in (1, 4, 16):
            results[f"copies={copies},callers={callers}"] = _load(
                predictor, decoded, callers, seconds
            )
        predictor.close()
    return results


def _load(predictor: Predictor, decoded: DecodedImage, callers: int, seconds: float) -> dict:
    latencies: list[float] = []
    start, stop = threading.Barrier(callers + 1), time.perf_counter() + 3600

    def caller(seed: int) -> None:
        rng = np.random.default_rng(seed)
        start.wait()
        while time.perf_counter() < stop:
            x, y = rng.uniform(0, decoded.width), rng.uniform(0, decoded.height)
            began = time.perf_counter()
            predictor.predict(decoded, x, y)
            latencies.append((time.perf_counter() - began) * 1e3)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"throughput_per_s": round(len(latencies) / elapsed, 1), **_percentiles(latencies)}


def _probe(manifest: str | None, calls: int) -> dict:
    """Cold start and memory in a fresh process, so this process's extra models do not count."""
    command = [sys.executable, "-m", "bench.probe", str(calls), manifest or ""]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=_REPOSITORY)
    assert child.stdout is not None
    first = json.loads(child.stdout.readline())
    first["process_start_to_first_prediction_ms"] = round((time.perf_counter() - started) * 1e3, 1)
    after = json.loads(child.stdout.readline())
    child.wait()
    return {**first, **after}


def _ratios(result: dict) -> dict[str, float | None]:
    ours, naive = result["end_to_end_ms"], result["naive_ms"]
    floors = sum(f["p50"] for f in result["floor_ms"].values())
    load = result["concurrency"]
    ratios: dict[str, float | None] = {
        "decoded_p50_over_floor_sum": round(ours["decoded_next_click"]["p50"] / floors, 2),
        "throughput_4_over_1_callers": round(
            load["copies=2,callers=4"]["throughput_per_s"]
            / load["copies=2,callers=1"]["throughput_per_s"],
            2,
        ),
    }
    for case in ours:
        if case in naive:
            ratios[f"naive_over_ours:{case}"] = round(naive[case]["p50"] / ours[case]["p50"], 1)
    return ratios


def synthetic_photo(width: int, height: int, fmt: str, seed: int = 5) -> bytes:
    """A synthetic photo: smooth lighting, shapes, sensor noise; made here, never downloaded."""
    rng = np.random.default_rng(seed)
    small = Image.new("RGB", (width // 8, height // 8), (120, 110, 100))
    draw = ImageDraw.Draw(small)
    for _ in range(60):
        x, y = int(rng.integers(0, small.width)), int(rng.integers(0, small.height))
        r = int(rng.integers(5, small.height // 3))
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
        )
    image = small.resize((width, height), Image.Resampling.BICUBIC)
    noisy = np.asarray(image, np.int16) + rng.integers(-6, 7, (height, width, 1), np.int16)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buffer, fmt, quality=90)
    return buffer.getvalue()


def _machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def _thread_settings() -> dict[str, object]:
    from ..models import DEFAULT_COPIES

    return {
        "tflite_threads_per_interpreter": 1,
        "tflite_interpreter_copies": DEFAULT_COPIES,
        "tensorflow_pools": "TensorFlow defaults (one intra-op thread per core)",
    }


def format_table(result: dict) -> str:
    """Render the benchmark as a plain-text table."""
    lines = [f"machine: {result['machine']['cpus']} CPUs, {result['machine']['platform']}", ""]
    lines.append(f"{'case':<34}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    rows = [(f"floor {name}", v) for name, v in result["floor_ms"].items()]
    rows += [(f"ours {case}", v) for case, v in result["end_to_end_ms"].items()]
    rows += [(f"naive {case}", v) for case, v in result["naive_ms"].items() if isinstance(v, dict)]
    rows += [(f"decoded, {mode}", v) for mode, v in result["series_vs_parallel_ms"].items()]
    for label, v in rows:
        lines.append(f"{label:<34}{v['p50']:>10.2f}{v['p95']:>10.2f}{v['p99']:>10.2f}")
    lines += ["", f"{'concurrency':<34}{'calls/s':>10}{'p95 ms':>10}"]
    for label, v in result["concurrency"].items():
        lines.append(f"{label:<34}{v['throughput_per_s']:>10.1f}{v['p95']:>10.2f}")
    cold = result["cold_start_and_memory"]
    lines += [
        "",
        f"process start to first prediction: {cold['process_start_to_first_prediction_ms']:.0f} ms",
    ]
    lines.append(
        f"RSS after loading: {cold['rss_loaded_mb']:.0f} MB; after {cold['calls']} "
        f"predictions: {cold['rss_after_mb']:.0f} MB"
    )
    for name, info in result["models"].items():
        timing = f"load {info['load_ms']:.0f} ms, warm-up {info['warmup_ms']:.1f} ms"
        lines.append(f"{name}: {info['format']}, {timing}")
    lines += ["", "ratios: " + ", ".join(f"{k} {v}" for k, v in result["ratios"].items())]
    return "\n".join(lines)
