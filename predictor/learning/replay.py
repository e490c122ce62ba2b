"""The model's own training data, mixed into a retrain so the new version does not forget it.

A manifest entry's `training_data` names a labeled CSV in the `evaluate` format (image,x,y and
a column named after the model; relative image paths are relative to the CSV). `retrain`
adds up to `ratio` times as many of its points as it has store labels to train on: the same
points on every run, never from a photo that is held out to measure the new version.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..errors import LabeledFileError
from ..manifest import ModelSpec
from .evaluate import image_path
from .labeled_crops import LabeledCrop, from_file


def replay_points(spec: ModelSpec, n_labels: int, *, ratio: float, seed: int = 0,
                  exclude: frozenset[str] | set[str] = frozenset()) -> list[LabeledCrop]:
    """Up to ratio x n_labels points of `spec.training_data`, chosen the same way every run;
    none from an image whose key (path or SHA-256 of its bytes) is in `exclude`."""
    if spec.training_data is None or ratio <= 0 or n_labels <= 0:
        return []
    if not spec.training_data.is_file():
        raise LabeledFileError(f"{spec.name}'s training data {spec.training_data} (manifest "
                               "training_data) is missing: restore it, or retrain with "
                               "--replay 0 to learn from the labels alone")
    points = []
    for point in from_file(spec, spec.training_data):
        key = _image_key(spec.training_data, point.image)
        if point.image not in exclude and key not in exclude:
            points.append(replace(point, image=key))
    cap = int(ratio * n_labels)
    if len(points) <= cap:
        return points
    chosen = np.random.default_rng(seed).choice(len(points), cap, replace=False)
    return [points[i] for i in sorted(chosen)]


@functools.lru_cache(maxsize=1024)
def _image_key(csv_path: Path, image: str) -> str:
    """The SHA-256 of the image file's bytes: the key the store gives the same photo."""
    try:
        return hashlib.sha256(image_path(csv_path, image).read_bytes()).hexdigest()
    except (OSError, ValueError):
        return image
