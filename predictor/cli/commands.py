"""Command line: parse, call the core, print. Domain errors become exit 2 and one stderr line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import load_config
from ..crop import check_point
from ..errors import PinpointError
from ..images import DecodedImage, ImageLimits, decode_image
from ..learning.recording import RecordedPrediction, record_click
from ..learning.shadow import shadows_of
from ..manifest import load_manifest, load_shadows, load_versions
from ..predict import Predictor, crop_needs
from .feedback import add_feedback_commands

if TYPE_CHECKING:
    from ..store.feedback import FeedbackStore

EXIT_USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        return args.handler(args)
    except PinpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader (`| head`) left: not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # never show a traceback to a user
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m predictor", description="Ask image classifiers about a point on a photo."
    )
    parser.add_argument("--manifest", help="model manifest (default: models/manifest.toml)")
    commands = parser.add_subparsers(dest="command", required=True)

    predict = commands.add_parser("predict", help="top labels of every model at one point")
    predict.add_argument("image", help="JPEG, PNG or WebP file")
    predict.add_argument("--x", required=True, type=_number, help="pixels from the left edge")
    predict.add_argument("--y", required=True, type=_number, help="pixels from the top edge")
    _add_common(predict)
    predict.add_argument("--json", action="store_true", help="print JSON instead of a table")
    predict.add_argument("--record", action="store_true",
                         help="also store it in the feedback database ($PINPOINT_DB_URL)")
    predict.add_argument("--tester", default=os.environ.get("USER") or "cli",
                         help="the name stored with --record (default $USER)")
    predict.set_defaults(handler=_predict)

    batch = commands.add_parser("batch", help="predict every line of a JSONL file")
    batch.add_argument("points", help='JSONL, one {"image": PATH, "x": X, "y": Y} per line')
    _add_common(batch)
    batch.set_defaults(handler=_batch)

    listing = commands.add_parser("models", help="list the models and their load times")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_models)

    evaluate = commands.add_parser("evaluate", help="accuracy on a CSV of labeled points")
    evaluate.add_argument("labeled", help="CSV with columns image,x,y and one per model name")
    evaluate.add_argument("--json", action="store_true", help="print JSON instead of a report")
    evaluate.add_argument("--active-only", action="store_true",
                          help="score only the served versions, not the manifest's other ones")
    evaluate.set_defaults(handler=_evaluate)

    bench = commands.add_parser("bench", help="measure where the time of a prediction goes")
    bench.add_argument("--quick", action="store_true", help="a few runs only (for CI)")
    bench.add_argument("--json", action="store_true", help="print JSON instead of a table")
    bench.set_defaults(handler=_bench)

    add_feedback_commands(commands)

    serve = commands.add_parser("serve", help="run the HTTP API (see docs/service.md)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="processes, each loads the models")
    serve.add_argument("--no-access-log", action="store_true", help="skip one log line a request")
    serve.add_argument("--log-format", choices=("json", "text"),
                       help="pinpoint's own log lines (default json; PINPOINT_LOG_FORMAT)")
    serve.add_argument("--engine", choices=("uvicorn", "ray"), default="uvicorn",
                       help="uvicorn (default) or Ray Serve (docs/deployment.md)")
    serve.add_argument("--ray-config", help="Ray replicas and batching (deploy/ray_serve.toml)")
    serve.set_defaults(handler=_serve)
    return parser


def _add_common(command: argparse.ArgumentParser) -> None:
    command.add_argument("--top-k", type=int, default=5, help="labels per model (default 5)")
    command.add_argument("--parallel", action="store_true", help="run the models in parallel")
    command.add_argument("--max-mb", type=float,
                         help="largest image in MB (default $PINPOINT_MAX_MB, else 20)")
    command.add_argument("--max-mp", type=float,
                         help="largest image in megapixels (default $PINPOINT_MAX_MP, else 50)")


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def _limits(args: argparse.Namespace) -> ImageLimits:
    config = load_config()
    max_mb = config.max_mb if args.max_mb is None else args.max_mb
    max_mp = config.max_mp if args.max_mp is None else args.max_mp
    return ImageLimits(int(max_mb * 1024 * 1024), int(max_mp * 1_000_000))


def _predict(args: argparse.Namespace) -> int:
    # Check the manifest, the image and the point before paying for TensorFlow.
    specs = load_manifest(args.manifest)
    shadows = load_shadows(args.manifest) if args.record else []  # stored, so shadowed
    limits = _limits(args)
    decoded = decode_image(args.image, limits, crop_needs(specs + shadows))
    check_point(args.x, args.y, decoded.size)
    predictor = Predictor.from_specs(specs, limits=limits, parallel=args.parallel,
                                     shadows=shadows)
    store = _open_store() if args.record else None
    try:
        recorded = record_click(predictor, store, decoded, (args.x, args.y), tester=args.tester,
                                source="cli", top_k=args.top_k, include_decode=True)
        print(json.dumps(recorded.to_dict()) if args.json else _table(recorded), flush=True)
        shadows_running = shadows_of(predictor)
        if shadows_running is not None:
            shadows_running.wait()  # the answer is out; store the shadows' before exiting
    finally:
        predictor.close()
        if store is not None:
            store.close()
    return 0


def _open_store() -> FeedbackStore:
    from ..store.feedback import FeedbackStore  # SQLAlchemy loads only for --record

    return FeedbackStore()


def _batch(args: argparse.Namespace) -> int:
    try:
        lines = Path(args.points).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise PinpointError(f"cannot read {args.points}: {exc}") from None
    predictor = Predictor.from_manifest(args.manifest, limits=_limits(args), parallel=args.parallel)
    folder = Path(args.points).parent  # one rule with evaluate: paths are read from here

    def decode_beside(image: str) -> DecodedImage:
        return predictor.decode(image if Path(image).is_absolute() else folder / image)

    decode = _last_image_cache(decode_beside)
    for line in lines:
        if line.strip():
            print(json.dumps(_batch_line(line, predictor, decode, args.top_k)), flush=True)
    return 0


def _batch_line(line: str, predictor: Predictor, decode: Callable, top_k: int) -> dict:
    try:
        item = json.loads(line)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        return {"line": line[:200], "error": f"not a JSON object: {str(exc)[:200]}"}
    if not isinstance(item, dict):
        return {"line": line[:200], "error": "not a JSON object"}
    try:
        if not isinstance(item.get("image"), str):
            raise PinpointError('each line needs "image": a file path')
        point = (item.get("x"), item.get("y"))
        answer = record_click(predictor, None, decode(item["image"]), point, tester="cli",
                              source="cli", top_k=top_k).to_dict()
        return {**item, "predictions": answer["predictions"], "status": answer["status"]}
    except PinpointError as exc:
        return {**item, "error": str(exc)}


def _last_image_cache(decode: Callable[[str], DecodedImage]) -> Callable[[str], DecodedImage]:
    """Decode each image once when consecutive lines click on the same file."""
    last: dict[str, DecodedImage] = {}

    def cached(path: str) -> DecodedImage:
        if path not in last:
            last.clear()
            last[path] = decode(path)
        return last[path]

    return cached


def _models(args: argparse.Namespace) -> int:
    described = Predictor.from_manifest(args.manifest).describe()
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    columns = ("name", "format", "version", "labels", "load ms", "warm-up ms")
    print("{:<10} {:<11} {:<10} {:>6} {:>8} {:>10}".format(*columns))
    for name, info in described.items():
        print(
            f"{name:<10} {info['format']:<11} {info['version']:<10} {info['labels']:>6} "
            f"{info['load_ms']:>8.1f} {info['warmup_ms']:>10.1f}"
        )
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ..learning.evaluate import evaluate_versions, format_report
    from ..learning.labels_io import labeled_csv

    specs = load_versions(args.manifest)
    served = Predictor.from_specs([s for s in specs if s.status == "active"])
    others = [] if args.active_only else [s for s in specs if s.status != "active"]
    with labeled_csv(args.labeled) as csv_path:  # a CSV, or a JSONL / zip labels export
        result = {**evaluate_versions(served, others, csv_path), "file": args.labeled}
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    failed = result["errors"]
    if isinstance(failed, list) and failed:  # reported, but a script must notice lost rows
        print(f"error: {len(failed)} row(s) could not be scored", file=sys.stderr)
        return 1
    return 0


def _bench(args: argparse.Namespace) -> int:
    from .bench import format_table, run_benchmark

    result = run_benchmark(args.manifest, quick=args.quick)
    print(json.dumps(result, indent=2) if args.json else format_table(result))
    return 0


def _serve(args: argparse.Namespace) -> int:
    if args.engine == "ray":
        return _serve_ray(args)
    from ..service.server import serve  # FastAPI and uvicorn load only for this command

    return serve(args.host, args.port, workers=args.workers, manifest=args.manifest,
                 access_log=not args.no_access_log, log_format=args.log_format)


def _serve_ray(args: argparse.Namespace) -> int:
    try:
        from ..service.ray_engine import serve_ray  # Ray loads only for this engine
    except ImportError as exc:
        raise PinpointError(f"the Ray engine needs Ray ({exc}): "
                            "pip install -r requirements-ray.txt") from None
    return serve_ray(args.host, args.port, manifest=args.manifest, config_path=args.ray_config)


def _table(recorded: RecordedPrediction) -> str:
    result, lines = recorded.prediction, []
    for name, scores in result.predictions.items():
        box = result.crops[name]
        meta = result.models[name]
        corners = f"{box.left},{box.top} to {box.right},{box.bottom}"
        lines.append(f"{name} (version {meta['version']}, crop {corners})")
        for rank, item in enumerate(scores, 1):
            lines.append(f"  {rank}. {item.label:<24} {item.score:6.3f}")
    stages = ", ".join(f"{k} {v:.1f}" for k, v in result.timings_ms.items() if k != "total")
    lines.append(f"total {result.timings_ms['total']:.1f} ms ({stages})")
    if recorded.faulty:
        lines.append(f"degraded: the {', '.join(recorded.faulty)} model gave unusable scores")
    if recorded.prediction_id is not None:
        lines.append(f"stored as prediction #{recorded.prediction_id} ({recorded.status})")
    return "\n".join(lines)
