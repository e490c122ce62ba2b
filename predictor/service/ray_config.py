"""The Ray Serve deployment's settings, read from one TOML file; Ray is not imported here."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .settings import SettingsError

DEFAULT_RAY_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "ray_serve.toml"
# Ray sends a call's arguments and results over 100 KB through its object store (the
# raylets) instead of inside the call; a photo upload is bigger. Raising the limits cost a
# third less CPU in the raylets and replicas here (docs/deployment.md, "Why Ray is slower").
# Read by each Ray process when it starts: set them in the environment of `ray start`.
INLINE_ARGUMENTS = {"RAY_max_direct_call_object_size": str(4 << 20),
                    "RAY_task_rpc_inlined_bytes_limit": str(32 << 20)}


@dataclass(frozen=True)
class Batching:
    """How one replica merges concurrent model calls (Ray's `@serve.batch`)."""

    enabled: bool = True
    max_batch_size: int = 8
    batch_wait_timeout_s: float = 0.005


@dataclass(frozen=True)
class RayConfig:
    """Replicas, autoscaling and batching for `python -m predictor serve --engine ray`."""

    num_replicas: int | str = 1  # a count, or "auto"
    max_ongoing_requests: int = 64
    num_cpus: float = 1.0
    # Custom node resources each replica needs, e.g. {"pinpoint_replica": 1}: give every
    # node one unit (`ray start --resources`) and each node holds at most one replica.
    resources: tuple[tuple[str, float], ...] = ()
    min_replicas: int = 1
    max_replicas: int = 4
    target_ongoing_requests: float = 8.0
    batching: Batching = Batching()

    def deployment_options(self) -> dict[str, Any]:
        """Return the keyword arguments for `serve.deployment(...).options(...)`."""
        options: dict[str, Any] = {
            "max_ongoing_requests": self.max_ongoing_requests,
            "ray_actor_options": {"num_cpus": self.num_cpus},
        }
        if self.resources:
            options["ray_actor_options"]["resources"] = dict(self.resources)
        if self.num_replicas == "auto":
            options["autoscaling_config"] = {
                "min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests}
        else:
            options["num_replicas"] = self.num_replicas
        return options

    def with_changes(self, replicas: int | None = None, batching: bool | None = None
                     ) -> RayConfig:
        """Return a copy with the replica count and/or batching switch overridden."""
        changed = self if replicas is None else replace(self, num_replicas=replicas)
        if batching is not None:
            changed = replace(changed, batching=replace(changed.batching, enabled=batching))
        return changed


def load_ray_config(path: str | Path | None = None) -> RayConfig:
    """Read the TOML file (default deploy/ray_serve.toml); malformed values raise SettingsError."""
    path = Path(path) if path else DEFAULT_RAY_CONFIG
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read the Ray config {path}: {exc}") from None
    deployment, scaling = data.get("deployment", {}), data.get("autoscaling", {})
    batching = data.get("batching", {})
    replicas = deployment.get("num_replicas", 1)
    if replicas != "auto" and not (isinstance(replicas, int) and replicas >= 1):
        raise SettingsError(f"{path}: num_replicas must be a whole number >= 1 or \"auto\"")
    config = RayConfig(
        num_replicas=replicas,
        max_ongoing_requests=_number(path, deployment, "max_ongoing_requests", 64, int),
        num_cpus=_number(path, deployment, "num_cpus", 1.0, float, minimum=0.0),
        resources=_resources(path, deployment.get("resources", {})),
        min_replicas=_number(path, scaling, "min_replicas", 1, int),
        max_replicas=_number(path, scaling, "max_replicas", 4, int),
        target_ongoing_requests=_number(path, scaling, "target_ongoing_requests", 8.0, float),
        batching=Batching(
            enabled=bool(batching.get("enabled", True)),
            max_batch_size=_number(path, batching, "max_batch_size", 8, int),
            batch_wait_timeout_s=_number(path, batching, "batch_wait_timeout_s", 0.005, float,
                                         minimum=0.0)),
    )
    if config.min_replicas > config.max_replicas:
        raise SettingsError(f"{path}: min_replicas is above max_replicas")
    return config


def _resources(path: Path, table: object) -> tuple[tuple[str, float], ...]:
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: resources must be a table of name = amount")
    return tuple((name, _number(path, table, name, 0, float, minimum=0.0)) for name in table)


def _number(path: Path, table: dict, key: str, default: float, kind: type,
            minimum: float = 1) -> Any:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise SettingsError(f"{path}: {key} must be a number >= {minimum:g}, got {value!r}")
    if kind is int and value != int(value):
        raise SettingsError(f"{path}: {key} must be a whole number, got {value!r}")
    return kind(value)
