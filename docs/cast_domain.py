"""A domain the default color model handles badly: photos-like scenes under a strong amber cast.

Each image is a grid of flat, textured patches of known colors, rendered here (no outside
images), then tinted as under old tungsten light. The label is the surface's own color.
docs/improving.md runs its loop on these renders (docs/outputs.py writes them) and the tests
use the same ones; it lives here, with the docs tooling, because docs never import the tests.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image

COLORS = {
    "white": (236, 236, 232), "gray": (128, 128, 128), "black": (22, 22, 24),
    "red": (196, 28, 32), "blue": (32, 70, 200), "green": (40, 150, 55),
    "yellow": (236, 212, 40), "purple": (120, 40, 150),
}
CAST = np.array([1.0, 0.74, 0.42])  # strong amber: blue light mostly gone
GRID = (2, 3)  # rows, columns of patches
PATCH = 80


def render(seed: int) -> tuple[Image.Image, list[tuple[float, float, str]]]:
    """Return one cast image and its (x, y, color) points, one per patch centre."""
    rng = np.random.default_rng(seed)
    rows, cols = GRID
    pixels = np.zeros((rows * PATCH, cols * PATCH, 3), np.float32)
    points = []
    names = list(COLORS)
    for r in range(rows):
        for c in range(cols):
            name = names[rng.integers(len(names))]
            base = np.array(COLORS[name], np.float32) * rng.uniform(0.85, 1.1)
            texture = rng.normal(0, 6, (PATCH, PATCH, 1)) + rng.normal(0, 3, (PATCH, PATCH, 3))
            pixels[r * PATCH:(r + 1) * PATCH, c * PATCH:(c + 1) * PATCH] = base + texture
            points.append((c * PATCH + PATCH / 2 + rng.uniform(-8, 8),
                           r * PATCH + PATCH / 2 + rng.uniform(-8, 8), name))
    tinted = np.clip(pixels * CAST, 0, 255).astype(np.uint8)
    return Image.fromarray(tinted), points


def write_set(folder: Path, seeds: range, name: str = "labels.csv") -> Path:
    """Render one PNG per seed into `folder` and write the labeled CSV (`image,x,y,color`)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for seed in seeds:
        image, points = render(seed)
        image.save(folder / f"cast_{seed:03d}.png")
        rows += [{"image": f"cast_{seed:03d}.png", "x": round(x, 1), "y": round(y, 1),
                  "color": label} for x, y, label in points]
    path = folder / name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "x", "y", "color"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def seed_labeled_clicks(manifest: Path, store, seeds: range, tester: str = "ann") -> int:
    """Store labeled clicks (the color label) on the cast images of `seeds`, through the one
    click pipeline, as testers would leave them; return how many."""
    from predictor import Predictor  # noqa: PLC0415
    from predictor.learning import record_click, record_labels

    predictor, count = Predictor.from_manifest(manifest), 0
    try:
        for seed in seeds:
            image, points = render(seed)
            for x, y, label in points:
                recorded = record_click(predictor, store, image, (x, y), tester=tester)
                assert recorded.prediction_id is not None
                record_labels(predictor, store, recorded.prediction_id, {"color": label},
                              tester=tester)
                count += 1
    finally:
        predictor.close()
    return count
