"""Labeled crops, what a retrain learns from: gathered from the store or a labeled file, split
by image, scaled as the Predictor scales them, and augmented. retrain, retrain_keras and replay
all read them here, so none of them imports another to get them.
"""

from __future__ import annotations

import base64
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..crop import crop_box, crop_image, stored_side
from ..errors import LabeledFileError, PinpointError
from ..images import DecodedImage, decode_image
from ..manifest import ModelSpec
from .evaluate import image_path
from .labels_io import alternatives, labeled_csv, parse_truth

HOLD_OUT = 0.25  # share of images held out to measure before and after
AUGMENT = 4  # shifted / rescaled copies per labeled point, besides the point itself
REPLAY = 2.0  # at most this many points of the model's own training data per label


@dataclass(frozen=True)
class LabeledCrop:
    """One labeled point: the image it comes from (for the split), its crop and its label."""

    image: str
    crop: Image.Image
    label: str
    accepted: tuple[str, ...] = ()  # other labels a person would also call right


@dataclass(frozen=True)
class RetrainOptions:
    epochs: int = 8
    seed: int = 0
    hold_out: float = HOLD_OUT
    augment: int = AUGMENT
    replay: float = REPLAY  # 0: learn from the labels alone


def gather(spec: ModelSpec, *, store=None, source=None) -> list[LabeledCrop]:
    """Return the labeled crops for `spec` from a labeled file, else from the store."""
    if source is not None:
        return from_file(spec, Path(source))
    if store is None:
        raise LabeledFileError("give a store or a labeled file to learn from")
    from .labels_io import labeled_records

    points = []
    for record in labeled_records(store):
        answer = record["labels"].get(spec.name)
        if answer and answer["truth"] in spec.labels and answer["crop_png"]:
            crop = Image.open(io.BytesIO(answer["crop_png"])).convert("RGB")
            points.append(LabeledCrop(record["image_sha256"] or str(record["prediction_id"]),
                                      crop, answer["truth"]))
    return points


def from_file(spec: ModelSpec, path: Path) -> list[LabeledCrop]:
    """Return the labeled crops of a labeled file for `spec` (rows it cannot use skipped)."""
    from .evaluate import read_labeled

    points: list[LabeledCrop] = []
    decoded: dict[Path, DecodedImage] = {}
    with labeled_csv(path) as csv_path:
        header, rows = read_labeled(csv_path)
        if spec.name not in header:
            raise LabeledFileError(f"{path.name} has no {spec.name!r} column")
        for _line, row in rows:
            try:
                labeled, label = parse_truth(row.get(spec.name), spec.labels)
                if labeled and label is not None:
                    image = row.get("image_sha256") or row.get("image") or ""
                    also = f"{row.get(spec.name) or ''}|{row.get(spec.name + '_also') or ''}"
                    crop = _row_crop(spec, csv_path, row, decoded)
                    points.append(LabeledCrop(image, crop, label,
                                              alternatives(also, spec.labels)))
            except (PinpointError, OSError, ValueError):
                continue  # `evaluate` and `labels import` report such rows; training skips them
    return points


def _row_crop(spec: ModelSpec, csv_path: Path, row: dict,
              decoded: dict[Path, DecodedImage]) -> Image.Image:
    stored = (row.get(f"{spec.name}_crop") or "").strip()
    if stored.endswith(".png"):
        return Image.open(csv_path.parent / stored).convert("RGB")
    if stored:
        return Image.open(io.BytesIO(base64.b64decode(stored))).convert("RGB")
    path = image_path(csv_path, row.get("image"))
    if path not in decoded:  # rows of one photo follow each other: decode it once
        decoded.clear()
        decoded[path] = decode_image(path)
    image = decoded[path]
    point = (float(row["x"]), float(row["y"]))
    return crop_image(image, crop_box(image.size, point, spec.crop_fraction),
                      stored_side(spec.input_size))


def split_by_image(points: list[LabeledCrop], share: float,
                   seed: int = 0) -> tuple[list[LabeledCrop], list[LabeledCrop]]:
    """Split by a hash of each image: no photo on both sides, the same split every run."""
    images = sorted({p.image for p in points})
    held = {i for i in images if _unit_hash(f"{seed}:{i}") < share}
    if images and not held and len(images) > 1:
        held = {min(images, key=lambda i: _unit_hash(f"{seed}:{i}"))}
    if held == set(images) and len(images) > 1:
        held.discard(max(images, key=lambda i: _unit_hash(f"{seed}:{i}")))
    return ([p for p in points if p.image not in held], [p for p in points if p.image in held])


def _unit_hash(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0x1_0000_0000


def inputs(spec: ModelSpec, crops: list[Image.Image]) -> np.ndarray:
    """Resize crops to the model's input and scale them as the Predictor does."""
    size = (spec.input_size, spec.input_size)
    pixels = np.stack([np.asarray(c.resize(size, Image.Resampling.BILINEAR)) for c in crops])
    return pixels.astype(np.float32) * np.float32(spec.scale) + np.float32(spec.offset)


def augmented(points: list[LabeledCrop], copies: int,
              rng: np.random.Generator) -> list[LabeledCrop]:
    """Each point plus `copies` crops shifted by up to 10 % and zoomed in by up to 20 %."""
    out = []
    for point in points:
        out.append(point)
        side = point.crop.width
        for _ in range(copies):
            size = side * rng.uniform(0.8, 1.0)
            left, top = rng.uniform(0, side - size, 2)
            box = (left, top, left + size, top + size)
            out.append(LabeledCrop(point.image, point.crop.resize((side, side), box=box),
                                   point.label, point.accepted))
    return out
