"""The model manifest: which models to serve, where their files are, how to feed them.

A manifest may list several versions of one model (several [[model]] entries with the same
`name`); each entry's `status` says what it is for:

- "active" (the default): the version the Predictor serves; exactly one per name;
- "candidate": a newer version being tried (evaluated beside the active one, not served);
- "retired": an older version kept loadable so it can still be compared.

A candidate or retired entry with `shadow = true` also answers every click, after the
active version has answered; its answers are stored apart and never shown to testers.
`training_data` names a labeled CSV (the `evaluate` format) of the model's own training
points, which `retrain` mixes in so a new version does not forget them.

`load_manifest` returns the active entries (what every server and the app load);
`load_versions` returns every entry, for `evaluate` and the Accuracy page.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ManifestError

FORMATS = ("keras", "savedmodel", "graphdef", "tflite")
STATUSES = ("active", "candidate", "retired")
RETRAIN_INPUT = "input:0"
RETRAIN_OUTPUT = "final_result:0"
DEFAULT_MANIFEST = Path(__file__).resolve().parent.parent / "models" / "manifest.toml"
_SUFFIX_FORMATS = {".keras": "keras", ".pb": "graphdef", ".tflite": "tflite"}


@dataclass(frozen=True)
class ModelSpec:
    """One manifest entry: a model file, its labels and how its input is prepared."""

    name: str
    path: Path
    format: str
    labels: tuple[str, ...]
    labels_path: Path
    version: str
    input_size: int
    scale: float
    offset: float
    crop_fraction: float
    input_tensor: str = RETRAIN_INPUT
    output_tensor: str = RETRAIN_OUTPUT
    outputs: str = "probabilities"
    status: str = "active"
    feature_tensor: str | None = None  # frozen graphs: where a retrained head reads features
    head: Path | None = None  # a head (head.npz) run on the frozen graph's (or TFLite) features
    shadow: bool = False  # a non-active version that also answers every click, unseen
    training_data: Path | None = None  # labeled points retrain replays so it does not forget

    def describe(self) -> dict[str, object]:
        """Return what a user needs to know about this model, JSON-ready."""
        return {
            "format": self.format,
            "version": self.version,
            "file": self.path.name,
            "labels": len(self.labels),
            "input_size": self.input_size,
            "crop_fraction": self.crop_fraction,
        }


def manifest_path(path: str | os.PathLike | None = None) -> Path:
    """Return the manifest to use: the argument, else $PINPOINT_MANIFEST, else models/.

    The path is made absolute here, once: every path written into or read from the manifest
    is relative to its folder, and a relative folder would be joined twice (once by the
    caller, once by the reader) or change meaning when the working folder does.
    """
    from .config import load_config

    chosen = path or load_config().manifest or DEFAULT_MANIFEST
    return Path(chosen).absolute()


def load_manifest(path: str | os.PathLike | None = None) -> list[ModelSpec]:
    """Read and check a manifest; return the active version of each model, in manifest order.

    Relative paths in the manifest are relative to its folder.
    """
    return [spec for spec in load_versions(path) if spec.status == "active"]


def load_versions(path: str | os.PathLike | None = None) -> list[ModelSpec]:
    """Read and check a manifest; return every entry (active, candidate and retired)."""
    path = manifest_path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"no model manifest at {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from None
    entries = document.get("model")
    if not isinstance(entries, list) or not entries:
        raise ManifestError(f"{path} lists no [[model]] entries")
    specs = [_spec(entry, path.parent, path) for entry in entries]
    active = [spec.name for spec in specs if spec.status == "active"]
    if len(set(active)) != len(active):
        raise ManifestError(
            f"{path}: active model names must be unique, got {active}; "
            'mark the other versions status = "candidate" or "retired"'
        )
    versions = [(spec.name, spec.version) for spec in specs]
    if len(set(versions)) != len(versions):
        raise ManifestError(f"{path}: each (name, version) must be unique, got {versions}")
    without = sorted({spec.name for spec in specs} - set(active))
    if without:
        raise ManifestError(f"{path}: no active version of {', '.join(without)}")
    return specs


def load_shadows(path: str | os.PathLike | None = None) -> list[ModelSpec]:
    """Return the versions marked `shadow = true`: they answer every click beside the active."""
    return [spec for spec in load_versions(path) if spec.shadow]


def read_labels(path: Path) -> tuple[str, ...]:
    """Read one label per line; line number is class index. Trailing blank lines are ignored."""
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read labels file {path}: {exc}") from None
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise ManifestError(f"labels file {path} is empty")
    if "" in lines:
        raise ManifestError(f"labels file {path} has a blank line at line {lines.index('') + 1}")
    return tuple(lines)


def spec_from_entry(entry: dict, manifest: str | os.PathLike | None = None) -> ModelSpec:
    """Check one [[model]] table as if it were in `manifest` (paths relative to its folder)."""
    path = manifest_path(manifest)
    return _spec(entry, path.parent, path)


def _spec(entry: object, folder: Path, manifest: Path) -> ModelSpec:
    if not isinstance(entry, dict):
        raise ManifestError(f"{manifest}: each [[model]] must be a table")
    name = _text(entry, "name", manifest)
    where = f"{manifest} model {name!r}"
    model_path = (folder / _text(entry, "file", where)).resolve()
    if not model_path.exists():
        raise ManifestError(f"{where}: model file {model_path} does not exist")
    labels_path = (folder / _text(entry, "labels", where)).resolve()
    return ModelSpec(
        name=name,
        path=model_path,
        format=_format(entry, model_path, where),
        labels=read_labels(labels_path),
        labels_path=labels_path,
        version=str(entry.get("version", "unversioned")),
        input_size=int(_number(entry, "input_size", where, 8, 1024, integer=True)),
        scale=_number(entry, "scale", where, -1e6, 1e6, default=1 / 255),
        offset=_number(entry, "offset", where, -1e6, 1e6, default=0.0),
        crop_fraction=_number(entry, "crop_fraction", where, 1e-3, 1.0),
        input_tensor=str(entry.get("input_tensor", RETRAIN_INPUT)),
        output_tensor=str(entry.get("output_tensor", RETRAIN_OUTPUT)),
        outputs=_choice(entry, "outputs", ("probabilities", "logits"), where),
        status=_choice(entry, "status", STATUSES, where),
        feature_tensor=_optional_text(entry, "feature_tensor", where),
        head=_head(entry, folder, where),
        shadow=_shadow(entry, where),
        training_data=_training_data(entry, folder, where),
    )


def _shadow(entry: dict, where: str) -> bool:
    value = entry.get("shadow", False)
    if not isinstance(value, bool):
        raise ManifestError(f"{where}: 'shadow' must be true or false, got {value!r}")
    if value and entry.get("status", "active") == "active":
        raise ManifestError(f"{where}: the active version cannot be its own shadow")
    return value


def _training_data(entry: dict, folder: Path, where: str) -> Path | None:
    if "training_data" not in entry:
        return None
    # Not checked here: serving never reads it, and a copy of models/ may leave it behind.
    return (folder / _text(entry, "training_data", where)).resolve()


def _optional_text(entry: dict, key: str, where: str) -> str | None:
    return _text(entry, key, where) if key in entry else None


def _head(entry: dict, folder: Path, where: str) -> Path | None:
    if "head" not in entry:
        return None
    # A TFLite feature extractor has one output, the features; a graph names its tensor.
    if "feature_tensor" not in entry and entry.get("format") != "tflite" \
            and not str(entry.get("file", "")).endswith(".tflite"):
        raise ManifestError(f"{where}: a 'head' needs the 'feature_tensor' it reads")
    path = (folder / _text(entry, "head", where)).resolve()
    if not path.is_file():
        raise ManifestError(f"{where}: head file {path} does not exist")
    return path


def _text(entry: dict, key: str, where: object) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"{where}: {key!r} must be a non-empty string")
    return value.strip()


def _format(entry: dict, model_path: Path, where: str) -> str:
    if "format" in entry:
        return _choice(entry, "format", FORMATS, where)
    if model_path.is_dir():
        return "savedmodel"
    guessed = _SUFFIX_FORMATS.get(model_path.suffix.lower())
    if guessed is None:
        raise ManifestError(f"{where}: cannot tell the format of {model_path.name}; set 'format'")
    return guessed


def _choice(entry: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    value = entry.get(key, allowed[0])
    if value not in allowed:
        raise ManifestError(f"{where}: {key!r} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _number(
    entry: dict,
    key: str,
    where: str,
    low: float,
    high: float,
    default: float | None = None,
    integer: bool = False,
) -> float:
    value = entry.get(key, default)
    wrong_type = isinstance(value, bool) or not isinstance(value, (int, float))
    if wrong_type or (integer and not isinstance(value, int)):
        kind = "an integer" if integer else "a number"
        raise ManifestError(f"{where}: {key!r} must be {kind}, got {value!r}")
    assert isinstance(value, (int, float))
    if not (math.isfinite(value) and low <= value <= high):
        raise ManifestError(f"{where}: {key!r} must be between {low:g} and {high:g}, got {value}")
    return value
