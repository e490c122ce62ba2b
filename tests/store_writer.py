"""Write predictions and labels in a loop, printing each one only after its commit.

Used by tests/test_store.py as a separate writer process:
    python tests/store_writer.py DB_URL TAG COUNT   (COUNT 0 = until killed)
Prints "P <tag>-<i> <id>" once a prediction is committed and "L <tag>-<i> <id>" once its
labels are.
"""

from __future__ import annotations

import itertools
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from predictor.store.feedback import FeedbackStore  # noqa: E402


def fake_prediction(key: str) -> dict:
    """Return a two-model prediction dict shaped like Prediction.to_dict()."""
    box = {"left": 1, "top": 2, "right": 33, "bottom": 34}
    return {
        "predictions": {
            "color": [{"label": "red", "score": 0.6}, {"label": "blue", "score": 0.3}],
            "theme": [{"label": "Music", "score": 0.8}, {"label": "Travel", "score": 0.1}],
        },
        "crops": {"color": box, "theme": box},
        "timings_ms": {"decode": 1.0, "crop": 0.2, "model:color": 2.0, "model:theme": 2.5,
                       "total": 6.0},
        "models": {"color": {"version": "v1", "format": "keras"},
                   "theme": {"version": "v1", "format": "keras"}},
        "image": {"width": 64, "height": 48, "format": "PNG", "sha256": key, "bytes": 999},
        "point": {"x": 17.0, "y": 18.0},
    }


def write(store: FeedbackStore, tag: str, count: int, out=sys.stdout) -> None:
    """Write `count` (0 = forever) predictions with labels, acknowledging each commit."""
    crop = os.urandom(4096)  # a blob makes each transaction span several pages
    numbers = itertools.count() if count == 0 else range(count)
    for i in numbers:
        key = f"{tag}-{i}"
        prediction_id = store.record_prediction(
            fake_prediction(key), tester=tag, crops_png={"color": crop, "theme": crop})
        print(f"P {key} {prediction_id}", file=out, flush=True)
        store.record_labels(prediction_id, {"color": "blue", "theme": None}, tester=tag)
        print(f"L {key} {prediction_id}", file=out, flush=True)


if __name__ == "__main__":
    write(FeedbackStore(sys.argv[1], busy_timeout_ms=30000), sys.argv[2], int(sys.argv[3]))
