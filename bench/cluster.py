"""One run of the figures behind docs/deployment.md's capacity model, on this machine.

    python -m bench.cluster [--manifest M | --stand-in] [--clients 8] [--duration 20]

With one throwaway PostgreSQL (the store) and one Redis (the shared rate limit) for all:
1. local process: `record_click` (predict + store + limit) in a loop, one thread;
2. `python -m predictor serve --workers 2`: `--clients` threads uploading for `--duration` s;
3. Ray: a head and a second node (1 CPU each, bench/ray_nodes.py), one replica per node,
   the head's proxy in front; the same load with batching off / on and with
   max_ongoing_requests 64 / 8;
   for 2 and 3, the CPU seconds each kind of process spent per answered request, and the
   latency of one client alone (the cost of the extra hops, without queueing);
4. per click and per label, rows written and transactions in PostgreSQL, calls to Redis;
5. the second node killed under `--clients` clients (bench/node_loss.py), then restarted.
Needs requirements-ray.txt, Debian's postgresql and redis-server. Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from predictor.service.ray_config import INLINE_ARGUMENTS

from . import cpu
from .loadtest import level, sample_jpeg, stand_in_manifest
from .node_loss import connect, deploy_per_node, disconnect, node_loss
from .ray_nodes import ROOT, LocalCluster
from .server import free_port, wait_ready

RAY_WAYS = [("batching off, max_ongoing 64", False, 64), ("batching on, max_ongoing 64", True, 64),
            ("batching off, max_ongoing 8", False, 8)]
# The first cluster runs with Ray's own limits for inline arguments (100 KB, less than an
# upload); the second with INLINE_ARGUMENTS, what `serve --engine ray` sets. The per-click
# counts and the node loss run on the second.


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from tests.pg_server import throwaway_postgres  # the tests' throwaway servers
    from tests.redis_server import throwaway_redis

    image, key = sample_jpeg(), secrets.token_urlsafe(24)
    report: dict = {"setup": {"clients": args.clients, "duration_s": args.duration,
                              "cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as folder, \
            throwaway_postgres() as server, throwaway_redis() as redis_url:
        manifest = args.manifest or (str(stand_in_manifest(Path(folder))) if args.stand_in
                                     else str(ROOT / "models" / "manifest.toml"))
        report["setup"]["manifest"] = manifest
        common: dict[str, Any] = {"manifest": manifest, "redis": redis_url, "key": key,
                                  "image": image}
        report["local"] = _local(_database(server, "local"), **common, seconds=args.duration / 2)
        report["uvicorn"] = _uvicorn(args, _database(server, "uvicorn"), **common)
        report["ray"] = []
        _ray(args, report, _database(server, "ray"), {}, RAY_WAYS, **common)
        _ray(args, report, _database(server, "ray_inline"), INLINE_ARGUMENTS,
             [("batching off, max_ongoing 64, bodies inline", False, 64)], extras=True,
             **common)
    report["setup"]["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__)
    parser.add_argument("--manifest", help="models to serve (default models/manifest.toml)")
    parser.add_argument("--stand-in", action="store_true", help="untrained Keras stand-ins")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--duration", type=float, default=20, help="seconds per load level")
    parser.add_argument("--max-in-flight", type=int, default=8, help="per process / replica")
    parser.add_argument("--loss-duration", type=float, default=30, help="node-loss run, s")
    parser.add_argument("--ray-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for every Ray node (repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _database(server: str, name: str) -> str:
    from sqlalchemy import create_engine, text

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server.rsplit("/", 1)[0] + f"/{name}"


def _local(db: str, *, manifest: str, redis: str, key: str, image: bytes,
           seconds: float) -> dict:
    """Clicks per second of one thread doing what the app does per click, in-process."""
    from predictor import Predictor, RateLimiter
    from predictor.learning.recording import record_click
    from predictor.store.feedback import FeedbackStore

    predictor, store = Predictor.from_manifest(manifest), FeedbackStore(db)
    limiter = RateLimiter(1_000_000, 60, redis)
    try:
        record_click(predictor, store, image, (512, 384), tester="bench", limiter=limiter)
        clicks, began, cpu_before = 0, time.perf_counter(), cpu.this_process()
        while time.perf_counter() - began < seconds:
            record_click(predictor, store, image, (512, 384), tester="bench", limiter=limiter)
            clicks += 1
        elapsed, used = time.perf_counter() - began, cpu.this_process() - cpu_before
    finally:
        predictor.close()
    return {"clicks": clicks, "clicks_per_s": round(clicks / elapsed, 1),
            "cpu_ms_per_click": round(1e3 * used / clicks, 1)}


def _settings_env(db: str, redis: str, key: str, max_in_flight: int) -> dict[str, str]:
    return {"PINPOINT_API_KEYS": f"load:{key}", "PINPOINT_API_RATE": "1000000/60",
            "PINPOINT_RATE_STORAGE": redis, "PINPOINT_DB_URL": db,
            "PINPOINT_MAX_IN_FLIGHT": str(max_in_flight), "PINPOINT_LOG_FORMAT": "text"}


def _uvicorn(args: argparse.Namespace, db: str, *, manifest: str, redis: str, key: str,
             image: bytes) -> dict:
    port = free_port()
    env = {**os.environ, **_settings_env(db, redis, key, args.max_in_flight)}
    with tempfile.TemporaryFile("w+") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "predictor", "--manifest", manifest, "serve", "--port",
             str(port), "--workers", "2", "--no-access-log"], env=env, stdout=log,
            stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_ready(url, 300, alive=lambda: server.poll() is None):
            raise SystemExit("serve --workers 2 did not become ready")
        processes = {pid: "uvicorn" for pid in cpu.tree(server.pid)}
        return {"engine": "uvicorn --workers 2", **_level(url, key, image, args, processes,
                                                           role=lambda _title: "uvicorn")}
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)


def _level(url: str, key: str, image: bytes, args: argparse.Namespace,
           processes: dict[int, str], role=cpu.ray_role) -> dict:
    """One client alone (the hops' latency), then the load, with CPU per answer by role."""
    alone = level(url, key, image, 1, min(5.0, args.duration / 2))
    level(url, key, image, args.clients, 3)  # warm-up, not counted
    before, mine = cpu.by_role(processes, role), cpu.this_process()
    result = level(url, key, image, args.clients, args.duration)
    spent = {name: s - before.get(name, 0.0) for name, s in cpu.by_role(processes, role).items()}
    spent["load generator"] = cpu.this_process() - mine
    answers = max(1, result["ok"])
    return {**result, "alone_p50_ms": alone["p50_ms"],
            "cpu_ms_per_answer": {name: round(1e3 * s / answers, 1)
                                  for name, s in sorted(spent.items())}}


def _ray(args: argparse.Namespace, report: dict, db: str, env: dict[str, str], ways: list,
         *, manifest: str, redis: str, key: str, image: bytes, extras: bool = False) -> None:
    from predictor.images import ImageLimits
    from predictor.service import Settings
    from predictor.service.ray_config import load_ray_config

    cluster = LocalCluster(env={**env, **dict(item.split("=", 1) for item in args.ray_env)})
    port = free_port()
    settings = Settings(api_keys={"load": key}, rate=1_000_000, per_s=60, rate_storage=redis,
                        manifest=manifest, db_url=db, max_in_flight=args.max_in_flight,
                        limits=ImageLimits())
    url = f"http://127.0.0.1:{port}"
    try:
        cluster.start_head()
        cluster.add_node("second")
        connect(cluster, port)
        for name, batching, ongoing in ways:
            config = replace(load_ray_config().with_changes(batching=batching),
                             max_ongoing_requests=ongoing)
            began = time.perf_counter()
            deploy_per_node(settings, config)
            wait_ready(url, 300)
            deploy_s = round(time.perf_counter() - began, 1)
            report["ray"].append({"engine": f"Ray, 2 nodes x 1 replica, {name}",
                                  "deploy_s": deploy_s,
                                  **_level(url, key, image, args, cluster.processes())})
        if not extras:
            return
        report["per_click"] = _per_click(url, key, image, db, redis)
        loss = node_loss(cluster, url, [key] * args.clients, image,
                         duration=args.loss_duration, kill_at=args.loss_duration / 4,
                         back_at=args.loss_duration / 2, max_calls=10**6)
        report["node_loss"] = loss.figures(_labelled(db))
    finally:
        disconnect()
        cluster.stop()


def _per_click(url: str, key: str, image: bytes, db: str, redis_url: str, n: int = 20) -> dict:
    """Rows inserted, transactions committed and Redis commands per click and per label."""
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
        before = _counters(db, redis_url)
        ids = [http.post("/v1/predict", files={"image": ("c.jpg", image)},
                         data={"x": "512", "y": "384"}).json()["prediction_id"]
               for _ in range(n)]
        clicked = _counters(db, redis_url)
        for prediction_id in ids:
            http.post("/v1/feedback", json={"prediction_id": prediction_id,
                                            "labels": {"color": "red"}}).raise_for_status()
        labelled = _counters(db, redis_url)
    return {"per_click": _per(before, clicked, n), "per_label": _per(clicked, labelled, n)}


def _counters(db: str, redis_url: str) -> dict[str, Any]:
    """Rows per table, committed transactions, Redis commands by name, so far."""
    import redis
    from sqlalchemy import create_engine, text

    # An idle PostgreSQL connection publishes its statistics within 10 s.
    time.sleep(11)
    engine = create_engine(db)
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables "
                                   "WHERE schemaname = 'public'")).scalars().all()
        counts = {f"rows {t}": conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()
                  for t in tables}
        counts["pg transactions"] = conn.execute(text(
            "SELECT xact_commit FROM pg_stat_database "
            "WHERE datname = current_database()")).scalar()
    engine.dispose()
    stats = redis.Redis.from_url(redis_url).info("commandstats")
    counts |= {f"redis {name.removeprefix('cmdstat_')}": value["calls"]
               for name, value in stats.items()}
    return counts


def _per(before: dict, after: dict, n: int) -> dict:
    # _counters' own reads end in a rollback (not a commit); its INFO call is left out.
    changed = {name: (after[name] - before.get(name, 0)) / n for name in after
               if name != "redis info"}
    return {name: round(value, 2) for name, value in changed.items() if value}


def _labelled(db: str) -> set[int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.connect() as conn:
        found = {row[0] for row in conn.execute(text("SELECT prediction_id FROM labels"))}
    engine.dispose()
    return found


def format_report(report: dict) -> str:
    """Markdown tables: throughput and CPU per answer per way, per-click costs, the loss."""
    rows = [report["uvicorn"], *report.get("ray", [])]
    roles = sorted({name for row in rows for name in row["cpu_ms_per_answer"]})
    lines = ["| way | ok/s | p50 ms | p95 ms | one client p50 ms | non-200 | "
             + " | ".join(f"CPU ms/answer: {r}" for r in roles) + " |",
             "|---|" + "---:|" * (5 + len(roles))]
    for row in rows:
        cells = [str(row["cpu_ms_per_answer"].get(r, "-")) for r in roles]
        lines.append(f"| {row['engine']} | {row['ok_per_s']} | {row['p50_ms']} | "
                     f"{row['p95_ms']} | {row['alone_p50_ms']} | {row['requests'] - row['ok']} "
                     f"| " + " | ".join(cells) + " |")
    local = report["local"]
    lines += ["", f"local process (record_click, one thread): {local['clicks_per_s']} clicks/s, "
              f"{local['cpu_ms_per_click']} CPU ms per click"]
    if "per_click" in report:
        lines += ["", "per click: " + json.dumps(report["per_click"]["per_click"]),
                  "per label: " + json.dumps(report["per_click"]["per_label"])]
    if "node_loss" in report:
        lines += ["", "node lost under load: " + json.dumps(report["node_loss"])]
    setup = report["setup"]
    lines += ["", f"{setup['clients']} clients, {setup['duration_s']} s per level, "
              f"{setup['cpus']} CPUs, manifest {setup['manifest']}, 1-min load average "
              f"{setup['load_avg_at_start'][0]:.1f} at the start, "
              f"{setup['load_avg_at_end'][0]:.1f} at the end"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
