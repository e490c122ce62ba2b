"""One run, same machine, same load: the single-process service against Ray Serve.

    python -m bench.ray_serve [--manifest M | --stand-in] [--clients 32] [--duration 20]

Serves the same models five ways: `python -m predictor serve` (uvicorn, one process), then
Ray Serve with 1 and 2 replicas, micro-batching off and on (one local Ray cluster, the
application redeployed for each), then uvicorn again to show how far the machine drifted.
Each way gets `--clients` threads uploading one JPEG for `--duration` seconds after a short
warm-up; prints throughput and latency percentiles.
Needs requirements-ray.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path

import httpx

# The load test's client loop and summary, so both tools measure the same way.
from .loadtest import level, sample_jpeg, stand_in_manifest, start_server
from .server import free_port, wait_ready

WAYS = [(1, False), (1, True), (2, False), (2, True)]  # Ray: (replicas, batching)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    load_at_start = os.getloadavg()
    image = sample_jpeg()
    key = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="pinpoint-bench-ray-") as name:
        folder = Path(name)
        if args.stand_in or not args.manifest:
            args.manifest = str(stand_in_manifest(folder))
        rows = [_bench_uvicorn(args, folder, key, image)]
        rows += _bench_ray(args, folder, key, image)
        # Measured again last: the gap between the two uvicorn rows is this run's drift.
        rows.append({**_bench_uvicorn(args, folder, key, image), "engine": "uvicorn, again"})
    report = {"rows": rows, "setup": {
        "clients": args.clients, "duration_s": args.duration, "max_in_flight": args.max_in_flight,
        "cpus": os.cpu_count(), "load_avg_at_start": load_at_start,
        "load_avg_at_end": os.getloadavg(),
        "image_bytes": len(image), "manifest": "stand-in" if args.stand_in else args.manifest}}
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ray_serve", description=__doc__)
    parser.add_argument("--manifest", help="models to serve (default: --stand-in)")
    parser.add_argument("--stand-in", action="store_true",
                        help="untrained models of the default architecture and sizes")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=20, help="seconds measured per way")
    parser.add_argument("--warm-up", type=float, default=4, help="seconds of load not counted")
    parser.add_argument("--max-in-flight", type=int, default=32,
                        help="the service's bound per process/replica (same for every way)")
    parser.add_argument("--ray-config", help="base Ray config (default deploy/ray_serve.toml)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _measure(url: str, key: str, image: bytes, args: argparse.Namespace) -> dict:
    level(url, key, image, args.clients, args.warm_up)
    return level(url, key, image, args.clients, args.duration)


def _bench_uvicorn(args: argparse.Namespace, folder: Path, key: str, image: bytes) -> dict:
    server, url = start_server(args, folder, key)
    try:
        result = _measure(url, key, image, args)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return {"engine": "uvicorn, 1 process", "replicas": None, "batching": None, **result}


def _bench_ray(args: argparse.Namespace, folder: Path, key: str, image: bytes) -> list[dict]:
    from predictor.images import ImageLimits
    from predictor.service import Settings, ray_engine
    from predictor.service.ray_config import load_ray_config

    base = load_ray_config(args.ray_config)
    settings = Settings(api_keys={"load": key}, rate=0, manifest=args.manifest,
                        db_url=f"sqlite:///{folder / 'ray.db'}", max_in_flight=args.max_in_flight,
                        limits=ImageLimits())
    port = free_port()
    ray_engine.start_cluster("127.0.0.1", port, num_cpus=os.cpu_count())
    url, rows = f"http://127.0.0.1:{port}", []
    try:
        for replicas, batching in WAYS:
            config = base.with_changes(replicas=replicas, batching=batching)
            started = time.perf_counter()
            ray_engine.deploy(settings, config)
            if not wait_ready(url, 300):
                raise SystemExit(f"{url} never became ready")
            deploy_s = round(time.perf_counter() - started, 1)
            result = _measure(url, key, image, args)
            rows.append({"engine": "Ray Serve", "replicas": replicas, "batching": batching,
                         "deploy_s": deploy_s, "mean_batch": _mean_batch(url, key), **result})
    finally:
        ray_engine.stop_cluster()
    return rows


def _mean_batch(url: str, key: str) -> float | None:
    """Rows per merged model call, from the /metrics of whichever replica answers."""
    text = httpx.get(f"{url}/metrics", headers={"X-API-Key": key}, timeout=10).text
    sums = {"pinpoint_batched_rows_total": 0.0, "pinpoint_batches_total": 0.0}
    for line in text.splitlines():
        name = line.split("{")[0]
        if name in sums:
            sums[name] += float(line.split()[-1])
    calls = sums["pinpoint_batches_total"]
    return round(sums["pinpoint_batched_rows_total"] / calls, 2) if calls else None


def format_report(report: dict) -> str:
    """Return the ways as a Markdown table."""
    lines = ["| engine | replicas | batching | ok/s | p50 ms | p95 ms | p99 ms | non-200 "
             "| rows per model call |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for row in report["rows"]:
        batching = {None: "-", True: "on", False: "off"}[row["batching"]]
        lines.append(f"| {row['engine']} | {row['replicas'] or '-'} | {batching} "
                     f"| {row['ok_per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} "
                     f"| {row['requests'] - row['ok']} | {row.get('mean_batch') or '-'} |")
    setup = report["setup"]
    lines.append("")
    lines.append(f"{setup['clients']} clients, {setup['duration_s']} s per way, "
                 f"max_in_flight {setup['max_in_flight']}, {setup['cpus']} CPUs, "
                 f"1-min load average {setup['load_avg_at_start'][0]:.1f} at the start, "
                 f"{setup['load_avg_at_end'][0]:.1f} at the end")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
