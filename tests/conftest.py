"""Shared fixtures: tiny real models of every format, and images made here."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.model_factory import build_tiny_models
from tests.pg_server import postgres_bin, throwaway_postgres
from tests.redis_server import redis_bin, throwaway_redis


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with one tiny Keras model exported to every format, plus a manifest of all."""
    return build_tiny_models(tmp_path_factory.mktemp("tiny_models"))


@pytest.fixture(scope="session")
def tiny_predictor(tiny_models: Path):
    from predictor import Predictor

    predictor = Predictor.from_manifest(tiny_models / "manifest.toml")
    yield predictor
    predictor.close()


@pytest.fixture(scope="session")
def postgres_server():
    """A private PostgreSQL server for the session. Without PostgreSQL installed the tests
    that need it skip locally, and fail in CI (CI=true), where `make test` installs it."""
    if postgres_bin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed: `make test` installs the Debian package")
        pytest.skip("PostgreSQL is not installed (Debian package 'postgresql')")
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url():
    """A private Redis on loopback for the session (Debian's redis-server; CI fails without)."""
    if redis_bin() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is not installed: `make test` installs the Debian package")
        pytest.skip("redis-server is not installed (Debian package 'redis-server')")
    with throwaway_redis() as url:
        yield url


@pytest.fixture
def postgres_database(postgres_server: str) -> str:
    """A new, empty database on the session's PostgreSQL server."""
    from sqlalchemy import create_engine, text

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return postgres_server.rsplit("/", 1)[0] + f"/{name}"


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise_image(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    channels = len(mode)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, channels), np.uint8)
    return Image.fromarray(pixels.squeeze(), mode if channels > 1 else "L")
