"""Every PINPOINT_* setting, read from the environment in one place and checked once.

`load_config()` returns a frozen `Config`; the app, the CLI and the service each read it at
start (the app on every rerun, which is cheap). A malformed value raises SettingsError
naming the variable. The service adds its own view of it in service/settings.py.
"""

from __future__ import annotations

import functools
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import SettingsError
from .image_limits import ImageLimits

ENV_PREFIX = "PINPOINT_"


@dataclass(frozen=True)
class Rate:
    """At most `limit` events per `per_s` seconds (whole seconds)."""

    limit: int
    per_s: int

    def __str__(self) -> str:
        return f"{self.limit}/{self.per_s}"


def parse_rate(text: str, variable: str = "the rate") -> Rate | None:
    """Read "N/SECONDS" (a fraction of a second rounds up); "0", "off" or "none" mean no limit."""
    text = text.strip()
    if text.lower() in ("0", "off", "none"):
        return None
    match = re.fullmatch(r"(\d+)\s*/\s*(\d+(?:\.\d+)?)", text)
    if not match or int(match[1]) < 1 or float(match[2]) <= 0:
        raise SettingsError(f"{variable} must look like 60/60 (events/seconds) or none, "
                            f"got {text!r}")
    return Rate(int(match[1]), max(1, math.ceil(float(match[2]))))


class Config(BaseSettings):
    """The PINPOINT_* environment variables, typed; see docs/configuration.md."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore",
                                      env_ignore_empty=True)

    manifest: str | None = None
    db_url: str | None = None
    image_root: Path | None = None
    service_url: str | None = None  # the app predicts through this service when set
    api_key: str | None = None  # the app's key for that service
    api_keys: str = ""  # the service's keys: "name:secret" entries, comma- or line-separated
    api_keys_file: str | None = None
    admin_keys: str = ""  # names of the API keys that may promote model versions, comma-separated
    api_rate: str = "60/60"  # per API key
    rate_limit: str = "60/60"  # per tester in the app
    rate_storage: str = "memory://"  # where limits are counted: memory:// or redis://HOST:PORT
    deadline_s: Annotated[float, Field(gt=0)] = 10.0
    max_in_flight: Annotated[int, Field(gt=0)] = 4
    max_mb: Annotated[float, Field(gt=0)] = 20.0
    max_mp: Annotated[float, Field(gt=0)] = 50.0
    decode_mp: Annotated[float, Field(gt=0)] = 100.0  # megapixels decoded at once, per process
    log_format: Literal["json", "text"] = "json"  # the service's own log lines on stderr

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @property
    def limits(self) -> ImageLimits:
        """The byte and pixel caps of an image, for the app, the CLI and the service alike."""
        return ImageLimits(int(self.max_mb * 1024 * 1024), int(self.max_mp * 1_000_000))

    @property
    def app_rate(self) -> Rate | None:
        return parse_rate(self.rate_limit, f"{ENV_PREFIX}RATE_LIMIT")

    @property
    def key_rate(self) -> Rate | None:
        return parse_rate(self.api_rate, f"{ENV_PREFIX}API_RATE")


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read and check the environment (or `env`); raise SettingsError naming a bad variable.

    Checked once per set of PINPOINT_* values (a check takes ~2 ms and the app asks several
    times a click); a changed value is read and checked again, an error is never kept."""
    source = os.environ if env is None else env
    return _checked(tuple(sorted((name[len(ENV_PREFIX):].lower(), value)
                                 for name, value in source.items()
                                 if name.upper().startswith(ENV_PREFIX) and value != "")))


@functools.lru_cache(maxsize=16)
def _checked(given: tuple[tuple[str, str], ...]) -> Config:
    try:
        config = Config.model_validate(dict(given))  # validated alone, no environment read
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None
    config.app_rate, config.key_rate  # noqa: B018 - malformed rates fail here, at start
    return config


_PLAIN = {"int_parsing": "must be a whole number", "float_parsing": "must be a number",
          "greater_than": "must be above 0", "int_from_float": "must be a whole number"}


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    name = f"{ENV_PREFIX}{str(first['loc'][0]).upper()}" if first["loc"] else "a setting"
    return f"{name} {_PLAIN.get(first['type'], first['msg'].lower())}, got {first.get('input')!r}"
