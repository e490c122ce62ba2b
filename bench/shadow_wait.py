"""Click-to-answer with and without a shadow version: what a shadow adds to the tester's wait.

    python -m bench.shadow_wait [--clicks 40] [--pause 0.3] [--shadow color:1.0.0]

Each click goes through `record_click` (predict, check, crop, store in SQLite), as the app's
clicks do, on a decoded training-pool photo, at a new point each time. The served models are
the manifest's active ones; the "with" run adds one shadow version (default: color 1.0.0,
the retired one), which answers after each click is stored. Runs alternate in blocks (without,
with, without, with) so a busy machine slows both alike; `--pause` is the time between two
clicks (a tester looks at the answer; 0 = back to back, the worst case for the shadow, which
then competes with the next click for the CPU). A benchmark that prints figures, never a test.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from predictor import Predictor, load_manifest
from predictor.learning import record_click
from predictor.learning.shadow import shadows_of
from predictor.store import FeedbackStore

from .manifests import absolute_copy

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "photos" / "train" / "mate_aqua.jpg"


def shadow_manifest(folder: Path, model: str, version: str) -> Path:
    """A copy of models/manifest.toml (absolute paths) with `model` `version` as a shadow."""
    def mark(entry: dict) -> None:
        if entry["name"] == model and str(entry.get("version")) == version:
            entry["shadow"] = True

    return absolute_copy(folder, mark)


def clicks(predictor: Predictor, store: FeedbackStore, n: int, pause: float,
           start: int) -> list[float]:
    """Time n clicks (ms, click to stored answer) at new points of the photo."""
    decoded = predictor.decode(PHOTO)
    width, height = decoded.size
    times = []
    for i in range(start, start + n):
        point = (width * (0.1 + 0.8 * (i * 0.37 % 1)), height * (0.1 + 0.8 * (i * 0.61 % 1)))
        began = time.perf_counter()
        record_click(predictor, store, decoded, point, tester="bench")
        times.append((time.perf_counter() - began) * 1e3)
        time.sleep(pause)
    runner = shadows_of(predictor)
    if runner is not None:
        runner.wait()  # untimed: the next block starts from a quiet machine
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=40, help="clicks per mode (default 40)")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between clicks")
    parser.add_argument("--shadow", default="color:1.0.0", help="MODEL:VERSION to shadow")
    args = parser.parse_args(argv)
    model, version = args.shadow.split(":")
    with tempfile.TemporaryDirectory() as temp:
        manifest = shadow_manifest(Path(temp), model, version)
        store = FeedbackStore(f"sqlite:///{temp}/bench.db")
        plain = Predictor.from_specs(load_manifest(manifest))  # the same models, no shadow
        shadowed = Predictor.from_manifest(manifest)
        for warm in (plain, shadowed):
            clicks(warm, store, 5, 0.0, 1000)
        times: dict[str, list[float]] = {"without": [], "with": []}
        half = max(1, args.clicks // 2)
        for block in range(2):
            times["without"] += clicks(plain, store, half, args.pause, block * half)
            times["with"] += clicks(shadowed, store, half, args.pause, block * half)
        _report(times, shadowed, store, model, version, args.pause)
        store.close()


def _report(times: dict[str, list[float]], shadowed: Predictor, store: FeedbackStore,
            model: str, version: str, pause: float) -> None:
    from sqlalchemy import text

    with store.read() as conn:
        shadow_ms = [row[0] for row in conn.execute(text(
            "SELECT model_ms FROM shadow_predictions WHERE error IS NULL"))]
    served = ", ".join(f"{s.name} {s.version}" for s in shadowed.specs)
    print(f"served: {served}; shadow: {model} {version}; {pause} s between clicks")
    for mode, values in times.items():
        ordered = sorted(values)
        p90 = ordered[int(0.9 * (len(ordered) - 1))]
        print(f"  {mode:>7} shadow: {len(values)} clicks, median {statistics.median(values):.1f} "
              f"ms, p90 {p90:.1f} ms, mean {statistics.mean(values):.1f} ms")
    added = statistics.median(times["with"]) - statistics.median(times["without"])
    print(f"  added wait (median): {added:+.1f} ms")
    if shadow_ms:
        print(f"  the shadow's own model time (background): median "
              f"{statistics.median(shadow_ms):.1f} ms over {len(shadow_ms)} clicks")
    runner = shadows_of(shadowed)
    print(f"  shadow runner: {runner.counts if runner else 'none loaded'}")


if __name__ == "__main__":
    main()
