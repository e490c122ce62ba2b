"""`python -m bench.backbone [--threads N] [--repeats N]`: forward-pass time of each built
feature extractor (models/backbone/<name>/backbone.tflite) by input size and batch.

Prints medians and the ratio to mobilenet_v2 at 224 px, batch 1. A benchmark that prints, not a
test. Also shows the extractor works at each size: the cosine between a photo's features at that
size and at the model's native size (the features are a global average, so they stay comparable).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models" / "backbone"
PHOTO = ROOT / "photos" / "train" / "lomiri_sunset.jpg"
SIZES = {"mobilenet_v2": (224, 160, 128, 96), "mobilenet_v2_mid": (224, 160, 128, 96),
         "inception_v3": (299, 224)}


class _Extractor:
    def __init__(self, path: Path, threads: int) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.output = self.interpreter.get_output_details()[0]["index"]
        self.shape: tuple[int, ...] = ()

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        if batch.shape != self.shape:
            self.interpreter.resize_tensor_input(self.input, batch.shape)
            self.interpreter.allocate_tensors()
            self.shape = batch.shape
        self.interpreter.set_tensor(self.input, batch)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)


def _photo(size: int, batch: int) -> np.ndarray:
    image = Image.open(PHOTO).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    return np.repeat((np.asarray(image, np.float32) / 255.0)[None], batch, axis=0)


def _times_ms(extractors: dict[int, _Extractor], size: int, repeats: int
              ) -> dict[int, list[float]]:
    """Time batches of 1 and 2 alternately, so both see the same load from other processes."""
    batches = {b: _photo(size, b) for b in extractors}
    times: dict[int, list[float]] = {b: [] for b in extractors}
    for run in range(repeats + 1):
        for b, batch in batches.items():
            started = time.perf_counter()
            extractors[b](batch)  # one interpreter per batch size: no re-allocation here
            if run:  # the first round warms up (and allocates)
                times[b].append((time.perf_counter() - started) * 1e3)
    return times


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"TFLite (ai_edge_litert), {args.threads} thread(s), median of {args.repeats} runs")
    print(f"{'model':17} {'size':>4} {'dim':>5} {'b1 med':>7} {'b1 min':>7} {'b2 med':>7} "
          f"{'b2 min':>7} {'b2/img':>7} {'ratio':>6} {'cos':>6}")
    baseline = None
    for name, sizes in SIZES.items():
        path = MODELS / name / "backbone.tflite"
        if not path.exists():
            print(f"{name:17} not built (python -m training.backbone {name})")
            continue
        extractors = {b: _Extractor(path, args.threads) for b in (1, 2)}
        native = extractors[1](_photo(sizes[0], 1))[0]
        for size in sizes:
            times = _times_ms(extractors, size, args.repeats)
            one, two = (statistics.median(times[b]) for b in (1, 2))
            baseline = baseline or one
            features = extractors[1](_photo(size, 1))[0]
            print(f"{name:17} {size:4} {features.size:5} {one:7.1f} {min(times[1]):7.1f} "
                  f"{two:7.1f} {min(times[2]):7.1f} {two / 2:7.1f} {one / baseline:6.2f} "
                  f"{_cosine(features, native):6.3f}")


if __name__ == "__main__":
    main()
