"""Fixtures for AppTest page tests: tiny real models, a fresh database, a fake image click.

Import the fixtures you use into a test module (pytest then finds them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.app_models import ROOT, build_app_models


@dataclass
class AppEnv:
    manifest: Path
    db_url: str

    def store(self):
        from predictor.store import FeedbackStore

        return FeedbackStore(self.db_url)


@pytest.fixture(scope="session")
def app_manifest(tmp_path_factory) -> Path:
    return build_app_models(tmp_path_factory.mktemp("app_models"))


@pytest.fixture
def app_env(app_manifest, tmp_path, monkeypatch) -> AppEnv:
    db_url = f"sqlite:///{tmp_path / 'pinpoint.db'}"
    monkeypatch.setenv("PINPOINT_MANIFEST", str(app_manifest))
    monkeypatch.setenv("PINPOINT_DB_URL", db_url)
    monkeypatch.setenv("PINPOINT_IMAGE_ROOT", "")
    monkeypatch.setenv("PINPOINT_RATE_LIMIT", "0")
    monkeypatch.chdir(ROOT)
    return AppEnv(app_manifest, db_url)


@pytest.fixture
def fake_click(monkeypatch):
    """Replace the click component (AppTest cannot click it); call with (x, y, unix_time)."""
    import ui.labeling

    state: dict[str, object] = {"click": None}

    def component(source, width=None, **_):
        state["shown"] = (width, source.size[1] * width // source.size[0])
        return state["click"]

    monkeypatch.setattr(ui.labeling, "streamlit_image_coordinates", component)

    def click(x: int, y: int, unix_time: int, size: tuple[int, int] = (800, 600)) -> None:
        state["click"] = {"x": x, "y": y, "width": size[0], "height": size[1],
                          "unix_time": unix_time}

    click.state = state
    return click

