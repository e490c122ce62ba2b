"""Draw labeling sheets for photos/eval_points.csv: each point's color crop, theme crop and
the photo with the point, 16 points a sheet, with the row id (line number - 2).

    python -m photos.contact_sheets OUTPUT_FOLDER [--ids 3,17,40]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from predictor import crop_box, crop_pixels
from predictor.images import decode_image
from predictor.manifest import load_manifest

HERE = Path(__file__).resolve().parent
CELL_W, CELL_H, SIDE = 470, 150, 128


def _cell(decoded, x: float, y: float, specs) -> list[Image.Image]:
    tiles = []
    for spec in specs:
        box = crop_box(decoded.size, (x, y), spec.crop_fraction)
        pixels = crop_pixels(decoded.image, box, decoded.scale, spec.input_size)
        tiles.append(Image.fromarray(pixels).resize((SIDE, SIDE), Image.Resampling.NEAREST))
    whole = decoded.image.copy()
    whole.thumbnail((190, SIDE))
    k = whole.width / decoded.size[0]
    box = crop_box(decoded.size, (x, y), specs[0].crop_fraction)
    draw = ImageDraw.Draw(whole)
    corners = (box.left * k, box.top * k, box.right * k, box.bottom * k)
    draw.rectangle(corners, outline="red", width=2)
    draw.ellipse((x * k - 3, y * k - 3, x * k + 3, y * k + 3), fill="yellow", outline="black")
    return [*tiles, whole]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--ids", help="comma-separated row ids (default: all)")
    args = parser.parse_args()
    specs = {s.name: s for s in load_manifest()}
    specs = [specs["color"], specs["theme"]]
    rows = list(csv.DictReader((HERE / "eval_points.csv").open()))
    ids = [int(i) for i in args.ids.split(",")] if args.ids else range(len(rows))
    font = ImageFont.load_default(size=14)
    args.out.mkdir(parents=True, exist_ok=True)
    needs = [(s.crop_fraction, s.input_size) for s in specs]
    for start in range(0, len(ids), 16):
        sheet = Image.new("RGB", (2 * CELL_W, 8 * CELL_H), "white")
        draw = ImageDraw.Draw(sheet)
        for n, i in enumerate(ids[start:start + 16]):
            row = rows[i]
            decoded = decode_image(HERE / row["image"], crop_needs=needs)
            x0, y0 = (n % 2) * CELL_W, (n // 2) * CELL_H
            for t, tile in enumerate(_cell(decoded, float(row["x"]), float(row["y"]), specs)):
                sheet.paste(tile, (x0 + 4 + t * (SIDE + 4), y0 + 18))
            draw.text((x0 + 4, y0 + 1), f"#{i} {Path(row['image']).stem}", fill="black", font=font)
        sheet.save(args.out / f"sheet_{start // 16:02d}.png")


if __name__ == "__main__":
    main()
