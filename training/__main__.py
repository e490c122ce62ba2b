"""`python -m training color|theme|all [--version V] [--smoke] [--out DIR]`: rebuild models.

Without --version each model's current version is built (models/<name>/<version>/); the
manifest lists every version found in the output folder. `python -m training cards`
re-scores every version on the labeled photo sets and rewrites metrics.json and the cards.
--measure-saved measures and documents weights a run saved before it stopped, without training.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before anything imports TensorFlow
warnings.filterwarnings("ignore", message=".*shuffle=True.*")

from .train import (  # noqa: E402
    HISTORY,
    RECIPES,
    ROOT,
    build_data,
    measure_saved,
    refresh_cards,
    smoke,
    train,
    validation_data,
)


def main(argv: list[str] | None = None) -> int:
    """Generate data for every model first (forked workers), then train them one by one."""
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("model", choices=[*RECIPES, "all", "cards"])
    parser.add_argument(
        "--smoke", action="store_true", help="one short epoch on a few hundred crops"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "models", help="models folder (default: models/)"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes for data generation")
    parser.add_argument(
        "--version", help="an earlier version to rebuild (default: the current one)"
    )
    parser.add_argument(
        "--measure-saved", action="store_true",
        help="no training: measure and document the weights a stopped run saved in --out",
    )
    args = parser.parse_args(argv)
    if args.model == "cards":
        for folder in refresh_cards(args.out):
            print(f"rewrote {folder / 'MODEL_CARD.md'}")
        return 0
    names = list(RECIPES) if args.model == "all" else [args.model]
    if args.version:
        missing = [n for n in names if (n, args.version) not in HISTORY]
        if missing:
            parser.error(f"no recipe for version {args.version} of {', '.join(missing)}")
    chosen = [HISTORY[(n, args.version)] if args.version else RECIPES[n] for n in names]
    recipes = [smoke(r) if args.smoke else r for r in chosen]
    if args.measure_saved:
        for recipe in recipes:
            metrics = measure_saved(recipe, validation_data(recipe, args.workers), args.out)
            print(json.dumps({"model": recipe.name, "version": recipe.version,
                              "validation_top1": round(metrics["validation"]["top1"], 4)}))
        return 0
    arrays = {r.name: build_data(r, args.workers) for r in recipes}  # before TensorFlow loads
    for recipe in recipes:
        started = time.perf_counter()
        metrics = train(
            recipe, arrays.pop(recipe.name), args.out, verbose=1 if sys.stdout.isatty() else 2
        )
        val = metrics["validation"]
        print(
            json.dumps(
                {
                    "model": recipe.name,
                    "version": recipe.version,
                    "top1": round(val["top1"], 4),
                    "top5": round(val["top5"], 4),
                    "served": metrics["served"],
                    "latency_ms_median": metrics["latency_ms_median"],
                    "seconds": round(time.perf_counter() - started, 1),
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
