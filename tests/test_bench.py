import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.model_factory import manifest_entry

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def two_model_manifest(tiny_models: Path) -> Path:
    path = tiny_models / "bench.toml"
    path.write_text(
        manifest_entry("color", "tiny.tflite", crop_fraction=0.15)
        + manifest_entry("theme", "tiny.keras", crop_fraction=0.5)
    )
    return path


def test_quick_benchmark_reports_every_figure(two_model_manifest):
    command = [sys.executable, "-m", "predictor", "--manifest", str(two_model_manifest),
               "bench", "--quick", "--json"]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    assert set(result["floor_ms"]) == {"color", "theme"}
    cases = {"png_0.3mp", "jpeg_12mp_first_click", "decoded_next_click"}
    assert set(result["end_to_end_ms"]) == cases == set(result["naive_ms"])
    for figures in [*result["end_to_end_ms"].values(), *result["naive_ms"].values()]:
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"]
    assert set(result["series_vs_parallel_ms"]) == {"series", "parallel"}
    assert {f"copies={c},callers={n}" for c in (1, 2) for n in (1, 4, 16)} == set(
        result["concurrency"])
    assert all(v["throughput_per_s"] > 0 for v in result["concurrency"].values())
    cold = result["cold_start_and_memory"]
    assert cold["process_start_to_first_prediction_ms"] > 0 and cold["calls"] == 50
    assert cold["rss_after_mb"] > 0 and cold["rss_loaded_mb"] > 0
    assert {"decoded_p50_over_floor_sum", "throughput_4_over_1_callers",
            "naive_over_ours:jpeg_12mp_first_click"} <= set(result["ratios"])
    assert result["models"]["color"]["format"] == "tflite"


@pytest.mark.parametrize(("name", "version"), [("color", "3.1.0"), ("theme", "3.3.0")])
def test_the_naive_baseline_rebuilds_a_head_version_that_answers_as_served(name, version):
    """The head versions ship no Keras file: the naive baseline rebuilds one from the recipe,
    and it must compute what the product serves (float16 weights aside), or the ratio lies."""
    import numpy as np

    from bench.naive import NaivePredictor
    from predictor import load_versions
    from predictor.models import load_model

    spec = next(s for s in load_versions(ROOT / "models" / "manifest.toml")
                if (s.name, s.version) == (name, version))
    naive = NaivePredictor.for_specs([spec])
    assert naive is not None
    batch = np.random.default_rng(0).random((2, spec.input_size, spec.input_size, 3),
                                            dtype=np.float32)
    served = load_model(spec, copies=1).probabilities(batch)
    rebuilt = naive.keras_models[0].predict(batch, verbose=0)
    assert rebuilt.shape == served.shape == (2, len(spec.labels))
    # The served extractor holds float16 weights, the rebuilt one float32: the features differ
    # in the third digit, which a confident head turns into up to about 1 % of probability.
    np.testing.assert_allclose(rebuilt, served, atol=2e-2)
    assert (rebuilt.argmax(axis=1) == served.argmax(axis=1)).all()
