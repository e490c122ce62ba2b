"""Do testers' labels lift photos the model has not seen? The loop, end to end, from a shell.

    python -m bench.loop_lift [--model color|theme|all] [--cast warm|cool|none] [--replay K]

The evaluation photos (photos/eval_points.csv, labeled by eye) are split by photo into two
halves, A and B. For color every photo is put under a new light first (`--cast`, default a
strong warm cast, as under old tungsten bulbs); for theme the photos stay as they are: they
are the new domain (themes the base model's training photos barely show). Then, as a team
would, with the product's own commands, each in its own process:

1. `labels import` half A's labels into a fresh store;
2. `retrain MODEL` (the new version learns from the store's labels, replaying its own
   training data);
3. `compare MODEL BASE NEW --on` half B (the photos no label came from), and on the original,
   uncast evaluation set (what the new version may have forgotten).

It prints top-1 before and after on both, in points. A benchmark that prints figures, never a
test; tests/test_loop_direction.py checks the direction on a tiny fixture.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .manifests import absolute_copy

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "photos" / "eval_points.csv"
CASTS = {"warm": (1.0, 0.78, 0.5), "cool": (0.7, 0.85, 1.0), "none": (1.0, 1.0, 1.0)}


def half_of(image: str) -> str:
    """"A" or "B" for a photo, fixed by a hash of its name: the same split on every run."""
    return "A" if int(hashlib.sha256(image.encode()).hexdigest()[:8], 16) % 2 == 0 else "B"


def write_sets(folder: Path, model: str, cast: str) -> dict[str, Path]:
    """Cast copies of the evaluation photos and the labeled CSVs A, B and the uncast set."""
    with EVAL.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if (r.get(model) or "").strip()]
    photos = folder / "photos"
    photos.mkdir(parents=True, exist_ok=True)
    factor = np.array(CASTS[cast], np.float32)
    for image in sorted({r["image"] for r in rows}):
        pixels = np.asarray(Image.open(EVAL.parent / image).convert("RGB"), np.float32)
        cast_pixels = np.clip(pixels * factor, 0, 255).astype(np.uint8)
        Image.fromarray(cast_pixels).save(photos / Path(image).name, quality=92)
    sets = {}
    columns = ["image", "x", "y", model, f"{model}_also"]
    for name, keep, where in (("A", "A", photos), ("B", "B", photos),
                              ("original", None, EVAL.parent)):
        path = folder / f"{name}.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            for r in rows:
                if keep is None or half_of(r["image"]) == keep:
                    image = (f"photos/{Path(r['image']).name}" if keep
                             else (where / r["image"]).resolve())
                    writer.writerow([image, r["x"], r["y"], r[model], r.get(f"{model}_also", "")])
        sets[name] = path
    return sets


def run(args: list[str], env: dict[str, str]) -> dict:
    """Run one `python -m predictor` command with --json; return what it printed."""
    done = subprocess.run([sys.executable, "-m", "predictor", *args, "--json"], env=env,
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"python -m predictor {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


def lift(model: str, cast: str, replay: float, folder: Path) -> dict:
    """The loop on one model; returns top-1 before and after on half B and on the original set."""
    sets = write_sets(folder, model, cast if model == "color" else "none")
    manifest = absolute_copy(folder)
    env = {**os.environ, "PINPOINT_DB_URL": f"sqlite:///{folder / 'store.db'}"}
    common = ["--manifest", str(manifest)]
    imported = run([*common, "labels", "import", str(sets["A"]), "--tester", "bench"], env)
    trained = run([*common, "retrain", model, "--replay", str(replay)], env)
    base, new = trained["base_version"], trained["version"]
    figures = {"model": model, "cast": cast if model == "color" else "none",
               "labels_imported": imported["imported"], "retrain": trained}
    for name in ("B", "original"):
        compared = run([*common, "compare", model, base, new, "--on", str(sets[name])], env)
        figures[name] = {"n": compared["a"]["n"],
                         "before": compared["a"]["top1"], "after": compared["b"]["top1"]}
    return figures


def _print(figures: dict) -> None:
    model, trained = figures["model"], figures["retrain"]
    print(f"{model}: labels from half A ({trained['train_points']} trained on, "
          f"{trained['eval_points']} held out by retrain), {trained['seconds']} s to retrain")
    for name, title in (("B", f"half B, {figures['cast']} cast (no label came from it)"),
                        ("original", "original evaluation set, no cast")):
        f = figures[name]
        gained = 100 * (f["after"] - f["before"])
        print(f"  {title}: top-1 {f['before']:.1%} -> {f['after']:.1%} ({gained:+.1f} points, "
              f"{f['n']} points)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loop_lift", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=["color", "theme", "all"], default="all")
    parser.add_argument("--cast", choices=list(CASTS), default="warm")
    parser.add_argument("--replay", type=float, default=2.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = ["color", "theme"] if args.model == "all" else [args.model]
    results = []
    for model in names:
        with tempfile.TemporaryDirectory(prefix=f"loop-{model}-") as folder:
            results.append(lift(model, args.cast, args.replay, Path(folder)))
        if not args.json:
            _print(results[-1])
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
