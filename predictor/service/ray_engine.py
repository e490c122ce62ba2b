"""Pinpoint on Ray Serve: the same FastAPI app as the ingress, the models loaded per replica.

Only `python -m predictor serve --engine ray`, the Ray tests and the Ray benchmark import
this module; it imports Ray.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import ray
from fastapi import FastAPI
from ray import serve

from ..errors import PinpointError
from ..manifest import load_manifest
from ..predict import Predictor
from .app import create_app
from .batching import BatchedModels
from .ray_config import INLINE_ARGUMENTS, Batching, RayConfig, load_ray_config
from .settings import Settings, settings_for_serving, warn_if_open

APP_NAME = "pinpoint"
NODE_HEADER = "x-pinpoint-node"  # the Ray node id of the replica that answered
_ROOT = str(Path(__file__).resolve().parents[2])


class DeployFailed(PinpointError):
    """Ray could not start the replicas; the reason is in the replicas' logs."""


@serve.ingress()
class PinpointReplica:
    """One replica: loads and warms the models in its own process, then serves the app."""

    async def __init__(self, settings: Settings, batching: Batching):  # type: ignore[misc]
        self.settings = settings
        self.batcher: BatchedModels | None = None
        loaded = await asyncio.to_thread(Predictor.from_manifest, settings.manifest,
                                         limits=settings.limits)
        if batching.enabled:
            # The replica's event loop runs the @serve.batch queues; capture it here.
            self.batcher = BatchedModels(asyncio.get_running_loop(), batching)
            loaded.close()
            shadows = loaded.shadow_models or None
            loaded = Predictor(self.batcher.wrap_all(loaded.models), loaded.limits,
                               shadows=shadows)
        self.predictor = loaded

    def __serve_build_asgi_app__(self) -> FastAPI:
        """Build the service exactly as uvicorn would, around this replica's models."""
        app = create_app(self.settings, load_predictor=lambda: self.predictor)
        if self.batcher is not None:
            self.batcher.metrics = app.state.pinpoint.metrics
        app.add_middleware(_NameTheNode, node=ray.get_runtime_context().get_node_id())
        return app


class _NameTheNode:
    """ASGI middleware: every answer says which Ray node's replica gave it."""

    def __init__(self, app: Any, node: str):
        self.app, self.header = app, (NODE_HEADER.encode(), node.encode())

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        async def naming_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        await self.app(scope, receive, naming_send if scope["type"] == "http" else send)


def start_cluster(host: str, port: int, num_cpus: int | None = None,
                  proxy_location: str = "EveryNode") -> None:
    """Join the cluster at RAY_ADDRESS, or start one on this machine; then start Serve's proxy
    (one per node, or "HeadOnly": several nodes on one machine cannot share one port)."""
    # Workers must import `predictor` whatever directory Ray starts them in.
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    os.environ["PYTHONPATH"] = os.pathsep.join([_ROOT, *paths])
    # On a busy machine Ray's agent can take over 20 s to start, which the raylet's default
    # wait treats as fatal (seen here with 2 cores shared with training).
    os.environ.setdefault("RAY_agent_register_timeout_ms", "120000")
    for name, value in INLINE_ARGUMENTS.items():  # for a cluster started here
        os.environ.setdefault(name, value)
    if os.environ.get("RAY_ADDRESS"):
        ray.init(address=os.environ["RAY_ADDRESS"])
    else:
        # "local": a new cluster of our own, even if `ray start` left one on this machine.
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 log_to_driver=False)
    serve.start(proxy_location=proxy_location, http_options={"host": host, "port": port})


def deploy(settings: Settings, config: RayConfig, *, name: str = APP_NAME,
           route_prefix: str = "/") -> None:
    """Deploy (or redeploy) the service; returns once every replica has loaded its models."""
    deployment: Any = serve.deployment(PinpointReplica, name=name)
    bound = deployment.options(**config.deployment_options()).bind(settings, config.batching)
    try:
        serve.run(bound, name=name, route_prefix=route_prefix)
    except RuntimeError as exc:
        raise DeployFailed(f"{exc} (replica logs: /tmp/ray/session_latest/logs/serve)") from None


def stop_cluster() -> None:
    """Stop Serve and disconnect (a cluster this process started stops with it)."""
    serve.shutdown()
    ray.shutdown()


def serve_ray(host: str = "127.0.0.1", port: int = 8000, *, manifest: str | None = None,
              config_path: str | None = None) -> int:
    """Run the service on Ray Serve until SIGINT or SIGTERM."""
    settings = settings_for_serving(host, manifest)
    config = load_ray_config(config_path)
    load_manifest(settings.manifest)  # a broken manifest fails here, in one line, not in Ray
    warn_if_open(settings, host)
    start_cluster(host, port)
    # After ray.init, whose own SIGTERM handler would abort the process without cleaning up.
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        deploy(settings, config)
        batching = config.batching
        print(f"pinpoint: Ray Serve on http://{host}:{port} ({config.num_replicas} replicas, "
              f"batching {'up to ' + str(batching.max_batch_size) if batching.enabled else 'off'})",
              file=sys.stderr, flush=True)
        stop.wait()
    finally:
        stop_cluster()
    return 0
