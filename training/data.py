"""Build a model's training and validation arrays once, in fixed chunks over a few processes.

Chunks and their seeds are fixed, so the arrays are the same whatever the number of workers.
Run this before TensorFlow is imported: workers are forked.
"""

from __future__ import annotations

import functools
import multiprocessing
import sys
from typing import Any

import numpy as np

CHUNKS = 8
VAL_SHARE = 0.2  # share of each theme's emoji groups held out for validation


@functools.lru_cache(maxsize=1)
def _theme_split(seed: int, val_share: float, limit: int | None):
    from . import themes

    return themes.split(themes.render_emoji(limit), val_share, seed)


def _chunk(job: tuple) -> tuple[np.ndarray, np.ndarray]:
    model, part, n, seed, fraction, size, limit, split_seed = job
    if model.startswith("photo-"):
        from . import photo_data

        return photo_data.dataset(model[6:], part, n, seed, fraction, size)
    if model == "color":
        from . import colors

        return colors.dataset(n, seed, fraction, size)
    from . import themes

    train, val = _theme_split(split_seed, VAL_SHARE, limit)
    return themes.dataset(train if part == "train" else val, n, seed, fraction, size)


def build(
    model: str,
    n_train: int,
    n_val: int,
    seed: int,
    fraction: float,
    size: int,
    workers: int = 2,
    limit: int | None = None,
    photo_train: int = 0,
    photo_val: int = 0,
) -> dict[str, Any]:
    """Return x_train, y_train, x_val, y_val: n_train / n_val crops per class.

    With photo_train / photo_val, that many crops per class made from the training-pool
    photos (`photo_data.py`) are added; their validation crops come from held-out photos
    and are also returned apart as x_photo_val, y_photo_val.
    """
    jobs = []
    for kind, part, n, base in (
        (model, "train", n_train, seed * 100),
        (model, "val", n_val, seed * 100 + 50),
        (f"photo-{model}", "train", photo_train, seed * 100 + 20),
        (f"photo-{model}", "photo_val", photo_val, seed * 100 + 70),
    ):
        per = [n // CHUNKS + (i < n % CHUNKS) for i in range(CHUNKS)]
        jobs += [
            (kind, part, k, base + i, fraction, size, limit, seed) for i, k in enumerate(per) if k
        ]
    if photo_train or photo_val:
        from . import photo_data

        photo_data.preload(photo_data.pool(), fraction if model == "color" else None)  # shared
    results = []
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) if workers > 1 else _Serial() as pool:
        for i, result in enumerate(pool.imap(_chunk, jobs)):
            results.append(result)
            _bar(f"{model} data", i + 1, len(jobs))
    parts: dict[str, list] = {"train": [], "val": [], "photo_val": []}
    for job, result in zip(jobs, results, strict=True):
        parts[job[1]].append(result)
    out: dict[str, Any] = {}
    for part, chunks in parts.items():
        if chunks:
            out[f"x_{part}"] = np.concatenate([c[0] for c in chunks])
            out[f"y_{part}"] = np.concatenate([c[1] for c in chunks])
    if photo_train or photo_val:
        from . import photo_data

        out["photo_facts"] = photo_data.facts(model)
    return out


class _Serial:
    """A stand-in for a Pool that runs jobs in this process (smoke runs, tests)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def imap(self, fn, jobs):
        return map(fn, jobs)


def _bar(title: str, done: int, total: int, width: int = 30) -> None:
    filled = round(width * done / total)
    sys.stdout.write(f"\r{title} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stdout.write("\n" if done == total else "")
    sys.stdout.flush()
