"""The one free-port and wait-until-ready helper for tools and tests that start the service."""

from __future__ import annotations

import socket
import time

import httpx


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(url: str, seconds: float = 120, alive=None) -> bool:
    """Poll `url`/readyz until it answers 200; False if `seconds` pass or `alive()` says no."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (alive is None or alive()):
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return False
