# ruff: noqa: E501  (a reviewed data table: one theme per line reads better)
"""Reviewed table: which theme each of the detector's 80 COCO object classes speaks for.

Written from the class names alone, the way theme_map.py files emoji (the same calls where both
name a thing: trains and boats are vehicles, planes and luggage are travel, a potted plant is
gardening). Classes that say nothing about a theme (a person, a bench, a traffic light, a
book) or say two at once (a kite, an umbrella, a teddy bear) are left out.

The detector's answer for a class (the maximum of its heatmap over the crop, 0 to 1) then
votes for that class's theme: `prior()` is the matrix that turns the 80 maxima into theme
logits. The head adds it, at a weight chosen by cross-validation (heads.py): the detector knows
food, furniture and sports gear from COCO's photos, where the training photos show few.
"""

from __future__ import annotations

import numpy as np

from .centernet import COCO

# fmt: off
THEMES: dict[str, tuple[str, ...]] = {
    "Cars & Vehicles": ("bicycle", "car", "motorcycle", "bus", "train", "truck", "boat"),
    "Travel": ("airplane", "suitcase"),
    "Animals & Pets": ("bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
                       "giraffe"),
    "Men's Fashion": ("backpack", "tie"),
    "Women's Fashion": ("handbag",),
    "Sports & Fitness": ("frisbee", "skis", "snowboard", "sports_ball", "baseball_bat",
                         "baseball_glove", "skateboard", "surfboard", "tennis_racket"),
    "Food & Drink": ("bottle", "wine_glass", "cup", "fork", "knife", "spoon", "bowl", "banana",
                     "apple", "sandwich", "orange", "broccoli", "carrot", "hot_dog", "pizza",
                     "donut", "cake"),
    "Home & Decor": ("chair", "couch", "bed", "dining_table", "microwave", "oven", "toaster",
                     "sink", "refrigerator", "clock", "vase"),
    "Gardening": ("potted_plant",),
    "Technology": ("tv", "laptop", "mouse", "remote", "keyboard", "cell_phone"),
    "Beauty": ("hair_drier", "toothbrush"),
}
# fmt: on


def prior(labels: tuple[str, ...]) -> np.ndarray:
    """(80, len(labels)): 1 where a COCO class speaks for a label, else 0."""
    matrix = np.zeros((len(COCO), len(labels)), np.float32)
    for theme, classes in THEMES.items():
        if theme not in labels:
            continue
        for name in classes:
            matrix[COCO.index(name), labels.index(theme)] = 1.0
    return matrix
