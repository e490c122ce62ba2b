"""Training crops made from real photographs (the training pool in photos/train/).

Color: a real region of a real photo, recolored. Around the clicked point the generator
takes the photo's own texture and shading (CIELAB lightness relative to the point's
surroundings) and moves lightness and chroma to a color people name `label` (the XKCD
survey table in `color_names.py`, jittered in CIELAB). The recolored area is either the
whole crop or the photo's own region of similar color around the point, so edges and
context are real. Metals (silver, gold, rose gold) get stronger contrast and white
highlights; then the whole window gets a real-looking light cast (warm to cool white
balance, exposure), sometimes a shadow, and camera noise, blur and JPEG. "multi-colored"
crops are real photo regions where three or more color families each cover a good share
(hue-rotated for variety), or a real texture whose lightness bands are painted in several
families; "black & white" crops are a real texture's lightness pattern pushed to black
and white.

Theme: crops of training photos whose theme was labeled by eye (photos/train_themes.csv).

Crops are cut the way the product cuts them (`predictor.crop_box` + `crop_pixels`). Photos
are split by photo: a few training-pool photos are held out (`split`) and give the
`photo_val` crops, never training ones. The evaluation set (photos/eval/) is never read.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import numpy as np
from PIL import Image

from predictor import Box, crop_box, crop_pixels, read_labels

from .color_names import CHROMATIC, label_palettes
from .scene import MARGIN, camera, grid, noise

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "photos"
TRAIN_DIR = PHOTOS / "train"
THEMES_CSV = PHOTOS / "train_themes.csv"
COLOR_LABELS = read_labels(ROOT / "labels" / "colors.txt")
THEME_LABELS = read_labels(ROOT / "labels" / "themes.txt")
METALLIC = ("silver", "gold", "rose gold")
STORED_LONG_SIDE = 1024  # photos are kept in memory at this size, then scaled per crop
HOLDOUT_EVERY = 8  # every 8th training-pool photo (sorted by name) is held out
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


class MissingPhotos(RuntimeError):
    """photos/train/ is missing or empty."""


def pool(first: int = 0) -> list[Path]:
    """Every training-pool photo, sorted by name (only the first `first` when it is not 0:
    photos added later sort after the ones a version was built on, so it rebuilds the same)."""
    found = sorted(p for p in TRAIN_DIR.glob("*") if p.suffix.lower() in SUFFIXES)
    if not found:
        raise MissingPhotos(f"no photos in {TRAIN_DIR}")
    return found[:first] if first else found


def split(first: int = 0) -> tuple[list[Path], list[Path]]:
    """(training photos, held-out photos): split by photo, fixed by name order."""
    photos = pool(first)
    held = [p for i, p in enumerate(photos) if i % HOLDOUT_EVERY == HOLDOUT_EVERY // 2]
    return [p for p in photos if p not in held], held


@functools.cache
def load(path: Path) -> np.ndarray:
    """The photo as uint8 RGB, its long side at most STORED_LONG_SIDE."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    scale = STORED_LONG_SIDE / max(image.size)
    if scale < 1:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(image, np.uint8)


def preload(paths: list[Path], fraction: float | None = None) -> None:
    """Load photos once in this process (before forking workers, so they share them)."""
    for path in paths:
        load(path)
        if fraction is not None:
            multi_spots(path, fraction)


@functools.lru_cache(maxsize=1)
def photo_themes() -> dict[str, str]:
    """{file name: theme} from photos/train_themes.csv (rows without a known theme skipped)."""
    if not THEMES_CSV.exists():
        return {}
    with THEMES_CSV.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    out = {}
    for row in rows:
        theme = (row.get("theme") or "").strip()
        image = Path((row.get("file") or row.get("image") or "").strip()).name
        if image and theme in THEME_LABELS:
            out[image] = theme
    return out


def facts(model: str) -> dict[str, object]:
    """What the photo part of the data was made from, for metrics.json and the card."""
    train, held = split()
    out: dict[str, object] = {"photo_pool": len(train) + len(held), "photo_train": len(train),
                              "photo_held_out": len(held),
                              "photo_held_out_names": [p.name for p in held]}
    if model == "theme":
        themes = photo_themes()
        out = {"photo_pool": len(train) + len(held),
               "photo_train_with_theme": sum(p.name in themes for p in pool())}
    return out


# ---------------------------------------------------------------- CIELAB (sRGB, D65)

_M = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]],
              np.float32)
_M_INV = np.linalg.inv(_M).astype(np.float32)
_WHITE = np.array([0.95047, 1.0, 1.08883], np.float32)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB in 0-255 (any shape ending in 3) to CIELAB."""
    c = np.clip(np.asarray(rgb, np.float32) / 255.0, 0, 1)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _M.T / _WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1
    )


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB to sRGB 0-255 float (out-of-gamut values clipped)."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], -1)
    xyz = np.where(f > 0.2069, f**3, (f - 16 / 116) / 7.787) * _WHITE
    linear = np.clip(xyz @ _M_INV.T, 0, 1)
    c = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    return np.clip(c * 255, 0, 255)


# Changes to the reviewed table for photo crops, from the trainer's tuning points (never
# the evaluation set): the survey's "light navy"-like names are the blue of a clear sky,
# which people call blue; brick and terracotta reds are red to people, and without them
# brick walls were learned as rose gold.
PHOTO_DROP = {"navy": ("light navy", "light navy blue", "marine blue", "prussian blue")}
PHOTO_ADD = {"red": ("brick red", "brick", "brownish red", "dark coral", "reddish", "indian red")}


@functools.lru_cache(maxsize=1)
def _palettes_lab() -> dict[str, np.ndarray]:
    from .color_names import LABEL_XKCD, xkcd_rgb

    table = xkcd_rgb()
    out = {}
    for label in label_palettes():
        names = [n for n in LABEL_XKCD[label] if n not in PHOTO_DROP.get(label, ())]
        names += PHOTO_ADD.get(label, ())
        out[label] = rgb_to_lab(np.array([table[n] for n in names], np.float32))
    return out


# ---------------------------------------------------------------- where the crop falls


Click = tuple[float, float]


def _window(rng: np.random.Generator, photo: np.ndarray, fraction: float,
            point: Click | None = None) -> tuple[np.ndarray, Box, Click]:
    """Scale the photo at random, click, and return (window pixels, box in window, click).

    The window is the product's crop box plus a margin, cut from the scaled photo.
    """
    h, w = photo.shape[:2]
    scale = rng.uniform(0.45, 1.25)  # scenes of ~460-1280 px on the long side
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    if point is None:
        point = (rng.uniform(0, size[0]), rng.uniform(0, size[1]))
    else:
        point = (point[0] * scale, point[1] * scale)
    box = crop_box(size, point, fraction)
    left, top = max(0, box.left - MARGIN), max(0, box.top - MARGIN)
    right, bottom = min(size[0], box.right + MARGIN), min(size[1], box.bottom + MARGIN)
    source = (left / scale, top / scale, min(w, right / scale), min(h, bottom / scale))
    pixels = Image.fromarray(photo).resize(
        (right - left, bottom - top), Image.Resampling.BILINEAR, box=source
    )
    local = Box(box.left - left, box.top - top, box.right - left, box.bottom - top)
    return np.asarray(pixels, np.float32), local, (point[0] - left, point[1] - top)


def _cut(pixels: np.ndarray, box: Box, input_size: int) -> np.ndarray:
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return crop_pixels(image, box, 1.0, input_size)


# ---------------------------------------------------------------- color crops


def _region(rng: np.random.Generator, lab: np.ndarray, click: tuple[float, float],
            side: int) -> np.ndarray:
    """A soft mask: the whole window, or the photo's own region of similar color at the click."""
    h, w = lab.shape[:2]
    if rng.random() < 0.35:
        return np.ones((h, w), np.float32)
    cx, cy = min(int(click[0]), w - 1), min(int(click[1]), h - 1)
    r = max(1, int(side * 0.06))
    core = lab[max(0, cy - r) : cy + r + 1, max(0, cx - r) : cx + r + 1].reshape(-1, 3)
    ref = np.median(core, axis=0)
    diff = lab - ref
    distance = np.sqrt(0.5 * diff[..., 0] ** 2 + diff[..., 1] ** 2 + diff[..., 2] ** 2)
    threshold = rng.uniform(10, 35)
    # The object must fill a fair part of the crop's centre, or the name is not the click's.
    centre = distance[h // 4 : h - h // 4, w // 4 : w - w // 4]
    while (centre < threshold).mean() < 0.4 and threshold < 80:
        threshold *= 1.5
    mask = 1 / (1 + np.exp((distance - threshold) / 3))
    mask = np.asarray(
        Image.fromarray((mask * 255).astype(np.uint8)).filter(_blur(rng.uniform(0.5, 2))),
        np.float32,
    ) / 255
    mask[max(0, cy - r) : cy + r + 1, max(0, cx - r) : cx + r + 1] = 1.0
    return mask


def _blur(radius: float):
    from PIL import ImageFilter

    return ImageFilter.GaussianBlur(radius)


def _target(rng: np.random.Generator, label: str) -> np.ndarray:
    palette = _palettes_lab()[label]
    lab = palette[rng.integers(len(palette))] + rng.normal(0, [3, 2.5, 2.5])
    return lab.astype(np.float32)


def _recolor(rng: np.random.Generator, lab: np.ndarray, mask: np.ndarray, label: str,
             click: tuple[float, float], side: int) -> np.ndarray:
    """Move the masked region to `label`, keeping its lightness texture and shading."""
    target = _target(rng, label)
    weights = mask > 0.5
    source_l = lab[..., 0]
    ref_l = float(np.median(source_l[weights])) if weights.any() else float(source_l.mean())
    metal = label in METALLIC
    plain_gray = label in ("gray", "white", "black")  # stone, concrete, snow: strong texture
    contrast = rng.uniform(1.1, 2.0) if metal else rng.uniform(0.35, 1.6 if plain_gray else 1.05)
    # shading range, soft-limited so the name still holds
    spread = 45.0 if metal else 35.0 if plain_gray else 25.0
    new_l = target[0] + spread * np.tanh(contrast * (source_l - ref_l) / spread)
    if metal:  # highlights: streaks toward white, as on polished metal
        h, w = source_l.shape
        t = grid(h, w, rng.uniform(0, np.pi)) / (side * rng.uniform(0.3, 1.2))
        t = t + 0.3 * noise(rng, h, w, side * 0.3)
        glint = np.exp(-(((t - rng.uniform(t.min(), t.max())) / rng.uniform(0.04, 0.2)) ** 2))
        glint = glint * rng.uniform(0.3, 1.0)
        new_l = new_l + glint * (100 - new_l)
    else:
        glint = 0.0
    new_l = np.clip(new_l, 0, 100)
    # Chroma follows lightness (a shaded surface is darker and less colorful) and fades to
    # white in highlights; a little of the photo's own hue texture is kept.
    ratio = np.clip((new_l + 8) / (target[0] + 8), 0.15, 1.3)
    ratio = ratio * np.clip((101 - new_l) / 12, 0, 1) ** 0.5 * (1 - 0.8 * glint)
    keep = rng.uniform(0.0, 0.35)
    src_ab = lab[..., 1:] - np.median(lab[..., 1:][weights], axis=0) if weights.any() else 0
    new_ab = target[None, None, 1:] * ratio[..., None] + keep * src_ab
    recolored = np.concatenate([new_l[..., None], new_ab], -1)
    return lab * (1 - mask[..., None]) + recolored * mask[..., None]


def _cast(rng: np.random.Generator, rgb: np.ndarray) -> np.ndarray:
    """A light cast on the whole window: warm (tungsten) to cool (shade) and an exposure."""
    t = rng.normal(0, 0.45)
    tint = rng.normal(0, 0.03)
    gains = np.array([1 + 0.12 * t, 1 + tint, 1 - 0.16 * t], np.float32)
    gains *= rng.uniform(0.7, 1.25) / gains.mean()
    return rgb * gains[None, None, :]


def _shadow(rng: np.random.Generator, rgb: np.ndarray, side: int) -> np.ndarray:
    if rng.random() > 0.25:
        return rgb
    h, w = rgb.shape[:2]
    edge = grid(h, w, rng.uniform(0, 2 * np.pi))
    edge = edge - rng.uniform(edge.min(), edge.max()) + 6 * noise(rng, h, w, side * 0.3)
    soft = 1 / (1 + np.exp(-edge / rng.uniform(1, side * 0.1)))
    return rgb * (1 - rng.uniform(0.25, 0.55) * soft)[..., None]


def _families(lab: np.ndarray) -> np.ndarray:
    """Per pixel, the index in CHROMATIC of the nearest family's XKCD color; -1 if achromatic."""
    names, protos = [], []
    for k, family in enumerate(CHROMATIC):
        for proto in _palettes_lab()[family]:
            names.append(k)
            protos.append(proto)
    flat = lab.reshape(-1, 3)
    distance = ((flat[:, None, :] - np.array(protos, np.float32)[None]) ** 2).sum(-1)
    nearest = np.array(names)[distance.argmin(1)]
    nearest[np.hypot(flat[:, 1], flat[:, 2]) <= 18] = -1
    return nearest.reshape(lab.shape[:2])


# Hue groups: a "multi-colored" crop needs three of these, not three shades of one hue.
HUE_GROUP = {"red": 0, "burgundy": 0, "pink": 0, "orange": 1, "brown": 1, "beige": 1,
             "yellow": 2, "olive": 2, "green": 3, "teal": 4, "blue": 5, "navy": 5, "purple": 6}


@functools.cache
def multi_spots(path: Path, fraction: float) -> np.ndarray:
    """Points (x, y in stored-photo pixels) whose crop holds >= 3 hue groups (HUE_GROUP), each
    >= 12 % of the crop and none over 60 %: where a person would say "multi-colored"."""
    photo = load(path)
    h, w = photo.shape[:2]
    factor = 128 / max(h, w)
    small = np.asarray(
        Image.fromarray(photo).resize((max(4, round(w * factor)), max(4, round(h * factor)))),
        np.float32,
    )
    families = _families(rgb_to_lab(small))
    sh, sw = families.shape
    side = max(3, round(fraction * min(sh, sw)))
    groups = np.where(families >= 0, np.array([HUE_GROUP[f] for f in CHROMATIC])[families], -1)
    shares = []
    for k in range(max(HUE_GROUP.values()) + 1):
        sums = np.pad((groups == k).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        box = sums[side:, side:] - sums[:-side, side:] - sums[side:, :-side] + sums[:-side, :-side]
        shares.append(box / side**2)
    shares_ = np.stack(shares)
    good = ((shares_ >= 0.12).sum(0) >= 3) & (shares_.max(0) < 0.6)
    ys, xs = np.nonzero(good)
    return np.stack([(xs + side / 2) / factor, (ys + side / 2) / factor], -1).astype(np.float32)


def _multi(rng: np.random.Generator, paths: list[Path], fraction: float,
           input_size: int) -> np.ndarray:
    """A real multi-hued region (hue-rotated), or a real texture painted in several families."""
    spots = [(p, multi_spots(p, fraction)) for p in paths]
    spots = [(p, s) for p, s in spots if len(s)]
    if spots and rng.random() < 0.6:
        path, points = spots[rng.integers(len(spots))]
        x, y = points[rng.integers(len(points))]
        pixels, box, _click = _window(rng, load(path), fraction, (float(x), float(y)))
        whole = rgb_to_lab(pixels)
        angle = rng.uniform(0, 2 * np.pi) if rng.random() < 0.6 else 0.0
        c, s = np.cos(angle), np.sin(angle)
        a, b = whole[..., 1].copy(), whole[..., 2].copy()
        whole[..., 1], whole[..., 2] = c * a - s * b, s * a + c * b
        whole[..., 1:] *= rng.uniform(0.9, 1.4)
        return _finish(rng, lab_to_rgb(whole), box, input_size)
    photo = load(paths[rng.integers(len(paths))])
    pixels, box, _click = _window(rng, photo, fraction)
    lab = rgb_to_lab(pixels)
    families = rng.choice(CHROMATIC, size=int(rng.integers(3, 6)), replace=False)
    levels = len(families)
    height, width = lab.shape[:2]
    source = lab[..., 0] + 10 * noise(rng, height, width, max(4, box.side * 0.15))
    edges = np.quantile(source, np.linspace(0, 1, levels + 1)[1:-1])
    index = np.digitize(source, edges)
    if rng.random() < 0.5:  # patches instead of lightness bands
        index = (index + (noise(rng, height, width, box.side * 0.2) > 0)) % levels
    targets = np.stack([_target(rng, f) for f in families])
    painted = targets[index]
    painted[..., 0] = painted[..., 0] + 0.4 * (lab[..., 0] - lab[..., 0].mean())
    return _finish(rng, lab_to_rgb(painted), box, input_size)


def _black_white(rng: np.random.Generator, paths: list[Path], fraction: float,
                 input_size: int) -> np.ndarray:
    """A real texture's lightness pattern pushed to black and white."""
    for _ in range(10):
        photo = load(paths[rng.integers(len(paths))])
        pixels, box, _click = _window(rng, photo, fraction)
        lab = rgb_to_lab(pixels)
        inner = lab[box.top : box.bottom, box.left : box.right, 0]
        if inner.std() > 8:
            break
    level = np.quantile(inner, rng.uniform(0.3, 0.7))
    softness = rng.uniform(1, 6)
    white = 1 / (1 + np.exp(-(lab[..., 0] - level) / softness))
    dark, light = _target(rng, "black"), _target(rng, "white")
    out = dark[None, None] * (1 - white[..., None]) + light[None, None] * white[..., None]
    out[..., 0] += rng.uniform(0, 0.25) * (lab[..., 0] - lab[..., 0].mean())
    return _finish(rng, lab_to_rgb(out), box, input_size)


def _finish(rng: np.random.Generator, rgb: np.ndarray, box: Box, input_size: int) -> np.ndarray:
    rgb = _shadow(rng, _cast(rng, rgb), box.side)
    return _cut(camera(rng, rgb).astype(np.float32), box, input_size)


# Labels a crop of `label` may honestly look like after shading and light casts; a crop
# whose centre is nearest to anything else is drawn again (see `nearest_label`).
NEAR = {
    "white": ("gray", "silver", "beige"), "gray": ("silver", "black", "white", "beige"),
    "black": ("gray", "navy", "brown"), "silver": ("gray", "white"),
    "gold": ("yellow", "beige", "orange", "brown", "olive"),
    "rose gold": ("pink", "beige", "brown"),
    "brown": ("orange", "burgundy", "beige", "black", "olive"),
    "beige": ("white", "gold", "brown", "gray", "yellow"), "red": ("burgundy", "orange", "pink"),
    "burgundy": ("red", "brown", "purple"), "orange": ("red", "brown", "yellow", "gold"),
    "yellow": ("gold",), "green": ("olive", "teal"), "olive": ("green", "brown", "gold"),
    "teal": ("blue", "green"), "blue": ("navy", "teal", "purple"),
    "navy": ("blue", "black", "purple"), "purple": ("navy", "pink", "burgundy", "blue"),
    "pink": ("red", "purple", "rose gold"),
}


def nearest_label(crop: np.ndarray) -> str:
    """The label with the XKCD color nearest (CIELAB) to the median of the crop's centre."""
    h, w = crop.shape[:2]
    centre = np.median(crop[h // 3 : h - h // 3, w // 3 : w - w // 3].reshape(-1, 3), axis=0)
    lab = rgb_to_lab(centre.astype(np.float32))
    best = {label: float(((p - lab) ** 2).sum(-1).min()) for label, p in _palettes_lab().items()}
    return min(best, key=best.__getitem__)


def color_crop(rng: np.random.Generator, label: str, paths: list[Path], fraction: float,
               input_size: int) -> np.ndarray:
    """One model-sized crop of a real photo region recolored so that people would say `label`."""
    if label == "multi-colored":
        return _multi(rng, paths, fraction, input_size)
    if label == "black & white":
        return _black_white(rng, paths, fraction, input_size)
    for _ in range(4):
        crop = _plain(rng, label, paths, fraction, input_size)
        if nearest_label(crop) in (label, *NEAR[label]):
            break
    return crop


def _plain(rng: np.random.Generator, label: str, paths: list[Path], fraction: float,
           input_size: int) -> np.ndarray:
    photo = load(paths[rng.integers(len(paths))])
    pixels, box, click = _window(rng, photo, fraction)
    lab = rgb_to_lab(pixels)
    mask = _region(rng, lab, click, box.side)
    rgb = lab_to_rgb(_recolor(rng, lab, mask, label, click, box.side))
    return _finish(rng, rgb, box, input_size)


# ---------------------------------------------------------------- theme crops


def theme_crop(rng: np.random.Generator, photo: np.ndarray, fraction: float,
               input_size: int) -> np.ndarray:
    """One crop of a themed photo at a random point, lit and shot like the color crops."""
    pixels, box, _click = _window(rng, photo, fraction)
    if rng.random() < 0.5:
        pixels = pixels[:, ::-1]
        box = Box(pixels.shape[1] - box.right, box.top, pixels.shape[1] - box.left, box.bottom)
    return _finish(rng, pixels, box, input_size)


# ---------------------------------------------------------------- datasets


def dataset(model: str, part: str, n_per_class: int, seed: int, fraction: float,
            input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """n_per_class photo crops per label: `part` "train" uses training photos, else held-out.

    The theme model learns from every themed photo of the pool (few photos carry a theme,
    and none of its choices were tuned on held-out photos), so it has no photo validation.
    """
    train, held = split()
    paths = train if part == "train" else held
    if model == "theme":
        paths = pool() if part == "train" else []
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    if model == "color":
        for y, label in enumerate(COLOR_LABELS):
            for _ in range(n_per_class):
                xs.append(color_crop(rng, label, paths, fraction, input_size))
                ys.append(y)
    else:
        themes = photo_themes()
        for y, label in enumerate(THEME_LABELS):
            mine = [p for p in paths if themes.get(p.name) == label]
            for i in range(n_per_class if mine else 0):
                xs.append(theme_crop(rng, load(mine[i % len(mine)]), fraction, input_size))
                ys.append(y)
    if not xs:
        return np.zeros((0, input_size, input_size, 3), np.uint8), np.zeros(0, np.int32)
    return np.stack(xs), np.array(ys, np.int32)
