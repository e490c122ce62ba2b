"""Draw labeling sheets of candidate points on the training photos (photos/train/ only).

Each candidate shows the crop the color model sees (crop_box with crop fraction 0.15,
resized to 96 px, drawn at 1.5x) with its id; the photo thumbnail marks every candidate's
box and id, with tick marks every 200 original pixels for placing points by hand.

    python -m photos.train_sheets grid OUT [--photos a,b]   one sheet per photo: 5x4 grid
    python -m photos.train_sheets points OUT FILE.csv      16 hand-placed points a sheet
                                                          (FILE: image,x,y[,...]; id = row)

grid ids are PHOTO.K (PHOTO: index in the sorted train/ list, K: 0-19 row-major); the grid
points skip anything within 40 px of a photos/tuning_points.csv point. `grid` also writes
OUT/candidates.csv (id,image,x,y; the photos of this run) so labels can be joined back by id.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from predictor import crop_box, crop_pixels
from predictor.images import decode_image

HERE = Path(__file__).resolve().parent
FRACTION, INPUT = 0.15, 96
TILE = 144  # the 96 px crop at 1.5x
MIN_GAP = 40  # px from a tuning point
COLS, ROWS = 5, 4


def train_photos() -> list[Path]:
    return sorted((HERE / "train").glob("*.jpg"))


def _tuning() -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    with (HERE / "tuning_points.csv").open() as f:
        for row in csv.DictReader(f):
            points.setdefault(row["image"], []).append((float(row["x"]), float(row["y"])))
    return points


def grid_points(path: Path) -> list[tuple[int, float, float]]:
    """(k, x, y) for the 5x4 grid (4x5 on a portrait photo), far enough from tuning points."""
    with Image.open(path) as image:
        width, height = image.size
    cols, rows = (COLS, ROWS) if width >= height else (ROWS, COLS)
    near = _tuning().get(f"train/{path.name}", [])
    out = []
    for k in range(cols * rows):
        x = (k % cols + 0.5) * width / cols
        y = (k // cols + 0.5) * height / rows
        if all((x - a) ** 2 + (y - b) ** 2 >= MIN_GAP ** 2 for a, b in near):
            out.append((k, round(x), round(y)))
    return out


def _crop_tile(decoded, x: float, y: float) -> Image.Image:
    box = crop_box(decoded.size, (x, y), FRACTION)
    pixels = crop_pixels(decoded.image, box, decoded.scale, INPUT)
    return Image.fromarray(pixels).resize((TILE, TILE), Image.Resampling.NEAREST)


def _thumb(decoded, points, width: int, font, ticks: bool) -> Image.Image:
    whole = decoded.image.copy()
    whole.thumbnail((width, width))
    k = whole.width / decoded.size[0]
    draw = ImageDraw.Draw(whole)
    if ticks:
        for t in range(200, max(decoded.size), 200):
            if t < decoded.size[0]:
                draw.line((t * k, 0, t * k, 6), fill="white", width=2)
                draw.text((t * k + 2, 6), str(t), fill="white", font=font, stroke_width=1,
                          stroke_fill="black")
            if t < decoded.size[1]:
                draw.line((0, t * k, 6, t * k), fill="white", width=2)
                draw.text((8, t * k - 6), str(t), fill="white", font=font, stroke_width=1,
                          stroke_fill="black")
    for label, x, y in points:
        box = crop_box(decoded.size, (x, y), FRACTION)
        draw.rectangle((box.left * k, box.top * k, box.right * k, box.bottom * k),
                       outline="red", width=1)
        draw.ellipse((x * k - 3, y * k - 3, x * k + 3, y * k + 3), fill="yellow",
                     outline="black")
        if label:
            draw.text((x * k + 4, y * k - 8), label, fill="yellow", font=font, stroke_width=2,
                      stroke_fill="black")
    return whole


def grid(out: Path, names: list[str] | None) -> None:
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    rows = []
    for p, path in enumerate(train_photos()):
        if names and path.stem not in names:
            continue
        points = grid_points(path)
        decoded = decode_image(path, crop_needs=[(FRACTION, INPUT)])
        cols = COLS if decoded.size[0] >= decoded.size[1] else ROWS
        nrows = (COLS * ROWS) // cols
        thumb = _thumb(decoded, [(str(k), x, y) for k, x, y in points], 640, small, True)
        cell_w, cell_h = TILE + 6, TILE + 20
        sheet = Image.new("RGB", (cols * cell_w + thumb.width + 12,
                                  max(nrows * cell_h + 24, thumb.height + 24)), "white")
        draw = ImageDraw.Draw(sheet)
        draw.text((4, 2), f"photo {p}: {path.name}", fill="black", font=font)
        for k, x, y in points:
            rows.append([f"{p}.{k}", f"train/{path.name}", x, y])
            x0, y0 = (k % cols) * cell_w + 4, (k // cols) * cell_h + 24
            draw.text((x0, y0), f"{p}.{k}", fill="black", font=font)
            sheet.paste(_crop_tile(decoded, x, y), (x0, y0 + 16))
        sheet.paste(thumb, (cols * cell_w + 8, 24))
        sheet.save(out / f"grid_{p:02d}_{path.stem}.png")
    with (out / "candidates.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)


def points(out: Path, table: Path) -> None:
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=11)
    rows = list(csv.DictReader(table.open()))
    cell_w, cell_h = TILE + 200 + 12, TILE + 22
    cache: dict[str, object] = {}
    for start in range(0, len(rows), 16):
        sheet = Image.new("RGB", (4 * cell_w, 4 * cell_h), "white")
        draw = ImageDraw.Draw(sheet)
        for n, row in enumerate(rows[start:start + 16]):
            i = start + n
            if row["image"] not in cache:
                cache[row["image"]] = decode_image(HERE / row["image"],
                                                   crop_needs=[(FRACTION, INPUT)])
            decoded = cache[row["image"]]
            x, y = float(row["x"]), float(row["y"])
            x0, y0 = (n % 4) * cell_w + 4, (n // 4) * cell_h
            draw.text((x0, y0 + 2), f"#{i} {Path(row['image']).stem}", fill="black", font=font)
            sheet.paste(_crop_tile(decoded, x, y), (x0, y0 + 20))
            sheet.paste(_thumb(decoded, [("", x, y)], 200, small, False),
                        (x0 + TILE + 6, y0 + 20))
        sheet.save(out / f"{table.stem}_{start // 16:02d}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    g = sub.add_parser("grid")
    g.add_argument("out", type=Path)
    g.add_argument("--photos", help="comma-separated photo stems (default: all)")
    pt = sub.add_parser("points")
    pt.add_argument("out", type=Path)
    pt.add_argument("table", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.mode == "grid":
        grid(args.out, args.photos.split(",") if args.photos else None)
    else:
        points(args.out, args.table)


if __name__ == "__main__":
    main()
