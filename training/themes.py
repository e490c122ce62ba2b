"""Theme training crops: Noto color emoji, grouped by Unicode subgroup, composited into scenes.

Emoji are split into train and validation by emoji (skin tones and man/woman/person forms of
one emoji stay together), so validation measures how well the model generalises to unseen art.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from predictor import read_labels

from .scene import camera, crop_window, light, pick_window, shape_mask
from .theme_map import theme_of

LABELS = read_labels(Path(__file__).resolve().parent.parent / "labels" / "themes.txt")
FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_TEST = Path("/usr/share/unicode/emoji/emoji-test.txt")
SHORT_SIDE = (200, 480)  # scene shorter side: crops of 100-240 px at fraction 0.5
_LINE = re.compile(r"^([0-9A-F ]+?)\s*;\s*fully-qualified\s*#\s*\S+\s+E[\d.]+\s+(.+)$")
_GENDER = re.compile(r"^(man|woman|person|men|women|people) ")


class MissingEmojiData(RuntimeError):
    """The emoji font or emoji-test.txt is missing (fonts-noto-color-emoji, unicode-data)."""


@dataclass(frozen=True)
class Emoji:
    """One rendered emoji: its text, name, split group and theme index, and RGBA pixels."""

    text: str
    name: str
    group: str
    theme: int
    rgba: np.ndarray


def list_emoji() -> list[tuple[str, str, str]]:
    """Return (text, name, theme) for every fully-qualified emoji the theme table maps."""
    for path in (FONT, EMOJI_TEST):
        if not path.exists():
            raise MissingEmojiData(
                f"{path} is missing: apt-get install -y fonts-noto-color-emoji unicode-data"
            )
    found, subgroup = [], ""
    for line in EMOJI_TEST.read_text(encoding="utf-8").splitlines():
        if line.startswith("# subgroup:"):
            subgroup = line.split(":", 1)[1].strip()
        elif match := _LINE.match(line):
            text = "".join(chr(int(c, 16)) for c in match.group(1).split())
            theme = theme_of(subgroup, match.group(2).split(":")[0])
            if theme is not None:
                found.append((text, match.group(2), theme))
    return found


def render_emoji(limit_per_theme: int | None = None) -> list[Emoji]:
    """Render every mapped emoji once (size 109, embedded colors); limit = groups per theme."""
    font = ImageFont.truetype(str(FONT), 109)
    out: list[Emoji] = []
    counts: dict[str, set[str]] = {}
    for text, name, theme in list_emoji():
        group = _GENDER.sub("", name.split(":")[0])
        seen = counts.setdefault(theme, set())
        if limit_per_theme and group not in seen and len(seen) >= limit_per_theme:
            continue
        canvas = Image.new("RGBA", (160, 160), (0, 0, 0, 0))
        ImageDraw.Draw(canvas).text((8, 8), text, font=font, embedded_color=True)
        bbox = canvas.getbbox()
        if bbox is None or (bbox[2] - bbox[0]) > 1.4 * (bbox[3] - bbox[1]):
            continue  # nothing drawn, or a ZWJ sequence the font draws as several glyphs
        out.append(Emoji(text, name, group, LABELS.index(theme), np.asarray(canvas.crop(bbox))))
        seen.add(group)
    return out


def split(emoji: list[Emoji], val_share: float, seed: int) -> tuple[list[Emoji], list[Emoji]]:
    """Split by emoji group, per theme, so no group is in both; every theme gets >= 1 val group."""
    rng = np.random.default_rng(seed)
    train: list[Emoji] = []
    val: list[Emoji] = []
    for theme in range(len(LABELS)):
        groups = sorted({e.group for e in emoji if e.theme == theme})
        rng.shuffle(groups)
        held = set(groups[: max(1, round(val_share * len(groups)))]) if len(groups) > 1 else set()
        for e in emoji:
            if e.theme == theme:
                (val if e.group in held else train).append(e)
    return train, val


def render(rng: np.random.Generator, emoji: Emoji, fraction: float, input_size: int) -> np.ndarray:
    """Return one model-sized crop of a scene where the click lands on `emoji`."""
    window = pick_window(rng, SHORT_SIDE, fraction)
    h, w, side = window.height, window.width, window.box.side
    rgb = _background(rng, h, w, side)
    art = _jitter(rng, Image.fromarray(emoji.rgba))
    size = max(8, int(side * rng.uniform(0.35, 0.9)))
    art = art.resize((size, size), Image.Resampling.BILINEAR).rotate(
        rng.uniform(-30, 30), Image.Resampling.BILINEAR, expand=True
    )
    px, py = window.local_point
    off = rng.uniform(-0.15, 0.15, 2) * size
    scene = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
    scene.paste(art, (int(px + off[0] - art.width / 2), int(py + off[1] - art.height / 2)), art)
    rgb = np.asarray(scene, np.float32)
    if rng.random() < 0.3:  # partial occlusion by something in front
        m = shape_mask(
            rng,
            h,
            w,
            (px + rng.choice([-1, 1]) * size * 0.5, py + rng.uniform(-0.5, 0.5) * size),
            size * rng.uniform(0.1, 0.3),
        )[..., None]
        rgb = rgb * (1 - m) + rng.uniform(0, 255, 3).astype(np.float32) * m
    return crop_window(window, camera(rng, light(rng, rgb, window)), input_size)


def _background(rng: np.random.Generator, h: int, w: int, side: int) -> np.ndarray:
    from .colors import LABELS as COLOR_LABELS
    from .colors import _surface

    rgb = _surface(rng, rng.choice(COLOR_LABELS), h, w, side)
    for _ in range(int(rng.integers(0, 3))):
        m = shape_mask(
            rng, h, w, (rng.uniform(0, w), rng.uniform(0, h)), side * rng.uniform(0.1, 0.4)
        )
        rgb = (
            rgb * (1 - m[..., None])
            + _surface(rng, rng.choice(COLOR_LABELS), h, w, side) * m[..., None]
        )
    return rgb


def _jitter(rng: np.random.Generator, art: Image.Image) -> Image.Image:
    pixels = np.asarray(art, np.float32).copy()
    grey = pixels[..., :3].mean(axis=2, keepdims=True)
    saturation = rng.uniform(0.7, 1.3)
    pixels[..., :3] = (grey + (pixels[..., :3] - grey) * saturation) * rng.uniform(0.8, 1.2, 3)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGBA")


def dataset(
    emoji: list[Emoji], n_per_class: int, seed: int, fraction: float, input_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return n_per_class crops per theme, cycling through its emoji groups."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for theme in range(len(LABELS)):
        groups: dict[str, list[Emoji]] = {}
        for e in emoji:
            if e.theme == theme:
                groups.setdefault(e.group, []).append(e)
        names = sorted(groups)
        for i in range(n_per_class if names else 0):
            if i % len(names) == 0:
                rng.shuffle(names)  # every group once per round, each round in a new order
            members = groups[names[i % len(names)]]
            xs.append(render(rng, members[rng.integers(len(members))], fraction, input_size))
            ys.append(theme)
    return np.stack(xs), np.array(ys, np.int32)
