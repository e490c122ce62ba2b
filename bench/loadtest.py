"""A bounded load test of the service on loopback: fixed duration, a few client counts.

    python -m bench.loadtest [--manifest M | --stand-in] [--duration 20] [--clients 1,8,32]

Starts `python -m predictor serve` on a free 127.0.0.1 port (its own temporary database and
key), uploads one JPEG at a fixed point from N client threads for `duration` seconds per
level, and prints throughput, latency percentiles, status counts and the server's RSS.
Clients wait as `Retry-After` asks before their next request (--ignore-retry-after: not).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from .server import free_port, wait_ready

SHED = "503 Overloaded"  # refused at once because every prediction slot was busy


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    image = Path(args.image).read_bytes() if args.image else sample_jpeg()
    levels = [int(n) for n in args.clients.split(",")]
    with tempfile.TemporaryDirectory(prefix="pinpoint-load-") as folder:
        if args.stand_in:
            args.manifest = str(stand_in_manifest(Path(folder)))
        key = secrets.token_urlsafe(24)
        server, url = start_server(args, Path(folder), key)
        report: dict = {"levels": [], "rss": {}}
        try:
            report = _run(url, key, server, image, levels, args.duration,
                          not args.ignore_retry_after)
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                server.wait(30)
            else:  # it died under load: say how, with the end of its log
                log = (Path(folder) / "server.log").read_text(errors="replace")
                report["server_died"] = {"returncode": server.returncode,
                                         "log_tail": log.splitlines()[-15:]}
    report["setup"] = {"duration_s": args.duration, "image_bytes": len(image),
                       "honors_retry_after": not args.ignore_retry_after,
                       "max_in_flight": args.max_in_flight, "cpus": os.cpu_count(),
                       "manifest": "stand-in" if args.stand_in else args.manifest or
                       "models/manifest.toml"}
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.loadtest", description=__doc__)
    parser.add_argument("--manifest", help="models to serve (default models/manifest.toml)")
    parser.add_argument("--stand-in", action="store_true",
                        help="serve untrained models of the default architecture and sizes")
    parser.add_argument("--duration", type=float, default=20, help="seconds per level")
    parser.add_argument("--clients", default="1,8,32", help="client counts, comma-separated")
    parser.add_argument("--max-in-flight", type=int, default=4, help="the service's bound")
    parser.add_argument("--image", help="image to upload (default: a generated 1024x768 JPEG)")
    parser.add_argument("--ignore-retry-after", action="store_true",
                        help="retry a 503 at once instead of waiting as Retry-After asks")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def stand_in_manifest(folder: Path) -> Path:
    """Write untrained color and theme models shaped like training's recipes, and a manifest.

    Their cost per call is that of the trained defaults (same layers and input sizes); their
    answers mean nothing, which a load test does not need.
    """
    from predictor.manifest import read_labels
    from training.net import build
    from training.train import RECIPES

    entries = []
    for name, recipe in RECIPES.items():
        labels = read_labels(recipe.labels_path)
        model = build(len(labels), recipe.input_size, recipe.width, recipe.head)
        model.save(folder / f"{name}.keras")
        entries.append(f'[[model]]\nname = "{name}"\nfile = "{name}.keras"\n'
                       f'labels = "{recipe.labels_path}"\nversion = "stand-in"\n'
                       f"input_size = {recipe.input_size}\n"
                       f"crop_fraction = {recipe.crop_fraction}\n")
    manifest = folder / "manifest.toml"
    manifest.write_text("\n".join(entries), encoding="utf-8")
    return manifest


def sample_jpeg() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (96, 128, 3), np.uint8).repeat(8, 0).repeat(8, 1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def start_server(args: argparse.Namespace, folder: Path, key: str
                  ) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PINPOINT_API_KEYS": f"load:{key}", "PINPOINT_API_RATE": "0",
           "PINPOINT_DB_URL": f"sqlite:///{folder / 'load.db'}",
           "PINPOINT_MAX_IN_FLIGHT": str(args.max_in_flight)}
    command = [sys.executable, "-m", "predictor"]
    command += ["--manifest", args.manifest] if args.manifest else []
    command += ["serve", "--port", str(port), "--no-access-log"]
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if wait_ready(url, 300, alive=lambda: server.poll() is None):
        return server, url
    server.kill()
    raise SystemExit(f"the service did not become ready:\n{(folder / 'server.log').read_text()}")


def _run(url: str, key: str, server: subprocess.Popen, image: bytes, levels: list[int],
         duration: float, polite: bool) -> dict:
    rss = {"after_warm_up_mb": _rss_mb(server.pid)}
    results: list[dict] = []
    for number, clients in enumerate(levels, 1):
        results.append(level(url, key, image, clients, duration, polite))
        if server.poll() is not None:
            break
        rss[f"after_level_{number}_{clients}_clients_mb"] = _rss_mb(server.pid)
    return {"levels": results, "rss": rss}


def level(url: str, key: str, image: bytes, clients: int, duration: float,
           polite: bool = True) -> dict:
    samples: list[tuple[float, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)
    end = [0.0]

    def client() -> None:
        mine = []
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
            start.wait()
            end[0] = end[0] or time.monotonic() + duration
            while time.monotonic() < end[0]:
                began = time.perf_counter()
                wait = 0.0
                try:
                    answer = http.post("/v1/predict", files={"image": ("load.jpg", image)},
                                       data={"x": "512", "y": "384"})
                    outcome = _outcome(answer)
                    wait = float(answer.headers.get("retry-after", 0)) if polite else 0.0
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                mine.append((time.perf_counter() - began, outcome))
                time.sleep(min(wait, max(0.0, end[0] - time.monotonic())))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return summary(clients, samples, time.monotonic() - began)


def summary(clients: int, samples: list[tuple[float, str]], elapsed: float) -> dict:
    ok = np.array([s for s, outcome in samples if outcome == "200"]) * 1e3
    shed_ms = np.array([s for s, outcome in samples if outcome == SHED]) * 1e3
    counts = Counter(outcome for _, outcome in samples)
    shed = counts.get(SHED, 0)

    def pct(q: float) -> float | None:
        return round(float(np.percentile(ok, q)), 1) if len(ok) else None

    return {"clients": clients, "requests": len(samples), "ok": int(len(ok)),
            "ok_per_s": round(len(ok) / elapsed, 1), "p50_ms": pct(50), "p95_ms": pct(95),
            "p99_ms": pct(99), "shed_503": shed,
            "shed_p50_ms": round(float(np.median(shed_ms)), 1) if shed else None,
            "errors": len(samples) - len(ok) - shed, "statuses": dict(counts)}


def _outcome(answer: httpx.Response) -> str:
    """"200", or the status and the service's error name, e.g. "503 Overloaded"."""
    if answer.status_code == 200:
        return "200"
    try:
        return f"{answer.status_code} {answer.json()['error']}"
    except (ValueError, KeyError, TypeError):
        return str(answer.status_code)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def format_report(report: dict) -> str:
    """Return the levels as a Markdown table, then RSS."""
    lines = ["| clients | requests | ok/s | p50 ms | p95 ms | p99 ms | 503 shed (p50 ms) "
             "| other | statuses |", "|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in report["levels"]:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(row["statuses"].items()))
        lines.append("| {clients} | {requests} | {ok_per_s} | {p50_ms} | {p95_ms} | {p99_ms} "
                     "| {shed_503} ({shed_p50_ms}) | {errors} | ".format(**row) + statuses + " |")
    lines.append("")
    lines.append("server RSS (MB): " + ", ".join(f"{k} {v}" for k, v in report["rss"].items()))
    if "server_died" in report:
        died = report["server_died"]
        lines += [f"THE SERVER DIED (exit status {died['returncode']}); its last log lines:",
                  *died["log_tail"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
