"""The service's settings, read from the environment; no web framework imported here."""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SettingsError
from ..images import ImageLimits

# Multipart framing and the x / y / top_k fields around the image need a little room.
BODY_OVERHEAD = 64 * 1024



@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know; `from_env` documents each variable."""

    api_keys: Mapping[str, str] = field(default_factory=dict)  # name -> secret
    admin_keys: frozenset[str] = frozenset()  # names of the API keys that may promote
    image_root: Path | None = None
    manifest: str | None = None
    db_url: str | None = None
    deadline_s: float = 10.0
    max_in_flight: int = 4
    rate: int = 60  # requests per key per `per_s` seconds, also the burst size; 0 = off
    per_s: float = 60.0
    limits: ImageLimits = ImageLimits()
    max_top_k: int = 50

    @property
    def max_body(self) -> int:
        """Largest request body accepted: the image cap plus multipart framing."""
        return self.limits.max_bytes + BODY_OVERHEAD

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read PINPOINT_API_KEYS / _API_KEYS_FILE, _IMAGE_ROOT, _MANIFEST, _DB_URL,
        _DEADLINE_S, _MAX_IN_FLIGHT, _API_RATE ("60/60": requests/seconds per key),
        _MAX_MB, _MAX_MP and _ADMIN_KEYS (comma-separated names of API keys that may
        promote model versions)."""
        env = os.environ if env is None else env
        rate, per_s = _rate(env.get("PINPOINT_API_RATE", "60/60"))
        root = env.get("PINPOINT_IMAGE_ROOT")
        return cls(
            api_keys=_keys(env.get("PINPOINT_API_KEYS", ""), env.get("PINPOINT_API_KEYS_FILE")),
            admin_keys=frozenset(name.strip() for name in
                                 env.get("PINPOINT_ADMIN_KEYS", "").split(",") if name.strip()),
            image_root=Path(root) if root else None,
            manifest=env.get("PINPOINT_MANIFEST") or None,
            db_url=env.get("PINPOINT_DB_URL") or None,
            deadline_s=_positive(env, "PINPOINT_DEADLINE_S", 10.0),
            max_in_flight=int(_positive(env, "PINPOINT_MAX_IN_FLIGHT", 4)),
            rate=rate,
            per_s=per_s,
            limits=ImageLimits(
                int(_positive(env, "PINPOINT_MAX_MB", 20) * 1024 * 1024),
                int(_positive(env, "PINPOINT_MAX_MP", 50) * 1_000_000),
            ),
        )


def is_loopback(host: str) -> bool:
    """Return True for hosts that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse to listen beyond this machine when no API key protects the service."""
    if not settings.api_keys and not is_loopback(host):
        raise SettingsError(
            f"refusing to listen on {host} without API keys: set PINPOINT_API_KEYS or "
            "PINPOINT_API_KEYS_FILE, or use --host 127.0.0.1"
        )


def settings_for_serving(host: str, manifest: str | None = None) -> Settings:
    """Read the settings a server about to listen on `host` runs with, checked once, here.

    `manifest` overrides PINPOINT_MANIFEST for this process and the workers it starts.
    Malformed settings or an unprotected public bind fail as one line.
    """
    if manifest:
        os.environ["PINPOINT_MANIFEST"] = manifest
    settings = Settings.from_env()
    check_bind(settings, host)
    return settings


def warn_if_open(settings: Settings, host: str) -> None:
    """Say on stderr when the server is about to run without API keys (loopback only)."""
    if not settings.api_keys:
        print(f"pinpoint: no API keys configured (PINPOINT_API_KEYS / PINPOINT_API_KEYS_FILE): "
              f"listening on {host} only, without authentication", file=sys.stderr, flush=True)


def _keys(text: str, file: str | None) -> dict[str, str]:
    """Parse "name:secret" or bare "secret" entries, comma- or line-separated; # = comment."""
    if file:
        try:
            text += "\n" + Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                f"cannot read PINPOINT_API_KEYS_FILE {file}: {exc.strerror}") from None
    entries = [e.strip() for e in re.split(r"[,\n]", text)]
    entries = [e for e in entries if e and not e.startswith("#")]
    keys: dict[str, str] = {}
    for number, entry in enumerate(entries, 1):
        name, _, secret = entry.partition(":") if ":" in entry else (f"key{number}", "", entry)
        if len(secret) < 16:
            raise SettingsError(f"API key {name!r} is shorter than 16 characters")
        keys[name.strip() or f"key{number}"] = secret.strip()
    return keys


def _rate(text: str) -> tuple[int, float]:
    text = text.strip()
    if text in ("0", "off"):
        return 0, 1.0
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)", text)
    if not match or int(match[1]) < 1 or float(match[2]) <= 0:
        raise SettingsError(
            f"PINPOINT_API_RATE must look like 60/60 (requests/seconds), got {text!r}")
    return int(match[1]), float(match[2])


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {text!r}") from None
    if not value > 0:
        raise SettingsError(f"{name} must be above 0, got {text!r}")
    return value
