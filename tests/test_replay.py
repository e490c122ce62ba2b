"""Retrain mixes in the model's own training data (manifest `training_data`) so it forgets less."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from predictor import load_versions
from predictor.learning.compare import compare_versions
from predictor.learning.replay import replay_points
from predictor.learning.retrain import RetrainOptions, retrain
from tests.model_factory import INPUT_SIZE, LABELS, manifest_entry

# foxtrot is a tan close to what white (delta) looks like under the amber cast: learning the
# cast from labels alone moves that region to delta, and the model forgets foxtrot.
COLORS = dict(zip(LABELS, [(220, 30, 30), (30, 30, 220), (30, 200, 40), (240, 240, 240),
                           (15, 15, 15), (235, 168, 84)], strict=True))
CAST = np.array([1.0, 0.74, 0.42])  # amber light, as in docs/cast_domain.py
NEW = ("delta", "bravo", "echo")  # the labels testers gave under the cast: half the classes


def write_set(folder: Path, name: str, labels: tuple[str, ...], n_each: int, seed: int,
              cast: bool = False) -> Path:
    """Flat noisy patches (two points each) of `labels`; returns the labeled CSV."""
    folder.mkdir(parents=True, exist_ok=True)
    rng, rows = np.random.default_rng(seed), []
    for i in range(n_each * len(labels)):
        label = labels[i % len(labels)]
        pixels = np.array(COLORS[label]) * rng.uniform(0.85, 1.1) + rng.normal(0, 10, (64, 64, 3))
        pixels = pixels * CAST if cast else pixels
        file = f"{name}_{i}.png"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / file)
        rows += [f"{file},{x},{y},{label}" for x, y in ((20, 22), (42, 40))]
    path = folder / f"{name}.csv"
    path.write_text("image,x,y,tiny\n" + "\n".join(rows) + "\n")
    return path


def base_model(path: Path, csv: Path) -> None:
    """Train the tiny architecture on the neutral set: the version testers start from."""
    import keras

    from predictor.learning.labeled_crops import from_file, inputs
    from predictor.manifest import spec_from_entry

    spec = spec_from_entry({"name": "tiny", "file": str(path.with_suffix(".stub")),
                            "format": "keras", "labels": str(csv.parent.parent / "labels.txt"),
                            "input_size": INPUT_SIZE, "crop_fraction": 0.5}, csv)
    points = from_file(spec, csv)
    x = inputs(spec, [p.crop for p in points])
    y = np.array([LABELS.index(p.label) for p in points])
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((INPUT_SIZE, INPUT_SIZE, 3)),
                              keras.layers.SeparableConv2D(8, 3, strides=2, activation="relu"),
                              keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(len(LABELS), activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=60, batch_size=16, verbose=0)
    model.save(path)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("replay")
    (root / "labels.txt").write_text("\n".join(LABELS) + "\n")
    original = write_set(root / "original", "original", tuple(LABELS), 4, seed=1)
    (root / "base.stub").write_bytes(b"")
    base_model(root / "base.keras", original)
    return {"root": root, "original": original,
            "cast": write_set(root / "cast", "cast", NEW, 8, seed=2, cast=True),
            "other_original": write_set(root / "check", "check", tuple(LABELS), 3, seed=3)}


def manifest(world: dict[str, Path], folder: Path) -> Path:
    path = folder / "manifest.toml"
    root = world["root"]
    path.write_text(manifest_entry("tiny", str(root / "base.keras"), version="1.0",
                                   labels=str(root / "labels.txt"),
                                   training_data=str(world["original"])))
    return path


def test_replay_is_capped_deterministic_and_keeps_held_out_photos_out(world, tmp_path):
    [spec] = load_versions(manifest(world, tmp_path))
    everything = replay_points(spec, 100, ratio=2.0)
    assert len(everything) == 48  # 24 original photos x 2 points, under the cap of 200
    first, again = (replay_points(spec, 10, ratio=2.0) for _ in range(2))
    assert len(first) == 20 and [p.image for p in first] == [p.image for p in again]
    assert len({p.image for p in first}) > 1  # a sample across photos, not the first rows
    held = hashlib.sha256((world["original"].parent / "original_0.png").read_bytes()).hexdigest()
    kept = replay_points(spec, 100, ratio=2.0, exclude={held})
    assert len(kept) == 46 and held not in {p.image for p in kept}
    assert replay_points(spec, 100, ratio=0) == []


def test_missing_training_data_still_serves_but_retrain_says_so(world, tmp_path):
    from predictor import LabeledFileError

    path = manifest(world, tmp_path)
    path.write_text(path.read_text().replace(str(world["original"]), "gone.csv"))
    [spec] = load_versions(path)  # loading (serving) does not need it
    with pytest.raises(LabeledFileError, match="--replay 0"):
        replay_points(spec, 10, ratio=2.0)
    assert replay_points(spec, 10, ratio=0) == []


@pytest.mark.slow
def test_replaying_the_original_data_forgets_less_than_labels_alone(world, tmp_path):
    path = manifest(world, tmp_path)
    plain = retrain("tiny", manifest=path, source=world["cast"],
                    options=RetrainOptions(epochs=40, replay=0))
    mixed = retrain("tiny", manifest=path, source=world["cast"],
                    options=RetrainOptions(epochs=40, replay=2.0))
    assert (plain["version"], mixed["version"]) == ("1.1", "1.2")
    metrics = json.loads((tmp_path / "tiny" / "1.2" / "metrics.json").read_text())
    assert metrics["replay_points"] == min(48, 2 * plain["train_points"])  # all, or capped
    new = {s.version: s for s in load_versions(path)}
    assert new["1.2"].training_data == world["original"]  # a later retrain replays it too

    scored = {v: compare_versions("tiny", "1.0", v, manifest=path,
                                  source=world["other_original"])["b"]
              for v in ("1.0", "1.1", "1.2")}
    top1 = {v: figures["top1"] for v, figures in scored.items()}
    tan = {v: figures["per_class"]["foxtrot"]["top1"] for v, figures in scored.items()}
    print(f"original data, other photos, top-1: base {top1['1.0']:.1%}, labels only "
          f"{top1['1.1']:.1%}, with replay {top1['1.2']:.1%} (foxtrot: {tan['1.0']:.0%}, "
          f"{tan['1.1']:.0%}, {tan['1.2']:.0%}); cast, held-out photos: base "
          f"{plain['before']['top1']:.1%}, labels only {plain['after']['top1']:.1%}, with replay "
          f"{mixed['after']['top1']:.1%}")
    assert top1["1.0"] >= 0.9  # the base knew the original data
    assert top1["1.2"] >= top1["1.1"] + 0.1  # replay forgot clearly less overall
    assert tan["1.2"] >= tan["1.1"] + 0.5  # above all on the class the cast overlaps
    assert mixed["after"]["top1"] > mixed["before"]["top1"]  # and it still learned the cast


def test_the_default_models_replay_training_pool_photos_only():
    import csv

    from photos.theme_points import theme_points

    root = Path(__file__).resolve().parent.parent
    for spec in load_versions(root / "models" / "manifest.toml"):
        assert spec.training_data is not None and spec.training_data.name != "eval_points.csv"
        with spec.training_data.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        folders = {(spec.training_data.parent / row["image"]).resolve().parent for row in rows}
        assert rows and folders == {root / "photos" / "train"}
        assert {row[spec.name] for row in rows} <= set(spec.labels)
    shipped = (root / "photos" / "train_theme_points.csv").read_text().splitlines()[1:]
    assert shipped == [f"{r['image']},{r['x']},{r['y']},{r['theme']}" for r in theme_points()]
