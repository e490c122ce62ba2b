"""Write photos/train_theme_points.csv: the theme model's own training data, as labeled points.

The theme model learns from crops of the training-pool photos whose theme people agree on
(`train_themes.csv`); this file lists a 3 x 3 grid of points on each of those photos with
that theme, in the `evaluate` CSV format, so `retrain theme` can replay them (the manifest's
`training_data`). Run `python -m photos.theme_points` after changing train_themes.csv.
"""

from __future__ import annotations

import csv
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
GRID = (0.25, 0.5, 0.75)  # fractions of width and height


def theme_points(themes_csv: Path = HERE / "train_themes.csv") -> list[dict[str, object]]:
    """A grid of points per themed training photo, each labeled with the photo's theme."""
    rows = []
    with themes_csv.open(newline="", encoding="utf-8") as handle:
        for entry in csv.DictReader(handle):
            theme = (entry.get("theme") or "").strip()
            if not theme:
                continue
            with Image.open(HERE / "train" / entry["file"]) as photo:
                width, height = photo.size
            rows += [{"image": f"train/{entry['file']}", "x": round(width * fx),
                      "y": round(height * fy), "theme": theme} for fy in GRID for fx in GRID]
    return rows


def main() -> None:
    rows = theme_points()
    out = HERE / "train_theme_points.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["image", "x", "y", "theme"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} points on {len({r['image'] for r in rows})} photos to {out}")


if __name__ == "__main__":
    main()
