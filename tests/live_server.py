"""Run the service for real: uvicorn on a free loopback port, in a thread or a subprocess."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn

import bench.server
from bench.server import free_port
from predictor import Predictor

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"alice": "alice-secret-key-0001", "bob": "bob-secret-key-000002"}
ALICE = {"X-API-Key": KEYS["alice"]}
__all__ = ["ALICE", "KEYS", "LiveServer", "free_port", "log_events", "serve_logged",
           "serve_subprocess", "sharing", "wait_for_event", "wait_ready", "write_tflite_manifest"]


class LiveServer:
    """uvicorn serving `app` on 127.0.0.1 in a background thread, for `with` blocks."""

    def __init__(self, app) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]},
                                       daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.socket.close()


def wait_ready(url: str, seconds: float = 120) -> None:
    """Poll /readyz until it answers 200, or raise."""
    if not bench.server.wait_ready(url, seconds):
        raise RuntimeError(f"{url} never became ready")


def sharing(predictor: Predictor, **options) -> Predictor:
    """A new Predictor over already loaded models (closing it leaves the shared one working)."""
    return Predictor(predictor.models, **options)


def serve_subprocess(env: dict[str, str], port: int, *args: str) -> subprocess.Popen:
    """Start `python -m predictor serve` as its own process, output to a temporary file
    (a pipe nobody reads would fill with the log lines of a busy server and block it)."""
    with tempfile.TemporaryFile("w+") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "predictor", "serve", "--port", str(port), "--no-access-log",
             *args], cwd=ROOT, env={**os.environ, **env}, stdout=output,
            stderr=subprocess.STDOUT, text=True)


def serve_logged(env: dict[str, str], port: int, logs: Path, *args: str) -> subprocess.Popen:
    """Start `python -m predictor serve` with stdout (access log) and stderr (Pinpoint's own
    lines) in files under `logs`, so a busy server never blocks on a full pipe."""
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / "stdout.log", "w") as out, open(logs / "stderr.log", "w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "predictor", "serve", "--port", str(port), *args],
            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=err, text=True)


def write_tflite_manifest(path: Path, tiny_models: Path, version: str) -> Path:
    """A manifest of one model, "color": the tiny TFLite model (no TensorFlow import to serve)."""
    from tests.model_factory import manifest_entry

    entry = manifest_entry("color", str(tiny_models / "tiny.tflite"), version=version,
                           labels=str(tiny_models / "labels.txt"))
    temporary = path.with_suffix(".tmp")
    temporary.write_text(entry)
    temporary.replace(path)  # a reload never reads half a file
    return path


def log_events(path: Path) -> list[dict]:
    """The JSON lines of a log file (uvicorn's own plain lines are skipped)."""
    events = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events


def wait_for_event(path: Path, name: str, seconds: float = 60) -> dict:
    """Poll a log file until an event of that name appears; return it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [e for e in log_events(path) if e.get("event") == name]
        if found:
            return found[-1]
        time.sleep(0.1)
    raise AssertionError(f"no {name!r} event in {path}:\n{path.read_text()[-3000:]}")
