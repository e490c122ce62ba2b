"""What a person looks at to name a color, as TensorFlow ops inside the color feature extractor.

For a crop in [0, 1] sRGB: CIELAB of every pixel; the mean, spread and quartiles of L, a and b
in the crop's centre (the clicked object) and the whole crop (its surroundings, which carry the
light); the centre minus the surroundings (a rough grey-world correction a head can weigh);
and, per label, the share of centre pixels whose nearest named color (the XKCD survey's names
for that label, in CIELAB) is that label: the nearest-named-color heuristic as soft votes, so
a head starts from the baseline and learns where it is wrong.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

_M = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
               [0.0193339, 0.1191920, 0.9503041]], np.float32)  # fmt: skip
_WHITE = np.array([0.95047, 1.0, 1.08883], np.float32)
VOTE_GRID = 12  # a region is average-pooled to about this many pixels a side before voting
SHARPNESS = 0.05  # soft votes: exp(-SHARPNESS * squared Lab distance), normalised per pixel


def rgb_to_lab(rgb: tf.Tensor) -> tf.Tensor:
    """sRGB in [0, 1], shape (..., 3), to CIELAB (D65), in TensorFlow ops TFLite can run."""
    c = tf.clip_by_value(rgb, 0.0, 1.0)
    linear = tf.where(c <= 0.04045, c / 12.92, tf.pow((c + 0.055) / 1.055, 2.4))
    xyz = tf.tensordot(linear, tf.constant((_M / _WHITE[:, None]).T), axes=1)
    f = tf.where(xyz > 0.008856, tf.pow(tf.maximum(xyz, 1e-6), 1.0 / 3.0),
                 7.787 * xyz + 16.0 / 116.0)
    return tf.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]),
                     200.0 * (f[..., 1] - f[..., 2])], axis=-1)


class ColorStatistics(keras.layers.Layer):
    """(batch, size, size, 3) in [0, 1] -> (batch, features): Lab statistics and soft votes."""

    def __init__(self, palettes: np.ndarray, owners: np.ndarray, labels: int, **kwargs):
        super().__init__(**kwargs)
        self.palettes = np.asarray(palettes, np.float32)  # (P, 3) Lab of every named color
        self.owners = np.asarray(owners, np.int32)  # (P,) the label each named color is for
        self.labels = labels

    def call(self, x: tf.Tensor) -> tf.Tensor:
        size = x.shape[1]
        lab = rgb_to_lab(x)
        lo, hi = size // 4, size - size // 4
        centre = lab[:, lo:hi, lo:hi, :]
        parts = [_moments(centre), _moments(lab), _moments(centre)[:, :3] - _moments(lab)[:, :3],
                 _chroma_hue(tf.reduce_mean(centre, axis=[1, 2])),
                 self._votes(centre), self._votes(lab)]
        return tf.concat(parts, axis=-1)

    def _votes(self, lab: tf.Tensor) -> tf.Tensor:
        k = max(1, lab.shape[1] // VOTE_GRID)
        pooled = tf.nn.avg_pool2d(lab, k, k, "VALID")
        pixels = tf.reshape(pooled, (-1, pooled.shape[1] * pooled.shape[2], 1, 3))
        distance = tf.reduce_sum(tf.square(pixels - self.palettes[None, None]), axis=-1)
        nearest = tf.reduce_min(distance, axis=-1, keepdims=True)
        weights = tf.exp(-SHARPNESS * (distance - nearest))  # (batch, pixels, P)
        weights = weights / tf.reduce_sum(weights, axis=-1, keepdims=True)
        per_label = tf.tensordot(weights, tf.one_hot(self.owners, self.labels), axes=1)
        return tf.reduce_mean(per_label, axis=1)

    def get_config(self) -> dict:
        return {**super().get_config(), "palettes": self.palettes.tolist(),
                "owners": self.owners.tolist(), "labels": self.labels}


def _moments(lab: tf.Tensor) -> tf.Tensor:
    """Mean and standard deviation of L, a and b over the pixels."""
    flat = tf.reshape(lab, (-1, lab.shape[1] * lab.shape[2], 3))
    mean = tf.reduce_mean(flat, axis=1)
    std = tf.sqrt(tf.reduce_mean(tf.square(flat - mean[:, None]), axis=1) + 1e-6)
    return tf.concat([mean, std], axis=-1)


def _chroma_hue(mean_lab: tf.Tensor) -> tf.Tensor:
    a, b = mean_lab[:, 1], mean_lab[:, 2]
    chroma = tf.sqrt(a * a + b * b + 1e-6)
    return tf.stack([chroma, a / chroma, b / chroma], axis=-1)


def palettes(labels: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every named color of the labels that have one (Lab), and which label each is for."""
    from .photo_data import _palettes_lab

    table = _palettes_lab()
    rows, owners = [], []
    for i, label in enumerate(labels):
        for lab in table.get(label, ()):
            rows.append(lab)
            owners.append(i)
    return np.array(rows, np.float32), np.array(owners, np.int32)
