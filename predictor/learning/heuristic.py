"""The baseline every color model must beat: name each pixel, then take the majority.

Each pixel of the model's crop gets the nearest named color in CIELAB (Euclidean distance)
among one prototype sRGB value per plain color label; the answer is the most voted name,
the ranking the names by votes. Prototypes are the XKCD color-survey values of those names
("dusty rose" stands in for rose gold, which the survey does not name).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PROTOTYPES: dict[str, str] = {
    "black": "#000000", "white": "#ffffff", "gray": "#929591", "silver": "#c5c9c7",
    "gold": "#dbb40c", "rose gold": "#c0737a", "brown": "#653700", "beige": "#e6daa6",
    "red": "#e50000", "burgundy": "#610023", "orange": "#f97306", "yellow": "#ffff14",
    "green": "#15b01a", "olive": "#6e750e", "teal": "#029386", "blue": "#0343df",
    "navy": "#01153e", "purple": "#7e1e9c", "pink": "#ff81c0",
}  # fmt: skip
_WHITE = np.array([0.95047, 1.0, 1.08883])  # D65
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
     [0.0193339, 0.1191920, 0.9503041]]
)  # fmt: skip


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Convert uint8 (or 0-255 float) sRGB of shape (..., 3) to CIELAB (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = (linear @ _RGB_TO_XYZ.T) / _WHITE
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )


def rank_colors(pixels: np.ndarray, labels: Sequence[str] | None = None) -> list[tuple[str, float]]:
    """Return (name, share of pixels) for every prototype name, most voted first.

    `labels` limits the vote to those names (e.g. the model's label list); names without a
    prototype, such as "multi-colored", can never win. Ties keep the prototype order.
    """
    names = [n for n in PROTOTYPES if labels is None or n in labels]
    protos = srgb_to_lab(np.array([_hex(PROTOTYPES[n]) for n in names]))
    lab = srgb_to_lab(pixels[..., :3]).reshape(-1, 3)
    nearest = np.argmin(((lab[:, None, :] - protos[None, :, :]) ** 2).sum(axis=-1), axis=1)
    votes = np.bincount(nearest, minlength=len(names)) / max(1, len(nearest))
    order = sorted(range(len(names)), key=lambda i: -votes[i])
    return [(names[i], float(votes[i])) for i in order]


def _hex(code: str) -> tuple[int, int, int]:
    return int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16)
