"""Several Ray nodes on this one machine, each a `ray start --block` of its own, loopback only.

Used by tests/test_ray_cluster.py and `python -m bench.cluster`. Each node gets its own
temporary folder, its own free ports and one unit of the custom resource `pinpoint_replica`
(so a deployment asking for one unit per replica gets one replica per node). Nodes are
stopped by the ids of the processes this module started (never `ray stop`, which would stop
every Ray process on the machine, other people's included).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .server import free_port

ROOT = Path(__file__).resolve().parents[1]
REPLICA_RESOURCE = "pinpoint_replica"
MARK = "PINPOINT_RAY_NODE"
# Ray turns --node-ip-address=127.0.0.1 into the machine's outward address; any other
# loopback address it keeps. So each node gets its own: the head 127.0.0.2, then .3, .4, ...
HEAD_IP = "127.0.0.2"
# Ray 2.60 turns token authentication on for `ray start` once ~/.ray/auth_token exists (a
# local `ray.init()` writes it); the nodes and the driver then need the same token. Ours is
# explicit, one per process: nodes, driver and any second cluster of the run share it.
AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
# Faster than Ray's defaults (3 s x 5 checks), so that a lost node is noticed within ~5 s;
# the GCS reads them, so they matter on the head. What `bench.cluster` and the docs report.
HEALTH_CHECKS = {"RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                 "RAY_health_check_failure_threshold": "5"}


@dataclass
class RayNode:
    """One `ray start --block` process (the leader of its own process group) and its folder."""

    name: str
    process: subprocess.Popen
    folder: Path
    log: Path
    ip: str


@dataclass
class LocalCluster:
    """A head and worker nodes on 127.0.0.1; `stop()` ends every process they started."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pp-ray-")))
    cpus_per_node: int = 1
    gcs_port: int = field(default_factory=free_port)
    nodes: dict[str, RayNode] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # more variables for every node

    @property
    def address(self) -> str:
        return f"{HEAD_IP}:{self.gcs_port}"

    def start_head(self) -> RayNode:
        """Start the head node (GCS, no dashboard) and wait until its port answers."""
        node = self._start("head", ["--head", f"--port={self.gcs_port}",
                                    "--include-dashboard=false",
                                    f"--ray-client-server-port={free_port()}"])
        _wait_for_port(HEAD_IP, self.gcs_port, node)
        return node

    def add_node(self, name: str) -> RayNode:
        """Start a worker node that joins the head (returns before it has registered)."""
        return self._start(name, [f"--address={self.address}"])

    def restart(self, workers: list[str]) -> None:
        """Stop every node and start the head and `workers` again, on new ports: a port picked
        free can be taken by another process before a node binds it, on a busy machine."""
        self.stop()
        self.gcs_port = free_port()
        self.start_head()
        for name in workers:
            self.add_node(name)

    def logs(self) -> str:
        """The end of each node's `ray start` log, to say why a node did not come up."""
        return "\n".join(f"--- {n.name}: {n.log}\n{n.log.read_text()[-1500:]}"
                         for n in self.nodes.values() if n.log.exists())

    def kill(self, name: str) -> None:
        """SIGKILL a node's every process at once, as if its machine lost power."""
        node = self.nodes.pop(name)
        for pid in _marked(str(node.folder)):
            _kill(pid, signal.SIGKILL)
        node.process.wait(30)

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL what is left) and remove the folders."""
        for name in [n for n in self.nodes if n != "head"] + ["head"]:
            node = self.nodes.pop(name, None)
            if node is not None:
                _kill(node.process.pid, signal.SIGTERM)  # `ray start --block` stops its node
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.process.wait(20)
        deadline = time.monotonic() + 10
        while (left := _marked(str(self.folder))) and time.monotonic() < deadline:
            for pid in left:
                _kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        shutil.rmtree(self.folder, ignore_errors=True)

    def processes(self) -> dict[int, str]:
        """pid -> process title, for every live process of every node (for CPU accounting)."""
        return {pid: _title(pid) for pid in _marked(str(self.folder))}

    def _ip(self, name: str) -> str:
        if name == "head":
            return HEAD_IP
        taken = {n.ip for n in self.nodes.values()}
        return next(ip for i in range(3, 250) if (ip := f"127.0.0.{i}") not in taken)

    def _start(self, name: str, args: list[str]) -> RayNode:
        folder = self.folder / name
        folder.mkdir(parents=True)
        ip = self._ip(name)
        resources = {REPLICA_RESOURCE: 1, f"pinpoint_node_{name}": 1}
        command = [sys.executable, "-m", "ray.scripts.scripts", "start", "--block", *args,
                   f"--num-cpus={self.cpus_per_node}", "--num-gpus=0",
                   f"--resources={json.dumps(resources)}", f"--temp-dir={folder}",
                   "--object-store-memory=100000000", f"--node-ip-address={ip}",
                   f"--dashboard-agent-listen-port={free_port()}",
                   f"--dashboard-agent-grpc-port={free_port()}",
                   f"--runtime-env-agent-port={free_port()}",
                   f"--metrics-export-port={free_port()}",
                   f"--node-manager-port={free_port()}", f"--object-manager-port={free_port()}"]
        log = folder / "ray-start.log"
        with open(log, "w") as out:
            process = subprocess.Popen(command, env={**_node_env(folder), **self.env},
                                       stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       cwd=ROOT)
        node = RayNode(name, process, folder, log, ip)
        self.nodes[name] = node
        return node


def _node_env(folder: Path) -> dict[str, str]:
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    inherited = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_TOKEN_PATH"}
    return {**inherited, **HEALTH_CHECKS, **AUTH,
            # Inherited by every process of the node (raylet, agents, workers): how
            # `_marked` finds them, even once a killed raylet's workers were re-parented.
            MARK: str(folder),
            "PYTHONPATH": os.pathsep.join([str(ROOT), *paths]),
            "RAY_agent_register_timeout_ms": "120000",
            # One proxy (on the head) for every replica: let it spread requests over nodes
            # instead of preferring the replica on its own node.
            "RAY_SERVE_PROXY_PREFER_LOCAL_NODE_ROUTING": "0",
            "RAY_USAGE_STATS_ENABLED": "0"}


def _wait_for_port(host: str, port: int, node: RayNode, seconds: float = 120) -> None:
    import socket

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            raise RuntimeError(f"ray start {node.name} ended: {node.log.read_text()[-800:]}")
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"Ray node {node.name} did not open port {port}")


def _marked(prefix: str) -> list[int]:
    """Processes of this user whose environment has MARK under `prefix` (pid reuse-safe)."""
    needle = f"{MARK}={prefix}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                environ = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if any(item == needle or item.startswith(needle + b"/")
                   for item in environ.split(b"\0")):
                found.append(int(entry))
    return found


def _title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return "?"


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
