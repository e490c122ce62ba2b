"""The service's settings, read from the environment; no web framework imported here."""

from __future__ import annotations

import ipaddress
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..config import Config, load_config
from ..errors import SettingsError
from ..images import ImageLimits

# Multipart framing and the x / y / top_k fields around the image need a little room.
BODY_OVERHEAD = 64 * 1024



@dataclass(frozen=True)
class Settings:
    """Everything the service needs to know, built from the one `Config` (predictor/config.py)."""

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
    log_format: str = "json"  # or "text"

    @property
    def max_body(self) -> int:
        """Largest request body accepted: the image cap plus multipart framing."""
        return self.limits.max_bytes + BODY_OVERHEAD

    rate_storage: str = "memory://"  # where the per-key limit is counted (redis:// to share)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the PINPOINT_* variables (predictor/config.py checks each one)."""
        return cls.from_config(load_config(env))

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        """The service's view of the settings: keys parsed, limits and rate as numbers."""
        rate = config.key_rate
        return cls(
            api_keys=_keys(config.api_keys, config.api_keys_file),
            admin_keys=frozenset(name.strip() for name in config.admin_keys.split(",")
                                 if name.strip()),
            image_root=config.image_root,
            manifest=config.manifest,
            db_url=config.db_url,
            deadline_s=config.deadline_s,
            max_in_flight=config.max_in_flight,
            rate=rate.limit if rate else 0,
            per_s=rate.per_s if rate else 60.0,
            limits=config.limits,
            rate_storage=config.rate_storage,
            log_format=config.log_format,
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


def settings_for_serving(host: str, manifest: str | None = None,
                         log_format: str | None = None) -> Settings:
    """Read the settings a server about to listen on `host` runs with, checked once, here.

    `manifest` and `log_format` override PINPOINT_MANIFEST and PINPOINT_LOG_FORMAT for this
    process and the workers it starts. Malformed settings or an unprotected public bind fail
    as one line.
    """
    if manifest:
        os.environ["PINPOINT_MANIFEST"] = manifest
    if log_format:
        os.environ["PINPOINT_LOG_FORMAT"] = log_format
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
