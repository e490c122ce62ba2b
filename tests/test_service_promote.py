import shutil
import sqlite3

import httpx
import pytest

from predictor import Predictor, load_versions
from predictor.service import Settings, create_app
from tests.conftest import encode, noise_image
from tests.live_server import ALICE, KEYS, LiveServer, wait_ready
from tests.model_factory import manifest_entry

BOB = {"X-API-Key": KEYS["bob"]}
PHOTO = encode(noise_image(80, 60, seed=5), "PNG")


@pytest.fixture
def served(tiny_models, tmp_path):
    """A service on a manifest with tiny 0.1 active and 0.2 a candidate; alice is admin."""
    for name in ("tiny.keras", "labels.txt"):
        shutil.copy(tiny_models / name, tmp_path / name)
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(manifest_entry("tiny", "tiny.keras", status="active")
                        + manifest_entry("tiny", "tiny.keras", version="0.2", status="candidate"))
    db = tmp_path / "feedback.db"
    settings = Settings(api_keys=KEYS, admin_keys=frozenset({"alice"}), manifest=str(manifest),
                        db_url=f"sqlite:///{db}", rate=0)
    app = create_app(settings, load_predictor=lambda: Predictor.from_manifest(manifest))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server.url, manifest, db


def version_answering(url: str) -> str:
    answer = httpx.post(f"{url}/v1/predict", files={"image": ("p.png", PHOTO, "image/png")},
                        data={"x": "40", "y": "30"}, headers=ALICE, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["models"]["tiny"]["version"]


def promote(url: str, version: str, headers: dict) -> httpx.Response:
    return httpx.post(f"{url}/admin/promote", json={"model": "tiny", "version": version},
                      headers=headers, timeout=60)


def test_an_admin_promotes_and_rolls_back_without_a_restart(served):
    url, manifest, db = served
    assert version_answering(url) == "0.1"
    promoted = promote(url, "0.2", ALICE)
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["before"] == "0.1" and promoted.json()["switched"] is True
    assert version_answering(url) == "0.2"
    assert {s.version: s.status for s in load_versions(manifest)} == {
        "0.1": "retired", "0.2": "active"}
    assert promote(url, "0.1", ALICE).status_code == 200
    assert version_answering(url) == "0.1"
    with sqlite3.connect(db) as conn:
        switches = conn.execute("SELECT from_version, to_version, by, source "
                                "FROM model_switches ORDER BY id").fetchall()
    assert switches == [("0.1", "0.2", "api:alice", "api"), ("0.2", "0.1", "api:alice", "api")]


@pytest.mark.parametrize(("version", "headers", "status"), [
    ("0.2", BOB, 403), ("0.2", {}, 401), ("9.9", ALICE, 404)])
def test_promotion_is_refused_to_non_admins_and_unknown_versions(served, version, headers,
                                                                 status):
    url, manifest, _db = served
    before = manifest.read_text()
    answer = promote(url, version, headers)
    assert answer.status_code == status
    assert "error" in answer.json()
    assert manifest.read_text() == before
    assert version_answering(url) == "0.1"


def test_promoting_a_version_whose_file_now_writes_files_changes_nothing(served, tmp_path):
    """The candidate's file was swapped for a graph that writes a file: refused at its load."""
    from predictor.learning.versions import register_candidate
    from tests.evil_models import write_evil_pb

    url, manifest, _ = served
    marker = tmp_path / "PWNED_BY_PROMOTE"
    evil = write_evil_pb(tmp_path, "write", marker)
    register_candidate(manifest, {"name": "tiny", "version": "0.3", "file": evil.name,
                                  "labels": "labels.txt", "input_size": 32,
                                  "crop_fraction": 0.5})
    before = manifest.read_bytes()
    refused = promote(url, "0.3", ALICE)
    assert 400 <= refused.status_code < 500, refused.text
    assert "holds the operation 'WriteFile'" in refused.json()["message"]
    assert not marker.exists()
    assert manifest.read_bytes() == before and version_answering(url) == "0.1"
