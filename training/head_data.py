"""The training points of the head versions: points labeled by eye on training photos, random
points of themed photos, crops cut the way the product cuts them, recolored crops and emoji
scenes. Only photos/train/ is read here; photos/eval/ never."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from predictor import crop_box, crop_pixels

from . import photo_data
from .head_recipes import HeadRecipe


@dataclass(frozen=True)
class Point:
    """One labeled point of a training photo."""

    photo: Path
    x: float
    y: float
    label: str
    also: tuple[str, ...] = ()  # other names people would also call right


def labeled_points(recipe: HeadRecipe) -> list[Point]:
    """The points labeled by eye on training photos, for this model's labels."""
    files = {"color": ["tuning_points.csv", "train_color_points.csv"],
             "theme": ["train_theme_points.csv"]}[recipe.name] + list(recipe.more_points)
    pool = set(photo_data.pool(recipe.pool_photos))  # the photos this version reads
    points = []
    for name in files:
        path = photo_data.PHOTOS / name
        if not path.is_file():
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                label = (row.get(recipe.name) or "").strip()
                also = tuple(a.strip() for a in (row.get(f"{recipe.name}_also") or "").split("|")
                             if a.strip() in recipe.labels and a.strip() != label)
                photo = photo_data.PHOTOS / row["image"]
                if label in recipe.labels and row["image"].startswith("train/") and \
                        photo in pool:
                    points.append(Point(photo, float(row["x"]), float(row["y"]), label, also))
    return points


def themed_photo_points(recipe: HeadRecipe, rng: np.random.Generator) -> list[Point]:
    """Random points of every training photo whose theme people agree on."""
    themes = photo_data.photo_themes()
    points = []
    for photo in photo_data.pool(recipe.pool_photos):
        label = themes.get(photo.name)
        if not label:
            continue
        with Image.open(photo) as image:
            width, height = image.size
        points += [Point(photo, float(rng.uniform(0, width)), float(rng.uniform(0, height)),
                         label) for _ in range(recipe.random_points)]
    return points


def cut(points: list[Point], recipe: HeadRecipe, shifts: int,
        rng: np.random.Generator) -> tuple[np.ndarray, list[Point]]:
    """Each point's crop as the product cuts it, plus `shifts - 1` shifted and rescaled ones."""
    crops, kept = [], []
    if not points:
        return np.zeros((0, recipe.input_size, recipe.input_size, 3), np.uint8), []
    for photo, group in _by_photo(points).items():
        image = Image.open(photo).convert("RGB")
        for point in group:
            for k in range(shifts):
                crops.append(_crop(image, point, recipe, rng if k else None))
                kept.append(point)
    return np.stack(crops), kept


def _crop(image: Image.Image, point: Point, recipe: HeadRecipe,
          rng: np.random.Generator | None) -> np.ndarray:
    fraction, x, y = recipe.crop_fraction, point.x, point.y
    if rng is not None:  # a click a little off, a photo a little bigger or smaller
        fraction *= rng.uniform(0.8, 1.25)
        side = fraction * min(image.size)
        x += rng.uniform(-0.12, 0.12) * side
        y += rng.uniform(-0.12, 0.12) * side
        x, y = min(max(x, 0), image.width), min(max(y, 0), image.height)
    box = crop_box(image.size, (x, y), min(fraction, 1.0))
    pixels = crop_pixels(image, box, 1.0, recipe.input_size)
    if rng is not None and rng.random() < 0.5:
        pixels = pixels[:, ::-1]
    return np.ascontiguousarray(pixels)


def _by_photo(points: list[Point]) -> dict[Path, list[Point]]:
    grouped: dict[Path, list[Point]] = {}
    for point in points:
        grouped.setdefault(point.photo, []).append(point)
    return grouped


def synthetic(recipe: HeadRecipe, photos: list[Path],
              rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """photo_data's recolored crops of the given training photos, for every label."""
    crops, labels = [], []
    for label in recipe.labels:
        for _ in range(recipe.synthetic_per_class):
            crops.append(photo_data.color_crop(rng, label, photos, recipe.crop_fraction,
                                               recipe.input_size))
            labels.append(label)
    return np.stack(crops).astype(np.uint8), labels


def emoji_scenes(recipe: HeadRecipe) -> tuple[np.ndarray, list[str]]:
    """Noto emoji composited into scenes (themes.py), for every theme: drawn, not photos."""
    from . import themes

    x, y = themes.dataset(themes.render_emoji(), recipe.emoji_per_class, recipe.seed,
                          recipe.crop_fraction, recipe.input_size)
    return x.astype(np.uint8), [recipe.labels[i] for i in y]


def with_alternatives(f: np.ndarray, y: np.ndarray, kept: list[Point], recipe: HeadRecipe,
                       index: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add a lighter copy of each labeled crop per other honest name (synthetic ones have none).

    Rows past len(kept) (generated crops) keep weight 1 and add nothing."""
    weights = np.ones(len(y), np.float32)
    if not recipe.also_weight:
        return f, y, weights
    rows = [(i, index[a]) for i, p in enumerate(kept) for a in p.also]
    if not rows:
        return f, y, weights
    extra = np.array([i for i, _ in rows])
    return (np.concatenate([f, f[extra]]), np.concatenate([y, [a for _, a in rows]]),
            np.concatenate([weights, np.full(len(rows), recipe.also_weight, np.float32)]))


def write_points(path: Path, model: str, points: list[Point]) -> None:
    """The real points the head learned from, in the `evaluate` format: `retrain` replays them."""
    import os

    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["image", "x", "y", model])
        for p in points:
            image = Path(os.path.relpath(p.photo, path.parent)).as_posix()
            writer.writerow([image, round(p.x, 1), round(p.y, 1), p.label])


