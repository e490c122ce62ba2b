"""A copy of models/manifest.toml that a benchmark may change: every path made absolute."""

from __future__ import annotations

from pathlib import Path

from predictor.learning.versions import read_entries, write_entries

ROOT = Path(__file__).resolve().parent.parent
PATH_KEYS = ("file", "labels", "training_data", "head")


def absolute_copy(folder: Path, change=None) -> Path:  # noqa: ANN001 - entry -> None
    """Write folder/manifest.toml: models/manifest.toml with absolute paths, each entry passed
    to `change` first when given; retrain and promote then write there, not in models/."""
    source = ROOT / "models" / "manifest.toml"
    entries = read_entries(source)
    for entry in entries:
        for key in PATH_KEYS:
            if key in entry:
                entry[key] = str((source.parent / entry[key]).resolve())
        if change is not None:
            change(entry)
    path = folder / "manifest.toml"
    write_entries(path, entries)
    return path
