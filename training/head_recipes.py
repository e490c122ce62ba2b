"""The recipes of the head versions (3.0.0 on): a leaf, so heads.py trains them and
head_cards.py describes them without importing each other."""

from __future__ import annotations

from dataclasses import dataclass

from predictor import read_labels

from .recipes import ROOT

BACKBONES = ROOT / "models" / "backbone"
# The training photos before the theme_* ones (photos/collect.py): what color 3.0.0 and theme
# 3.0.0 / 3.1.0 were built on, so `make models` rebuilds them the same.
BEFORE_THEME_PHOTOS = 94


@dataclass(frozen=True)
class HeadRecipe:
    """A frozen backbone, the crop it sees, the extra features and the head's training data."""

    name: str
    labels_file: str
    input_size: int
    crop_fraction: float
    backbone: str = "mobilenet_v2"
    taps: tuple[str, ...] = ("out_relu",)  # backbone layers whose global average is read
    symmetric: bool = False  # feed the backbone [-1, 1] (Keras ImageNet MobileNetV2's range)
    color_statistics: bool = False
    synthetic_per_class: int = 0  # photo_data's generated crops per label (color)
    shifts: int = 6  # crops per labeled point: the point itself plus shifted, rescaled ones
    random_points: int = 0  # per themed photo (theme)
    also_weight: float = 0.0  # a point's other honest names also train, at this weight
    emoji_per_class: int = 0  # emoji scenes per theme (themes.py): the themes no photo shows
    l2: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1)  # tried, chosen on held-out photos
    l2_folds: int = 0  # >0: choose L2 by this many folds by photo, not one held-out split
    batch: int = 64  # rows per step of the head's training (larger: a steadier fit)
    balances: tuple[float, ...] = (1.0,)  # class weights tried, as powers of the balanced
    # weights: 1 weighs every label alike, 0 every point alike (labels as often as photos show them)
    prior_weights: tuple[float, ...] = ()  # centernet: the class votes' weights tried (coco_themes)
    pool_photos: int = 0  # read the first N training photos by name (0: all of them)
    more_points: tuple[str, ...] = ()  # labeled-point files (photos/) added after a version
    seed: int = 3
    version: str = "3.0.0"

    @property
    def labels(self) -> tuple[str, ...]:
        return read_labels(ROOT / "labels" / self.labels_file)


HEAD_RECIPES = {
    "color": HeadRecipe("color", "colors.txt", 96, 0.15, taps=("block_12_add",),
                        color_statistics=True, synthetic_per_class=40, also_weight=0.3,
                        more_points=("train_color_points_2.csv",), l2=(1e-3, 1e-2),
                        l2_folds=5, batch=1024, balances=(1.0, 0.5, 0.0), version="3.1.0"),
    "theme": HeadRecipe("theme", "themes.txt", 224, 1.0, backbone="centernet", taps=(),
                        random_points=24, l2=(1e-3, 1e-2, 3e-2), l2_folds=5,
                        prior_weights=(0.0, 1.0, 2.0, 4.0, 8.0), version="3.3.0"),
}
# Every head version committed under models/, with the recipe that built it: color 3.0.0 read
# the first round of color points only, with three times the recolored crops, every label
# weighed alike and a noisier fit; theme 3.2.0 saw crops of half the shorter side; theme 3.1.0
# had no class votes and emoji scenes for every theme; theme 3.0.0 read mobilenet_v2 at 128 px.
HEAD_HISTORY = {(r.name, r.version): r for r in (
    *HEAD_RECIPES.values(),
    HeadRecipe("color", "colors.txt", 96, 0.15, taps=("block_12_add",), color_statistics=True,
               synthetic_per_class=120, also_weight=0.3, pool_photos=BEFORE_THEME_PHOTOS),
    HeadRecipe("theme", "themes.txt", 224, 0.5, backbone="centernet", taps=(),
               random_points=24, l2=(1e-3, 1e-2, 3e-2), l2_folds=5,
               prior_weights=(0.0, 1.0, 2.0, 4.0, 8.0), version="3.2.0"),
    HeadRecipe("theme", "themes.txt", 224, 0.5, backbone="centernet", taps=(),
               random_points=24, emoji_per_class=40, l2=(1e-3, 1e-2, 3e-2), l2_folds=5,
               pool_photos=BEFORE_THEME_PHOTOS, version="3.1.0"),
    HeadRecipe("theme", "themes.txt", 128, 0.5,
               taps=("block_13_expand_relu", "block_16_project_BN"), random_points=24,
               emoji_per_class=40, pool_photos=BEFORE_THEME_PHOTOS),
)}
