"""The feedback-loop commands: labels import/export, retrain, compare, promote, add-version.

Like cli.py: parse, call the core, print; progress goes to stderr so --json stays clean.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PinpointError
from ..predict import Predictor

if TYPE_CHECKING:
    from ..store.feedback import FeedbackStore

EXIT_USER_ERROR = 2


def add_feedback_commands(commands) -> None:  # noqa: ANN001 - argparse's subparsers
    """Add labels import/export, retrain, compare, promote and add-version to the command line."""
    labels = commands.add_parser("labels", help="import or export tester labels")
    labels_commands = labels.add_subparsers(dest="labels_command", required=True)
    importing = labels_commands.add_parser(
        "import", help="store a labeled CSV's points as tester clicks with their labels")
    importing.add_argument("file", help="CSV (image,x,y + one column per model), JSONL or zip")
    importing.add_argument("--tester", default=os.environ.get("USER") or "import",
                           help="the tester name stored with each label (default $USER)")
    importing.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    importing.set_defaults(handler=_labels_import)
    exporting = labels_commands.add_parser("export", help="write every stored label")
    exporting.add_argument("out", help="file to write")
    exporting.add_argument("--format", choices=("csv", "jsonl", "zip"), default="csv",
                           help="csv (default), jsonl, or zip with crops and originals")
    exporting.set_defaults(handler=_labels_export)

    retrain = commands.add_parser("retrain", help="train a candidate version from the labels")
    retrain.add_argument("model", help="model name in the manifest")
    retrain.add_argument("--from", dest="source", help="a labeled file instead of the store")
    retrain.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    retrain.add_argument("--replay", type=float, default=2.0, metavar="K",
                         help="mix in up to K points of the model's own training data "
                              "(manifest training_data) per label; 0 = labels only (default 2)")
    retrain.add_argument("--json", action="store_true", help="print JSON instead of a summary")
    retrain.set_defaults(handler=_retrain)

    compare = commands.add_parser("compare", help="two versions on the same labeled points")
    compare.add_argument("model", help="model name in the manifest")
    compare.add_argument("version_a")
    compare.add_argument("version_b")
    compare.add_argument("--on", help="a labeled CSV/JSONL/zip instead of the store's labels")
    compare.add_argument("--recorded", action="store_true",
                         help="score the answers given at click time (served or shadow) on "
                              "the labeled clicks both versions answered; nothing is re-run")
    compare.add_argument("--json", action="store_true", help="print JSON instead of a report")
    compare.set_defaults(handler=_compare)

    shadow = commands.add_parser(
        "shadow", help="let a candidate answer every click unseen; or, without VERSION, show "
                       "how the shadows score beside the served version on the same clicks")
    shadow.add_argument("model", help="model name in the manifest")
    shadow.add_argument("version", nargs="?", help="the candidate (or retired) version")
    shadow.add_argument("--off", action="store_true", help="stop shadowing VERSION")
    shadow.add_argument("--json", action="store_true", help="print the figures as JSON")
    shadow.set_defaults(handler=_shadow)

    promote = commands.add_parser("promote", help="make a version active (or roll back)")
    promote.add_argument("model", help="model name in the manifest")
    promote.add_argument("version", help="the version to serve")
    promote.add_argument("--by", default=os.environ.get("USER") or "cli",
                         help="who switched, recorded in the store (default $USER)")
    promote.set_defaults(handler=_promote)
    _add_version_command(commands)


def _add_version_command(commands) -> None:  # noqa: ANN001 - argparse's subparsers
    from ..learning.uploads import MAX_MODEL_MB, NORMALISATIONS

    add = commands.add_parser("add-version", help="check a model file and add it as a candidate")
    add.add_argument("model", help="model name in the manifest (it must already have a version)")
    add.add_argument("--model", dest="file", required=True,
                     help=".keras/.h5, .pb, .tflite, a SavedModel folder or a .zip of one")
    add.add_argument("--labels", required=True, help="text file, one label a line")
    add.add_argument("--input-size", type=int, required=True, help="input side in pixels")
    add.add_argument("--normalise", choices=list(NORMALISATIONS), default="unit",
                     help="pixels the model expects: unit 0..1 (default), signed -1..1, "
                          "raw 0..255; or --scale/--offset")
    add.add_argument("--scale", type=float, help="input = pixel * scale + offset")
    add.add_argument("--offset", type=float, help="(with --scale; default 0)")
    add.add_argument("--version", help="the new version (default: the next after the highest)")
    add.add_argument("--crop-fraction", type=float, help="default: the active version's")
    add.add_argument("--input-tensor", default="input:0", help=".pb only (default input:0)")
    add.add_argument("--output-tensor", default="final_result:0",
                     help=".pb only (default final_result:0)")
    add.add_argument("--logits", action="store_true", help="the model outputs logits")
    add.add_argument("--max-mb", type=float, default=MAX_MODEL_MB,
                     help=f"largest model file or unzipped SavedModel (default {MAX_MODEL_MB:g})")
    add.add_argument("--json", action="store_true", help="print the manifest entry as JSON")
    add.set_defaults(handler=_add_version)


def _labels_import(args: argparse.Namespace) -> int:
    from ..learning.labels_io import import_labels
    from ..learning.shadow import shadows_of

    predictor = Predictor.from_manifest(args.manifest)
    store = _open_store()
    try:
        result = import_labels(predictor, store, args.file, tester=args.tester)
        shadows_running = shadows_of(predictor)
        if shadows_running is not None:
            shadows_running.wait()  # store every shadow answer before the process ends
    finally:
        predictor.close()
        store.close()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.file}: imported {result['imported']} of {result['rows']} rows "
              f"(models: {', '.join(result['models']) or 'none'})")
        for skipped in result["skipped"]:
            print(f"  skipped row {skipped['row']} ({skipped['image']}): {skipped['error']}")
    return 0 if result["imported"] or not result["rows"] else EXIT_USER_ERROR


def _labels_export(args: argparse.Namespace) -> int:
    from ..learning.labels_io import export_labels

    store = _open_store()
    try:
        count = export_labels(store, args.out, args.format)
    finally:
        store.close()
    print(f"wrote {count} labeled clicks to {args.out}", file=sys.stderr)
    return 0


def _retrain(args: argparse.Namespace) -> int:
    from ..learning.retrain import RetrainOptions, retrain

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    store = None if args.source else _open_store()
    try:
        options = RetrainOptions(epochs=args.epochs, replay=args.replay)
        result = retrain(args.model, manifest=args.manifest, store=store, source=args.source,
                         options=options, progress=progress)
    finally:
        if store is not None:
            store.close()
    if args.json:
        print(json.dumps(result))
    else:
        before, after = result["before"], result["after"]
        print(f"{result['model']} {result['version']} (candidate, from {result['base_version']}): "
              f"{result['train_points']} training points, {result['eval_points']} held out\n"
              f"  top-1 {_pct(before['top1'])} -> {_pct(after['top1'])}, "
              f"top-5 {_pct(before['top5'])} -> {_pct(after['top5'])}, {result['seconds']} s")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from ..learning.compare import compare_recorded, compare_versions, format_comparison

    if args.recorded and args.on:
        raise PinpointError("--recorded scores the store's answers; it cannot take --on")
    store = None if args.on else _open_store()
    try:
        if args.recorded:
            result = compare_recorded(args.model, args.version_a, args.version_b,
                                      store=store, manifest=args.manifest)
        else:
            result = compare_versions(args.model, args.version_a, args.version_b,
                                      manifest=args.manifest, store=store, source=args.on)
    finally:
        if store is not None:
            store.close()
    print(json.dumps(result, indent=2) if args.json else format_comparison(result))
    return 0


def _promote(args: argparse.Namespace) -> int:
    from ..learning.versions import promote

    before = promote(args.manifest, args.model, args.version)
    if before is None:
        print(f"{args.model} {args.version} is already active")
        return 0
    store = _open_store()
    try:
        store.record_switch(args.model, before, args.version, by=args.by, source="cli")
    finally:
        store.close()
    print(f"{args.model}: {before} -> {args.version} (active); running servers switch on "
          "reload (SIGHUP) or POST /admin/promote")
    return 0


def _add_version(args: argparse.Namespace) -> int:
    from ..learning.uploads import NORMALISATIONS, InputSpec, ModelFile, add_version

    try:
        labels_text = Path(args.labels).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PinpointError(f"cannot read labels file {args.labels}: {exc}") from None
    scale, offset = NORMALISATIONS[args.normalise]
    if args.scale is not None:
        scale, offset = args.scale, args.offset or 0.0
    inputs = InputSpec(args.input_size, scale, offset, args.input_tensor, args.output_tensor,
                       "logits" if args.logits else "probabilities")
    entry = add_version(args.manifest, args.model, ModelFile.from_path(args.file), labels_text,
                        inputs, version=args.version, crop_fraction=args.crop_fraction,
                        max_mb=args.max_mb)
    if args.json:
        print(json.dumps(entry))
    else:
        print(f"{args.model} {entry['version']} added as a candidate ({entry['format']}, "
              f"{entry['file']}); compare it, then `promote {args.model} {entry['version']}`")
    return 0


def _shadow(args: argparse.Namespace) -> int:
    from ..learning.versions import set_shadow

    if args.version is None:
        return _shadow_report(args)
    changed = set_shadow(args.manifest, args.model, args.version, on=not args.off)
    state = "no longer shadows" if args.off else "shadows"
    print(f"{args.model} {args.version} {state} the served version"
          f"{'' if changed else ' (unchanged)'}; running servers pick it up on reload "
          "(the app on its next page run, the service on SIGHUP or POST /admin/promote)")
    return 0


def _shadow_report(args: argparse.Namespace) -> int:
    from ..learning.shadow_scores import shadow_figures

    store = _open_store()
    try:
        rows = shadow_figures(store, args.model)
    finally:
        store.close()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no shadow answers stored for {args.model}")
    for row in rows:
        print(f"{args.model} {row['version']} (shadow): {row['shadowed_clicks']} clicks, "
              f"{row['labeled']} labeled; on those: top-1 {_pct(row['shadow_top1'])} vs "
              f"{_pct(row['served_top1'])} served ({row['served_versions'] or 'n/a'}), top-5 "
              f"{_pct(row['shadow_top5'])} vs {_pct(row['served_top5'])}")
    return 0


def _pct(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.1f}%"  # type: ignore[arg-type]


def _open_store() -> FeedbackStore:
    from ..store.feedback import FeedbackStore  # SQLAlchemy loads only for the commands that use it

    return FeedbackStore()
