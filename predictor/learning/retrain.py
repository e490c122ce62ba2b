"""A new version of a model from tester labels: fine-tune Keras, or a new head on a frozen graph.

Labeled points come from the store (each answer's stored crop) or from a labeled file.
Photos are split, not points: every point of one image is on the same side of the hold-out,
chosen by a hash of the image, so the split is the same on every run. Before and after are
measured on the same held-out points. Where the manifest names the model's own
`training_data`, some of it trains too (replay.py), so the new version does not forget it.
The result is written under `<manifest folder>/<model>/<new version>/` and registered as a
candidate, never made active.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import PinpointError
from ..manifest import ModelSpec, load_versions, manifest_path, spec_from_entry
from ..store.accuracy import Answer, summarize
from .labeled_crops import LabeledCrop, RetrainOptions, gather, inputs, split_by_image
from .versions import next_version, read_entries, register_candidate

Progress = Callable[[float, str], None]


class NotRetrainable(PinpointError):
    """This model's format cannot be retrained (or a setting it needs is missing)."""


class NotEnoughLabels(PinpointError):
    """Too few labeled points (or images) to train and measure a new version."""


def retrain(model: str, *, manifest: str | os.PathLike | None = None, store=None,
            source: str | os.PathLike | None = None, options: RetrainOptions = RetrainOptions(),
            progress: Progress | None = None) -> dict[str, Any]:
    """Train a new candidate version of `model` from the store's labels or a labeled file."""
    started = time.perf_counter()
    say = progress or (lambda _fraction, _message: None)
    base = active_spec(model, manifest)
    trainer = _trainer_for(base)
    say(0.02, f"reading labels for {model} {base.version}")
    points = gather(base, store=store, source=source)
    train, held = split_by_image(points, options.hold_out, options.seed)
    if len(train) < 2 or not held:
        raise NotEnoughLabels(f"{len(points)} labeled points of {len({p.image for p in points})} "
                              f"images for {model}: need points on at least 2 images")
    replay = _replay(base, train, held, options, say)
    version = next_version(read_entries(manifest), model)
    folder = manifest_path(manifest).parent / model / version
    folder.mkdir(parents=True, exist_ok=False)
    entry, details = trainer(base, train, replay, folder, options, say)
    entry = {**entry, "version": version, "retrained_from": base.version,
             **_training_data(base, manifest)}
    details = {**details, "replay_points": len(replay)}
    say(0.9, "measuring before and after on the held-out images")
    before = measure(base, held)
    new_spec = spec_from_entry({**entry, "status": "candidate"}, manifest)
    after = measure(new_spec, held)
    result = {"model": model, "base_version": base.version, "version": version,
              "train_points": len(train), "eval_points": len(held),
              "before": _headline(before), "after": _headline(after),
              "seconds": round(time.perf_counter() - started, 1)}
    _write_card(folder, result, details, before, after)
    register_candidate(manifest, {k: v for k, v in entry.items() if k != "status"})
    say(1.0, f"{model} {version} registered as a candidate")
    return result


def active_spec(model: str, manifest: str | os.PathLike | None) -> ModelSpec:
    """Return the active version of `model` in the manifest."""
    for spec in load_versions(manifest):
        if spec.name == model and spec.status == "active":
            return spec
    names = sorted({s.name for s in load_versions(manifest)})
    raise NotRetrainable(f"the manifest has no model {model!r} (it has {', '.join(names)})")


def _replay(base: ModelSpec, train: list[LabeledCrop], held: list[LabeledCrop],
            options: RetrainOptions, say: Progress) -> list[LabeledCrop]:
    from .replay import replay_points

    replay = replay_points(base, len(train), ratio=options.replay, seed=options.seed,
                           exclude={p.image for p in held})
    if replay and base.training_data is not None:
        say(0.05, f"mixing in {len(replay)} points of {base.name}'s own training data "
                  f"({base.training_data.name}) so the new version does not forget them")
    return replay


def _training_data(base: ModelSpec, manifest: str | os.PathLike | None) -> dict[str, str]:
    """The new version keeps its base's training data, so a later retrain replays it too."""
    if base.training_data is None:
        return {}
    folder = manifest_path(manifest).parent.resolve()
    return {"training_data": Path(os.path.relpath(base.training_data, folder)).as_posix()}


def measure(spec: ModelSpec, points: list[LabeledCrop]) -> dict[str, Any]:
    """Score one version on labeled crops: summarize()'s figures, plus each point's top 5."""
    from ..models import load_model

    loaded = load_model(spec, copies=1)
    probabilities = np.concatenate([loaded.probabilities(inputs(spec, [p.crop for p in chunk]))
                                    for chunk in _chunks(points, 64)])
    ranked = [[spec.labels[i] for i in np.argsort(-row, kind="stable")[:5]]
              for row in probabilities]
    summary = summarize([Answer(p.label, r) for p, r in zip(points, ranked, strict=True)])
    return {**summary, "ranked": ranked}


def _chunks(items: list, n: int) -> list[list]:
    return [items[i:i + n] for i in range(0, len(items), n)]


def _headline(summary: dict) -> dict[str, object]:
    return {"top1": summary["top1"], "top5": summary["top5"]}


def _trainer_for(spec: ModelSpec) -> Callable:
    from . import retrain_keras

    keras_file = spec.path if spec.format == "keras" else spec.path.parent / "model.keras"
    if spec.head is not None:  # frozen features and a head (retrain.py's way): a new head
        return retrain_keras.new_head
    if spec.format in ("keras", "tflite") and keras_file.is_file():
        return retrain_keras.fine_tune
    if spec.format in ("graphdef", "savedmodel"):
        if spec.feature_tensor is None:
            raise NotRetrainable(
                f"model {spec.name!r} ({spec.format}): set feature_tensor in the manifest to the "
                "tensor a new final layer should read (retrain.py's bottleneck)")
        return retrain_keras.new_head
    raise NotRetrainable(f"model {spec.name!r} is a TFLite file with no model.keras beside it: "
                         "TFLite models cannot be retrained; retrain the model it was made from")


def _write_card(folder: Path, result: dict, details: dict, before: dict, after: dict) -> None:
    strip = {"ranked", "confusion"}
    metrics = {**result, **details,
               "held_out": {"before": {k: v for k, v in before.items() if k not in strip},
                            "after": {k: v for k, v in after.items() if k not in strip}}}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    lines = [f"# {result['model']} {result['version']}", "",
             f"Retrained from {result['base_version']} on {result['train_points']} labeled "
             f"points ({details.get('method')}"
             + (f", plus {details['replay_points']} points of its own training data"
                if details.get("replay_points") else "")
             + f"); measured on {result['eval_points']} points of other images (held out by "
             "image).", "",
             "| | top-1 | top-5 |", "|---|---|---|",
             *(f"| {name} | {_pct(fig['top1'])} | {_pct(fig['top5'])} |"
               for name, fig in (("before", result["before"]), ("after", result["after"])))]
    if details.get("check_top1"):  # what the trainer chose between, on its check images
        lines += ["", f"Chosen by top-1 on {details['chosen_on']}: " + ", ".join(
                      f"{'learning rate ' if 'rate' in details else ''}{choice} "
                      f"{_pct(top1)}" for choice, top1 in details["check_top1"].items())
                  + (f"; kept {details['rate']:g}." if "rate" in details else ".")]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f} %"  # type: ignore[arg-type]
