"""Run the service for real: uvicorn on a free loopback port, in a thread or a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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
__all__ = ["ALICE", "KEYS", "LiveServer", "free_port", "serve_subprocess", "sharing", "wait_ready"]


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
    """Start `python -m predictor serve` as its own process, output to a pipe."""
    return subprocess.Popen(
        [sys.executable, "-m", "predictor", "serve", "--port", str(port), "--no-access-log", *args],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
