"""Color training crops: an object of the target color under the click, over other colors.

Colors come from the reviewed XKCD table in `color_names.py`; metallic labels get gradients
with highlights, "multi-colored" and "black & white" get patterns, the rest matte textures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from predictor import read_labels

from .color_names import CHROMATIC, label_palettes
from .scene import Window, camera, crop_window, grid, light, noise, pick_window, shape_mask

LABELS = read_labels(Path(__file__).resolve().parent.parent / "labels" / "colors.txt")
METALLIC = ("silver", "gold", "rose gold")
PATTERNED = ("multi-colored", "black & white")
SHORT_SIDE = (300, 1200)  # scene shorter side in pixels: crops of 45-180 px at fraction 0.15
_PALETTES = label_palettes()


def render(rng: np.random.Generator, label: str, fraction: float, input_size: int) -> np.ndarray:
    """Return one model-sized uint8 crop whose clicked point lies on a `label`-colored object."""
    window = pick_window(rng, SHORT_SIDE, fraction)
    h, w = window.height, window.width
    side = window.box.side
    background = _surface(rng, rng.choice([x for x in LABELS if x != label]), h, w, side)
    for _ in range(int(rng.integers(0, 3))):
        other = rng.choice([x for x in LABELS if x != label])
        centre = (rng.uniform(0, w), rng.uniform(0, h))
        m = shape_mask(rng, h, w, centre, side * rng.uniform(0.15, 0.5))[..., None]
        background = background * (1 - m) + _surface(rng, other, h, w, side) * m
    mask = _object_mask(rng, window, side)
    shadow = np.roll(mask, (int(rng.integers(-6, 7)), int(rng.integers(-6, 7))), axis=(0, 1))
    background = background * (1 - rng.uniform(0.1, 0.45) * shadow[..., None])
    obj = _surface(rng, label, h, w, side) * (1 + 0.12 * noise(rng, h, w, side))[..., None]
    rgb = background * (1 - mask[..., None]) + obj * mask[..., None]
    return crop_window(window, camera(rng, light(rng, rgb, window)), input_size)


def _object_mask(rng: np.random.Generator, window: Window, side: int) -> np.ndarray:
    px, py = window.local_point
    radius = side * (rng.uniform(1.2, 2.5) if rng.random() < 0.2 else rng.uniform(0.25, 0.9))
    off = rng.uniform(-0.3, 0.3, 2) * radius
    mask = shape_mask(rng, window.height, window.width, (px + off[0], py + off[1]), radius)
    iy, ix = min(int(py), window.height - 1), min(int(px), window.width - 1)
    if mask[iy, ix] < 0.5:  # the click must land on the object: fall back to a centred one
        mask = shape_mask(rng, window.height, window.width, (px, py), radius)
        mask[max(0, iy - 2) : iy + 3, max(0, ix - 2) : ix + 3] = 1.0
    return mask


def _surface(rng: np.random.Generator, label: str, h: int, w: int, side: int) -> np.ndarray:
    """A (h, w, 3) float texture that people would call `label`."""
    if label == "multi-colored":
        families = rng.choice(CHROMATIC, size=int(rng.integers(3, 6)), replace=False)
        return _pattern(rng, [_tone(rng, f) for f in families], h, w, side)
    if label == "black & white":
        return _pattern(rng, [_tone(rng, "black"), _tone(rng, "white")], h, w, side)
    if label in METALLIC:
        return _metal(rng, _tone(rng, label), h, w, side)
    return _matte(rng, _tone(rng, label), h, w, side)


def _tone(rng: np.random.Generator, label: str) -> np.ndarray:
    palette = _PALETTES[label]
    base = palette[rng.integers(len(palette))].astype(np.float32)
    return np.clip(base + rng.normal(0, 4, 3), 0, 255).astype(np.float32)


def _matte(rng: np.random.Generator, base: np.ndarray, h: int, w: int, side: int) -> np.ndarray:
    kind = rng.integers(4)
    value: np.ndarray
    if kind == 0:  # plain, with gentle unevenness
        value = 1 + 0.05 * noise(rng, h, w, side * 0.5)
    elif kind == 1:  # fabric weave
        p = rng.uniform(2, 6)
        value = 1 + 0.08 * np.sin(grid(h, w, 0) * 2 * np.pi / p) * np.sin(
            grid(h, w, np.pi / 2) * 2 * np.pi / p
        )
    elif kind == 2:  # wood-like grain
        t = grid(h, w, rng.uniform(0, np.pi)) + 6 * noise(rng, h, w, side * 0.3)
        value = 1 + 0.1 * np.sin(t * 2 * np.pi / rng.uniform(4, 12))
    else:  # speckled / grainy
        value = 1 + rng.normal(0, 0.06, (h, w)).astype(np.float32)
    return base[None, None, :] * value[..., None]


def _metal(rng: np.random.Generator, base: np.ndarray, h: int, w: int, side: int) -> np.ndarray:
    t = grid(h, w, rng.uniform(0, np.pi)) / (side * rng.uniform(0.3, 1.2))
    value = (
        0.75
        + 0.35 * np.sin(2 * np.pi * t + rng.uniform(0, 6.3))
        + 0.1 * noise(rng, h, w, side * 0.2)
    )
    glint = np.exp(-(((t - rng.uniform(t.min(), t.max())) / rng.uniform(0.03, 0.15)) ** 2))
    rgb = base[None, None, :] * value[..., None]
    return rgb + rng.uniform(0.4, 0.9) * glint[..., None] * (255 - rgb)


def _pattern(rng: np.random.Generator, colors: list, h: int, w: int, side: int) -> np.ndarray:
    n, period = len(colors), side * rng.uniform(0.1, 0.35)
    kind = rng.integers(4)
    if kind == 0:  # stripes
        index = np.floor(grid(h, w, rng.uniform(0, np.pi)) / period).astype(int) % n
    elif kind == 1:  # checks
        a = rng.uniform(0, np.pi / 2)
        index = (
            np.floor(grid(h, w, a) / period) + np.floor(grid(h, w, a + np.pi / 2) / period)
        ).astype(int) % n
    elif kind == 2:  # dots on a ground
        u, v = grid(h, w, 0) / period % 1 - 0.5, grid(h, w, np.pi / 2) / period % 1 - 0.5
        dots = (u * u + v * v < rng.uniform(0.05, 0.15)).astype(int)
        index = dots * (1 + (np.floor(grid(h, w, 0) / period).astype(int) % max(1, n - 1)))
    else:  # patchwork blobs
        index = (np.floor((noise(rng, h, w, period) + 1.5) * n) % n).astype(int)
    return np.stack(colors)[np.clip(index, 0, n - 1)]


def dataset(
    n_per_class: int, seed: int, fraction: float, input_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return (crops uint8 (n, s, s, 3), label indices) with n_per_class crops of every label."""
    rng = np.random.default_rng(seed)
    ys = np.repeat(np.arange(len(LABELS)), n_per_class)
    xs = np.stack([render(rng, LABELS[y], fraction, input_size) for y in ys])
    return xs, ys.astype(np.int32)
