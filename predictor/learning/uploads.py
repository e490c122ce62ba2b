"""Add a model version a team brings: copy its files in, check it really works, register it.

`add_version` stages the files in a hidden folder beside the model's versions, checks them
(a format the loader supports, a labels file that parses, one output per label, one finite
prediction on a test crop), then renames the folder to `<model>/<version>/` and adds the
version to the manifest as a candidate (written atomically, as promote does). A refused
upload leaves nothing behind: no folder, the manifest untouched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import PinpointError, UnsafeModel, VersionRejected
from ..manifest import RETRAIN_INPUT, RETRAIN_OUTPUT, load_versions, manifest_path, spec_from_entry
from .unpack import check_folder, safe_unzip
from .versions import next_version, read_entries, register_candidate

MAX_MODEL_MB = 200.0  # a model file or SavedModel zip, and what the zip unpacks to
MAX_LABELS_BYTES = 1024 * 1024
# What a suffix means; a .zip must hold one SavedModel folder (with saved_model.pb).
SUFFIXES = {".keras": "keras", ".h5": "keras", ".pb": "graphdef", ".tflite": "tflite",
            ".zip": "savedmodel"}
NORMALISATIONS = {  # name -> (scale, offset): the model's input = pixel * scale + offset
    "unit": (1 / 255, 0.0),  # 0..1, Keras' Rescaling(1/255); TF-Hub retrain graphs
    "signed": (1 / 127.5, -1.0),  # -1..1, MobileNet retrain graphs
    "raw": (1.0, 0.0),  # 0..255
}
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_WRITING = threading.Lock()  # one upload at a time moves its folder in and edits the manifest


@dataclass(frozen=True)
class ModelFile:
    """An uploaded model: its file name (which says the format) and its bytes, or a path."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> ModelFile:
        """A model on disk: a file, or a SavedModel folder."""
        path = Path(path)
        return cls(path.name, path=path)


@dataclass(frozen=True)
class InputSpec:
    """How a crop becomes the model's input: size in pixels, then pixel * scale + offset."""

    size: int
    scale: float = 1 / 255
    offset: float = 0.0
    input_tensor: str = RETRAIN_INPUT  # frozen .pb graphs only
    output_tensor: str = RETRAIN_OUTPUT
    outputs: str = "probabilities"  # or "logits" (softmax applied by Pinpoint)


def add_version(manifest: str | os.PathLike | None, model: str, model_file: ModelFile,
                labels_text: str, inputs: InputSpec, *, version: str | None = None,
                crop_fraction: float | None = None,
                max_mb: float = MAX_MODEL_MB) -> dict[str, object]:
    """Check an uploaded version of `model` and register it as a candidate; return its entry.

    Raise VersionRejected (or ManifestError) naming what is wrong; nothing is left behind.
    """
    target_manifest = manifest_path(manifest)
    base = _active_entry(target_manifest, model)
    labels = parse_labels(labels_text)
    kind = _format_of(model_file)
    final = _new_folder(target_manifest, model, version)
    version, folder = final.name, final.parent
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=folder))
    try:
        files = _stage(staging, model_file, kind, labels, max_mb * 1024 * 1024)
        entry = {**_entry(model, version, kind, inputs, base, crop_fraction), **files}
        check_loads(_as_staged(entry, staging), target_manifest, labels)
        _move_in(staging, final, target_manifest, entry)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(folder.iterdir()):
            folder.rmdir()  # a refused first upload leaves no empty model folder either
    return entry


def _new_folder(manifest: Path, model: str, version: str | None) -> Path:
    """Where the version goes: `<model>/<version>/`, which neither the manifest nor the disk
    may already have (the default version: the next after the highest)."""
    entries = read_entries(manifest)
    version = _check_name(version or next_version(entries, model), "version")
    if any(e["name"] == model and str(e.get("version")) == version for e in entries):
        raise VersionRejected(f"the manifest already lists {model} {version}")
    final = manifest.parent / _check_name(model, "model name") / version
    if final.exists():
        raise VersionRejected(f"{model} {version} already has a folder ({final}); "
                              "choose another version")
    return final


def parse_labels(text: str) -> tuple[str, ...]:
    """One label a line (line number = class index); refuse empty, blank or repeated ones."""
    if len(text.encode("utf-8")) > MAX_LABELS_BYTES:
        raise VersionRejected(f"the labels file is over {MAX_LABELS_BYTES // 1024} KB")
    lines = [line.strip() for line in text.lstrip("\ufeff").splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise VersionRejected("the labels file is empty: one label a line is needed")
    if "" in lines:
        raise VersionRejected(f"the labels file has a blank line at line {lines.index('') + 1}")
    seen: dict[str, int] = {}
    for number, label in enumerate(lines, 1):
        if label in seen:
            raise VersionRejected(f"the labels file repeats {label!r} (lines {seen[label]} "
                                  f"and {number})")
        seen[label] = number
    return tuple(lines)


def check_loads(entry: dict, manifest: Path, labels: tuple[str, ...]) -> None:
    """Load the entry's model and predict once on a test crop; refuse non-finite scores."""
    from ..models import load_model

    try:
        spec = spec_from_entry(entry, manifest)
        loaded = load_model(spec, copies=1)  # checks the input size and one output per label
        scores = loaded.probabilities(_test_input(spec.input_size, spec.scale, spec.offset))
    except UnsafeModel as exc:  # refused before TensorFlow saw the graph: nothing ran
        raise VersionRejected(f"the model is refused: {exc}") from None
    except PinpointError as exc:
        raise VersionRejected(f"the model does not work as described: {exc}") from None
    except Exception as exc:  # a broken file can fail anywhere inside TensorFlow
        raise VersionRejected(f"the model could not be run: {type(exc).__name__}: "
                              f"{str(exc)[:200]}") from None
    if scores.shape != (1, len(labels)):
        raise VersionRejected(f"the model gives {scores.shape[-1]} scores for "
                              f"{len(labels)} labels")
    if not np.all(np.isfinite(scores)):
        raise VersionRejected("the model's scores on a test crop are not numbers (NaN or "
                              "infinite): it would answer nothing useful")


def _test_input(size: int, scale: float, offset: float) -> np.ndarray:
    """A colourful, fixed crop (gradients plus noise): real pixel values, not zeros."""
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    noise = np.random.default_rng(0).uniform(0, 255, (size, size)).astype(np.float32)
    pixels = np.stack([np.add.outer(ramp, 0 * ramp), np.add.outer(0 * ramp, ramp), noise], -1)
    return (pixels[None] * np.float32(scale) + np.float32(offset)).astype(np.float32)


def _active_entry(manifest: Path, model: str) -> dict:
    for entry in read_entries(manifest):
        if entry["name"] == model and entry.get("status", "active") == "active":
            return entry
    names = sorted({spec.name for spec in load_versions(manifest)})
    raise VersionRejected(f"the manifest has no model {model!r} to add a version to "
                          f"(it has {', '.join(names)})")


def _check_name(text: str, what: str) -> str:
    text = str(text).strip()
    if not _SAFE.fullmatch(text):
        raise VersionRejected(f"the {what} {text!r} must be 1-64 letters, digits, '.', '_' or "
                              "'-', starting with a letter or digit (it names a folder)")
    return text


def _format_of(model_file: ModelFile) -> str:
    if model_file.path is not None and model_file.path.is_dir():
        return "savedmodel"
    suffix = Path(model_file.name).suffix.lower()
    if suffix not in SUFFIXES:
        raise VersionRejected(f"{model_file.name!r} is not a format Pinpoint loads: give a "
                              "Keras .keras or .h5, a SavedModel folder as .zip, a frozen "
                              ".pb graph or a .tflite file")
    return SUFFIXES[suffix]


def _entry(model: str, version: str, kind: str, inputs: InputSpec, base: dict,
           crop_fraction: float | None) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": model, "version": version, "format": kind, "input_size": inputs.size,
        "scale": float(inputs.scale), "offset": float(inputs.offset),
        "crop_fraction": float(crop_fraction if crop_fraction is not None
                               else base["crop_fraction"]),
        "outputs": inputs.outputs}
    if kind == "graphdef":
        entry |= {"input_tensor": inputs.input_tensor, "output_tensor": inputs.output_tensor}
    return entry


def _stage(staging: Path, model_file: ModelFile, kind: str, labels: tuple[str, ...],
           max_bytes: float) -> dict[str, str]:
    """Write the model and labels into `staging`; return the entry's file fields (relative)."""
    (staging / "labels.txt").write_text("\n".join(labels) + "\n", encoding="utf-8")
    if kind == "savedmodel":
        name = _stage_savedmodel(staging / "savedmodel", model_file, max_bytes)
    else:
        name = "model" + Path(model_file.name).suffix.lower()
        _copy_file(model_file, staging / name, max_bytes)
    return {"file": name, "labels": "labels.txt"}


def _copy_file(model_file: ModelFile, out: Path, max_bytes: float) -> None:
    size = len(model_file.data) if model_file.data is not None else \
        _size_of(model_file.path)
    if size == 0:
        raise VersionRejected(f"{model_file.name} is empty")
    if size > max_bytes:
        raise VersionRejected(f"{model_file.name} is {size / 2**20:.0f} MB, over the "
                              f"{max_bytes / 2**20:.0f} MB limit for a model")
    if model_file.data is not None:
        out.write_bytes(model_file.data)
    else:
        assert model_file.path is not None
        shutil.copyfile(model_file.path, out)


def _size_of(path: Path | None) -> int:
    try:
        assert path is not None
        return path.stat().st_size
    except OSError as exc:
        raise VersionRejected(f"cannot read the model file: {exc}") from None


def _stage_savedmodel(out: Path, model_file: ModelFile, max_bytes: float) -> str:
    if model_file.path is not None and model_file.path.is_dir():
        check_folder(model_file.path, max_bytes, VersionRejected)
        shutil.copytree(model_file.path, out, symlinks=True)  # checked: holds no links
    else:
        zipped = out.parent / "upload.zip"
        _copy_file(model_file, zipped, max_bytes)
        safe_unzip(zipped, out, max_bytes, VersionRejected)
        zipped.unlink()
    found = [p.parent for p in out.rglob("saved_model.pb")]
    if len(found) != 1:
        raise VersionRejected(f"the zip must hold one SavedModel (one saved_model.pb), "
                              f"found {len(found)}")
    return str(found[0].relative_to(out.parent))


def _as_staged(entry: dict, staging: Path) -> dict:
    """The entry with paths pointing into the staging folder, for the checks."""
    return {**entry, "file": str(staging / entry["file"]),
            "labels": str(staging / entry["labels"]), "status": "candidate"}


def _move_in(staging: Path, final: Path, manifest: Path, entry: dict) -> None:
    relative = final.relative_to(manifest.parent).as_posix()
    entry.update(file=f"{relative}/{entry['file']}", labels=f"{relative}/{entry['labels']}")
    with _WRITING:
        if final.exists():  # an empty folder would be silently replaced by os.rename
            raise VersionRejected(f"{final} appeared while checking; choose another version")
        try:
            os.rename(staging, final)  # refused if another upload took the folder meanwhile
        except OSError as exc:
            raise VersionRejected(f"cannot create {final}: {exc}") from None
        _register_or_undo(manifest, entry, final, register_candidate)


def _register_or_undo(manifest: Path, entry: dict, final: Path,
                      register: Callable[[Path, dict], None]) -> None:
    try:
        register(manifest, {k: v for k, v in entry.items() if k != "status"})
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)
        raise
