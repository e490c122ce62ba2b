"""The API on a two-node Ray cluster (one replica per node), and a node lost under load.

Shared by tests/test_ray_cluster.py (which checks what must hold) and `python -m bench.cluster`
(which prints the figures). The load goes through the head's proxy with the product's own
client, `PinpointClient`, which answers a failure as a degraded, empty answer.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace

import httpx

from predictor.service.client import PinpointClient

from .ray_nodes import AUTH, REPLICA_RESOURCE, LocalCluster

NODE_HEADER = "x-pinpoint-node"  # = predictor.service.ray_engine.NODE_HEADER (no Ray here)
_SAVED: dict[str, str | None] = {}  # the driver's Ray authentication variables before connect


def connect(cluster: LocalCluster, port: int, nodes: int = 2, seconds: float = 180) -> None:
    """Connect this process to the cluster, wait for `nodes` live nodes, start one proxy."""
    import ray
    from ray import serve

    _SAVED.update({name: os.environ.get(name) for name in [*AUTH, "RAY_AUTH_TOKEN_PATH"]})
    os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
    os.environ.update(AUTH)  # the driver authenticates with the nodes' token
    _reread_auth()
    ray.init(address=cluster.address, log_to_driver=False)
    wait_for_nodes(nodes, seconds)
    # Every node is on this machine: one proxy (the head's) on `port`, not one per node.
    serve.start(proxy_location="HeadOnly", http_options={"host": "127.0.0.1", "port": port})


def disconnect() -> None:
    """Leave the cluster without stopping Serve (its nodes are about to be stopped anyway);
    forget Serve's client, so that a later `connect` starts afresh."""
    import ray
    from ray.serve import context

    context._set_global_client(None)
    ray.shutdown()
    for name, value in _SAVED.items():  # a later ray.init() finds the environment as it was
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if _SAVED:
        _reread_auth()
    _SAVED.clear()


def _reread_auth() -> None:
    """Make this process re-read Ray's authentication variables (read once, at import)."""
    from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

    # What Ray's own tests do between clusters (ray._private.authentication_test_utils).
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def deploy_per_node(settings, config, replicas: int = 2) -> None:
    """Deploy the API with `replicas` replicas, each needing the one unit a node has."""
    from predictor.service import ray_engine

    ray_engine.deploy(settings, replace(config, num_replicas=replicas,
                                        resources=((REPLICA_RESOURCE, 1.0),)))


def wait_for_nodes(count: int, seconds: float = 180) -> None:
    import ray

    deadline = time.monotonic() + seconds
    while len(node_names()) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} Ray nodes alive: {ray.nodes()}")
        time.sleep(0.5)


def node_names() -> dict[str, str]:
    """Ray node id -> the name it was started with (head, second, ...), live nodes only."""
    import ray

    return {node["NodeID"]: resource.removeprefix("pinpoint_node_")
            for node in ray.nodes() if node["Alive"]
            for resource in node["Resources"] if resource.startswith("pinpoint_node_")}


def answering_nodes(url: str, requests: int = 30) -> Counter:
    """Which node's replica answered each of `requests` fresh /readyz calls."""
    seen: Counter = Counter()
    for _ in range(requests):
        answer = httpx.get(f"{url}/readyz", timeout=10)
        seen[answer.headers.get(NODE_HEADER)] += answer.status_code == 200
    return seen


@dataclass
class Loss:
    """What a run of `node_loss` saw; times are seconds since the load began."""

    calls: list[tuple[float, float, str]] = field(default_factory=list)  # start, end, outcome
    acked: list[int] = field(default_factory=list)  # prediction ids whose label got a 200
    degraded_not_empty: int = 0
    exceptions: list[str] = field(default_factory=list)
    killed_at: float = 0.0
    back_at: float = 0.0
    replaced_after_s: float | None = None

    def figures(self, stored: set[int]) -> dict:
        """The report: failed calls, time to recover, acknowledged labels lost."""
        failed = [c for c in self.calls if c[2] != "ok"]
        last_failure = max((end for _, end, _ in failed), default=None)
        return {"calls": len(self.calls), "failed": len(failed),
                "failures": dict(Counter(c[2] for c in failed)),
                "recovered_after_s": None if last_failure is None
                else round(max(0.0, last_failure - self.killed_at), 2),
                "labels_acknowledged": len(self.acked),
                "labels_lost": len(set(self.acked) - stored),
                "degraded_not_empty": self.degraded_not_empty,
                "exceptions": len(self.exceptions),
                "killed_at_s": round(self.killed_at, 2), "node_back_at_s": round(self.back_at, 2),
                "replica_replaced_after_s": self.replaced_after_s}


def node_loss(cluster: LocalCluster, url: str, keys: list[str], image: bytes, *,
              duration: float = 18, kill_at: float = 5, back_at: float = 10,
              max_calls: int = 60, label: tuple[str, str] = ("color", "red")) -> Loss:
    """Clients (one per key) click and label through the proxy, each at most `max_calls`
    times, spread evenly over `duration`; kill the node "second" at `kill_at`, start a new
    one at `back_at`; then wait until a replica on the new node answers."""
    loss, began = Loss(), time.monotonic()
    stop_at = began + duration
    threads = [threading.Thread(target=_client, args=(url, key, image, stop_at, max_calls,
                                                      label, began, loss)) for key in keys]
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, began + kill_at - time.monotonic()))
    before = set(node_names())
    loss.killed_at = time.monotonic() - began
    cluster.kill("second")
    time.sleep(max(0.0, began + back_at - time.monotonic()))
    loss.back_at = time.monotonic() - began
    cluster.add_node("second-back")
    for thread in threads:
        thread.join()
    loss.replaced_after_s = _wait_for_new_node(url, before, began + loss.back_at)
    return loss


def _client(url: str, key: str, image: bytes, stop_at: float, max_calls: int,
            label: tuple[str, str], began: float, loss: Loss) -> None:
    try:
        with PinpointClient(url, key, read_timeout=10) as client:
            every = (stop_at - began) / max_calls
            for number in range(max_calls):
                time.sleep(max(0.0, began + number * every - time.monotonic()))
                if time.monotonic() >= stop_at:
                    return
                start = time.monotonic() - began
                answer = client.predict(image, 60, 45, top_k=1)
                if not answer.degraded:
                    answer = client.feedback(int(answer.data["prediction_id"]),
                                             {label[0]: label[1]})
                    if not answer.degraded:
                        loss.acked.append(int(answer.data["prediction_id"]))
                loss.calls.append((start, time.monotonic() - began,
                                   "ok" if not answer.degraded else _why(answer.reason)))
                if answer.degraded and (answer.data or answer.predictions):
                    loss.degraded_not_empty += 1
    except Exception as exc:  # the client promises never to raise: record it if it does
        loss.exceptions.append(f"{type(exc).__name__}: {exc}")


def _why(reason: str | None) -> str:
    return (reason or "?").split(":")[0][:40]


def _wait_for_new_node(url: str, before: set[str], since: float,
                       seconds: float = 180) -> float | None:
    """Seconds from the node's restart until a replica on a node not seen before answers."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            answered = {node for node, ok in answering_nodes(url, 6).items() if ok}
            if answered - before - {None}:
                return round(time.monotonic() - since, 1)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return None
