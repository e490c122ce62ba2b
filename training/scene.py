"""Shared scene tools: where the product would crop, textures, lighting, camera noise.

Every training crop is made the way the product makes it: pick a scene size and a clicked
point, ask `predictor.crop_box` for the square, and resize it with `predictor.crop_pixels`.
Only the window around that square is rendered, since nothing outside it reaches the model.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from predictor import Box, crop_box, crop_pixels

MARGIN = 6  # pixels rendered beyond the crop so blur has real neighbours


@dataclass(frozen=True)
class Window:
    """The rendered part of a scene: its origin and size in scene pixels, and the click."""

    left: int
    top: int
    width: int
    height: int
    point: tuple[float, float]
    box: Box

    @property
    def local_point(self) -> tuple[float, float]:
        return self.point[0] - self.left, self.point[1] - self.top


def pick_window(rng: np.random.Generator, short_side: tuple[int, int], fraction: float) -> Window:
    """Choose a scene size and a click, and return the window around the product's crop."""
    short = int(rng.integers(*short_side))
    long_ = int(short * rng.uniform(1.0, 1.6))
    size = (long_, short) if rng.random() < 0.6 else (short, long_)
    point = (rng.uniform(0, size[0]), rng.uniform(0, size[1]))
    box = crop_box(size, point, fraction)
    left, top = max(0, box.left - MARGIN), max(0, box.top - MARGIN)
    right, bottom = min(size[0], box.right + MARGIN), min(size[1], box.bottom + MARGIN)
    return Window(left, top, right - left, bottom - top, point, box)


def crop_window(window: Window, pixels: np.ndarray, input_size: int) -> np.ndarray:
    """Crop rendered window pixels exactly as the product crops the full scene."""
    local = Box(
        window.box.left - window.left,
        window.box.top - window.top,
        window.box.right - window.left,
        window.box.bottom - window.top,
    )
    return crop_pixels(Image.fromarray(pixels), local, 1.0, input_size)


def noise(rng: np.random.Generator, height: int, width: int, cells: float) -> np.ndarray:
    """Smooth noise in [-1, 1]-ish: random values on a coarse grid, resized up bicubically."""
    gh, gw = max(2, int(height / cells) + 2), max(2, int(width / cells) + 2)
    coarse = Image.fromarray(rng.standard_normal((gh, gw)).astype(np.float32), mode="F")
    return np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC), np.float32) / 1.5


def grid(height: int, width: int, angle: float) -> np.ndarray:
    """Pixel coordinate along direction `angle` (radians), shape (height, width)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return xx * np.cos(angle) + yy * np.sin(angle)


def shape_mask(
    rng: np.random.Generator, height: int, width: int, centre: tuple[float, float], radius: float
) -> np.ndarray:
    """A random filled shape (ellipse, rectangle, polygon or band) as a float mask in [0, 1]."""
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    cx, cy = centre
    rx, ry = radius * rng.uniform(0.7, 1.3), radius * rng.uniform(0.7, 1.3)
    kind = rng.integers(4)
    if kind == 0:
        draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=255)
    elif kind == 1:
        draw.rounded_rectangle((cx - rx, cy - ry, cx + rx, cy + ry), radius=radius * 0.2, fill=255)
    elif kind == 2:
        n = int(rng.integers(5, 10))
        angles = np.sort(rng.uniform(0, 2 * np.pi, n))
        radii = radius * rng.uniform(0.7, 1.3, n)
        draw.polygon(
            [(cx + r * np.cos(a), cy + r * np.sin(a)) for a, r in zip(angles, radii, strict=True)],
            fill=255,
        )
    else:
        a = rng.uniform(0, np.pi)
        dx, dy, w = np.cos(a) * 4 * radius, np.sin(a) * 4 * radius, max(2.0, ry)
        draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=255, width=int(2 * w))
    return np.asarray(mask, np.float32) / 255.0


def light(
    rng: np.random.Generator, rgb: np.ndarray, window: Window, strength: float = 1.0
) -> np.ndarray:
    """Apply brightness, white balance and a soft shading gradient across the scene."""
    h, w = rgb.shape[:2]
    gain = rng.uniform(0.8, 1.15) * rng.uniform(0.93, 1.07, 3).astype(np.float32)
    ramp = grid(h, w, rng.uniform(0, 2 * np.pi)) / max(h, w)
    shade = 1.0 + strength * rng.uniform(-0.15, 0.15) * (ramp - ramp.mean())
    return rgb * gain[None, None, :] * shade[..., None]


def camera(rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
    """Add sensor noise, optional blur and JPEG compression; return uint8."""
    rgb = rgb + rng.normal(0, rng.uniform(0, 4), rgb.shape).astype(np.float32)
    image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    if rng.random() < 0.4:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.5)))
    if rng.random() < 0.7:
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=int(rng.integers(35, 95)))
        image = Image.open(buffer).convert("RGB")
    return np.asarray(image, np.uint8)
