"""Every recipe of the default models: each version ever shipped, the one `make models` builds,
and the one the manifest serves. A leaf: train.py trains them, report.py describes them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = 7


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a model: data sizes, input, crop, network and optimiser."""

    name: str
    labels_file: str
    input_size: int
    crop_fraction: float
    n_train: int  # crops per class
    n_val: int
    epochs: int
    batch: int = 64
    lr: float = 3e-3
    width: float = 1.0
    head: str = "gap"
    dropout: float = 0.2
    weight_decay: float = 0.0  # AdamW's decoupled decay; 0 = plain Adam
    flip: bool = True
    seed: int = SEED
    version: str = "1.0.0"
    emoji_limit: int | None = None  # emoji per theme, smoke runs only
    photo_train: int = 0  # per class: crops made from the training-pool photos (2.0.0 on)
    photo_val: int = 0
    init_from: str | None = None  # start from this committed version's weights (fine-tune)
    photo_eval: bool = True  # score on the labeled photo sets (photos/*_points.csv) at the end

    @property
    def labels_path(self) -> Path:
        return ROOT / "labels" / self.labels_file


# Every version ever shipped, so `python -m training color --version 1.0.0` still rebuilds it.
HISTORY = {
    ("color", "1.0.0"): Recipe("color", "colors.txt", 64, 0.15, 1200, 200, 16, head="flatten"),
    ("theme", "1.0.0"): Recipe("theme", "themes.txt", 80, 0.5, 1100, 150, 12, width=1.25),
    # 2.0.0: 1.0.0's weights fine-tuned on 1.0.0's generator plus crops of real photos
    # (training pool only; `photo_data.py`). The synthetic validation crops are 1.0.0's.
    ("color", "2.0.0"): Recipe(
        "color", "colors.txt", 64, 0.15, 200, 200, 6, lr=1e-3, head="flatten",
        version="2.0.0", photo_train=500, photo_val=40, init_from="1.0.0",
    ),
    ("theme", "2.0.0"): Recipe(
        "theme", "themes.txt", 80, 0.5, 500, 150, 6, lr=1e-3, width=1.25,
        version="2.0.0", photo_train=300, init_from="1.0.0",
    ),
}


def version_key(version: str) -> tuple:
    """Sort key of a version string such as 3.1.0 (a part that is not a number counts as 0)."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


# The version `make models` builds, per model.
CURRENT = {"color": "2.0.0", "theme": "2.0.0"}
RECIPES = {name: HISTORY[(name, version)] for name, version in CURRENT.items()}
# The version the manifest serves, per model (the others are listed as "retired"): a
# head on a frozen photo backbone (training/heads.py, `python -m training.heads all`).
ACTIVE = {"color": "3.1.0", "theme": "3.3.0"}
