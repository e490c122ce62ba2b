"""A throwaway Redis on a free loopback port (Debian's redis-server), for shared rate limits."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bench.server import free_port


def redis_bin() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """Start redis-server on 127.0.0.1 with no persistence; yield its URL; stop it."""
    port, folder = free_port(), tempfile.mkdtemp(prefix="pinpoint-redis-")
    server = subprocess.Popen(
        [redis_bin() or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", folder],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_ping(port, server)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for_ping(port: int, server: subprocess.Popen) -> None:
    import redis

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return
        except redis.RedisError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")
