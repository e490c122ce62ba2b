"""Render the test images whose answers tests know (drawn here with Pillow, no outside images).

Run: .venv/bin/python tests/rendered/render_samples.py   (writes the .jpg files next to this file)
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent


def _sky_and_ground(size, sky, ground, horizon):
    image = Image.new("RGB", size, sky)
    ImageDraw.Draw(image).rectangle((0, horizon, size[0], size[1]), fill=ground)
    return image


def red_car(size=(1600, 1200)):
    image = _sky_and_ground(size, (150, 200, 240), (90, 90, 95), 700)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((350, 560, 1250, 820), 60, fill=(200, 20, 30))
    draw.rounded_rectangle((550, 430, 1030, 600), 50, fill=(190, 15, 25))
    draw.rectangle((600, 460, 980, 570), fill=(170, 210, 235))
    for cx in (520, 1080):
        draw.ellipse((cx - 110, 720, cx + 110, 940), fill=(20, 20, 20))
        draw.ellipse((cx - 50, 780, cx + 50, 880), fill=(190, 190, 195))
    return image


def fruit_bowl(size=(1600, 1200)):
    image = Image.new("RGB", size, (235, 222, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 800, size[0], size[1]), fill=(140, 90, 50))
    draw.chord((400, 500, 1200, 1050), 0, 180, fill=(245, 245, 250))
    fruit = (((480, 520, 700, 740), (230, 200, 20)), ((650, 470, 880, 700), (200, 30, 40)),
             ((840, 520, 1060, 740), (250, 140, 20)), ((600, 600, 800, 800), (80, 160, 40)))
    for box, color in fruit:
        draw.ellipse(box, fill=color)
    return image.filter(ImageFilter.GaussianBlur(2))


def beach(size=(1600, 1200)):
    image = _sky_and_ground(size, (120, 190, 245), (30, 110, 170), 520)
    draw = ImageDraw.Draw(image)
    draw.polygon([(0, 760), (size[0], 680), (size[0], size[1]), (0, size[1])], fill=(235, 215, 160))
    draw.ellipse((1200, 120, 1400, 320), fill=(255, 230, 120))
    draw.rectangle((300, 600, 320, 900), fill=(120, 80, 40))
    draw.pieslice((120, 500, 500, 760), 180, 360, fill=(240, 60, 120))
    return image


def living_room(size=(1600, 1200)):
    image = Image.new("RGB", size, (200, 190, 170))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 900, size[0], size[1]), fill=(120, 80, 50))
    draw.rounded_rectangle((300, 600, 1300, 900), 40, fill=(30, 60, 120))
    draw.rounded_rectangle((300, 480, 1300, 640), 40, fill=(25, 50, 105))
    draw.rectangle((1000, 150, 1400, 450), fill=(250, 250, 250))
    for i in range(8):  # a striped black & white picture on the wall
        draw.rectangle((1020 + i * 47, 170, 1043 + i * 47, 430), fill=(10, 10, 10))
    draw.ellipse((500, 650, 650, 800), fill=(200, 170, 60))  # a gold cushion
    return image


def phone_photo(size=(4032, 3024)):
    """A 12-megapixel 'phone photo' stored sideways with EXIF orientation 6, as phones do."""
    rng = random.Random(3)
    image = _sky_and_ground(size, (170, 205, 235), (70, 140, 60), 1800)
    draw = ImageDraw.Draw(image)
    for _ in range(40):  # flowers in many colours
        x, y, r = rng.randrange(100, 3900), rng.randrange(1900, 2900), rng.randrange(40, 110)
        color = rng.choice([(230, 40, 60), (250, 200, 30), (150, 60, 200), (250, 250, 250)])
        draw.ellipse((x - r, y - r, x + r, y + r), fill=color)
    draw.rectangle((1500, 900, 2500, 1800), fill=(180, 120, 80))  # a garden shed
    draw.polygon([(1400, 900), (2600, 900), (2000, 500)], fill=(120, 40, 30))
    return image.rotate(90, expand=True)  # stored sideways; EXIF 6 turns it upright


def main() -> None:
    for name, render in (("red_car", red_car), ("fruit_bowl", fruit_bowl), ("beach", beach),
                         ("living_room", living_room)):
        render().save(HERE / f"{name}.jpg", quality=85)
    exif = Image.Exif()
    exif[0x0112] = 6
    phone_photo().save(HERE / "phone_photo_12mp.jpg", quality=80, exif=exif)


if __name__ == "__main__":
    main()
