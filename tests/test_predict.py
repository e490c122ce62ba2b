import importlib
import subprocess
import sys
import threading

import pytest

from predictor import Predictor
from tests.conftest import encode, noise_image
from tests.model_factory import LABELS

POINTS = [(5, 5), (60, 45), (119, 89), (30, 80)]


def ranked(result) -> dict[str, list[tuple[str, float]]]:
    return {
        name: [(s.label, s.score) for s in scores] for name, scores in result.predictions.items()
    }


def test_one_predictor_called_from_8_threads_gives_the_single_threaded_answers(tiny_predictor):
    images = [tiny_predictor.decode(encode(noise_image(120, 90, seed=s), "PNG")) for s in range(4)]
    expected = {
        (i, p): ranked(tiny_predictor.predict(images[i], *POINTS[p]))
        for i in range(4)
        for p in range(4)
    }
    mismatches, errors = [], []
    start = threading.Barrier(8)

    def worker(n: int) -> None:
        start.wait()
        for call in range(50):
            key = ((n + call) % 4, call % 4)
            try:
                got = ranked(
                    tiny_predictor.predict(images[key[0]], *POINTS[key[1]], parallel=call % 2 == 0)
                )
            except Exception as exc:  # collected, so one failure does not hide others
                errors.append(repr(exc))
                continue
            if got != expected[key]:
                mismatches.append(key)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and mismatches == []


def test_series_and_parallel_give_identical_results(tiny_models):
    image = noise_image(200, 150, seed=9)
    serial = Predictor.from_manifest(tiny_models / "manifest.toml", parallel=False)
    parallel = Predictor.from_manifest(tiny_models / "manifest.toml", parallel=True)
    for point in POINTS:
        assert ranked(serial.predict(image, *point)) == ranked(parallel.predict(image, *point))


def test_result_has_top_k_crops_and_timings_per_model(tiny_predictor):
    result = tiny_predictor.predict(encode(noise_image(120, 90), "JPEG"), 100, 10, top_k=3)
    names = ["keras", "savedmodel", "graphdef", "tflite"]
    assert list(result.predictions) == names
    assert all(len(scores) == 3 for scores in result.predictions.values())
    scores = [s.score for s in result.predictions["keras"]]
    assert scores == sorted(scores, reverse=True)
    assert result.crops["keras"].to_dict() == {"left": 75, "top": 0, "right": 120, "bottom": 45}
    stages = {"decode", "crop", "total"} | {f"model:{n}" for n in names}
    assert set(result.timings_ms) == stages
    assert result.timings_ms["decode"] > 0
    assert result.timings_ms["total"] >= sum(result.timings_ms[f"model:{n}"] for n in names)


def test_top_k_larger_than_the_label_set_returns_every_label(tiny_predictor):
    result = tiny_predictor.predict(noise_image(50, 50), 25, 25, top_k=50)
    assert sorted(s.label for s in result.predictions["tflite"]) == sorted(LABELS)


def test_an_already_decoded_image_is_not_decoded_again(tiny_predictor):
    decoded = tiny_predictor.decode(encode(noise_image(120, 90), "PNG"))
    again = tiny_predictor.predict(decoded, 10, 10)
    assert again.timings_ms["decode"] == 0.0
    counted = tiny_predictor.predict(decoded, 10, 10, include_decode=True)
    assert counted.timings_ms["decode"] == decoded.decode_ms > 0


def test_to_dict_has_the_cli_contract_shape(tiny_predictor):
    data = tiny_predictor.predict(noise_image(64, 64), 32, 32).to_dict()
    assert {"predictions", "crops", "timings_ms", "models"} <= set(data)
    assert set(data["predictions"]["keras"][0]) == {"label", "score"}
    assert data["models"]["tflite"] == {"version": "0.1", "format": "tflite"}


@pytest.mark.parametrize("module", ["streamlit", "fastapi", "tensorflow"])
def test_importing_predictor_pulls_in_no_ui_web_or_tensorflow(module):
    code = f"import sys, predictor; sys.exit(1 if {module!r} in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("package", ["predictor", "predictor.store", "predictor.learning",
                                     "predictor.service"])
def test_public_names_are_listed_once_each_and_all_resolve(package):
    # __all__ spells out the lazily loaded names (type checkers cannot read _MODULES); a name
    # added to one list and not the other, or misspelled, fails here.
    module = importlib.import_module(package)

    assert len(module.__all__) == len(set(module.__all__))
    assert {n for names in module._MODULES.values() for n in names} <= set(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None
