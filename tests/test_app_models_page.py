import shutil

from streamlit.testing.v1 import AppTest

from tests.app_models import ROOT, TIMEOUT

PAGE = str(ROOT / "pages" / "models.py")

pytest_plugins = ["tests.app_fixtures"]
def test_models_page_lists_what_is_loaded(app_env):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["model"].tolist() == ["color", "theme"]
    assert table["labels"].tolist() == [21, 16]
    assert table["crop_fraction"].tolist() == [0.2, 0.6]
    assert [h.value for h in at.header] == ["color · version tiny-1", "theme · version tiny-2"]
    assert "rose gold" in at.markdown[1].value and "No MODEL_CARD.md" in at.markdown[-1].value


def test_models_page_shows_the_model_card(app_env, tmp_path, monkeypatch):
    folder = tmp_path / "carded"
    shutil.copytree(app_env.manifest.parent, folder)
    (folder / "metrics.json").write_text('{"validation": {"n": 10, "top1": 0.5, "top5": 0.9}}')
    (folder / "MODEL_CARD.md").write_text("# Model card: `color` tiny-1\nWeak on silver.")
    monkeypatch.setenv("PINPOINT_MANIFEST", str(folder / "manifest.toml"))
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert at.dataframe[0].value["validation top-1"].tolist() == [0.5, 0.5]
    assert any("Weak on silver." in m.value for m in at.markdown)


def test_train_then_make_active_switches_the_served_version(app_env, tmp_path, monkeypatch):
    import time

    from docs.cast_domain import seed_labeled_clicks
    from predictor import load_manifest

    folder = tmp_path / "models"
    shutil.copytree(app_env.manifest.parent, folder)
    manifest = folder / "manifest.toml"
    monkeypatch.setenv("PINPOINT_MANIFEST", str(manifest))
    store = app_env.store()
    seed_labeled_clicks(manifest, store, range(8))

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert at.dataframe[1].value["version"].tolist() == ["tiny-1"]
    assert at.dataframe[1].value["n"].tolist() == [48]
    at.button(key="models_train_color").click().run()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len({s.name for s in _versions(manifest)}) == 2 \
            and len(_versions(manifest)) == 2:
        time.sleep(2)
    assert [(s.version, s.status) for s in _versions(manifest) if s.name == "color"] == [
        ("tiny-1", "active"), ("tiny-1-r1", "candidate")]

    at.run()
    assert at.dataframe[1].value["version"].tolist() == ["tiny-1", "tiny-1-r1"]
    at.selectbox(key="models_promote_color").select("tiny-1-r1").run()
    at.button(key="models_make_active_color").click().run()
    assert not at.exception
    assert [s.version for s in load_manifest(manifest)] == ["tiny-1-r1", "tiny-2"]
    assert at.header[0].value == "color · version tiny-1-r1"  # served without a restart
    with store.read() as conn:
        from sqlalchemy import text

        switched = conn.execute(text("SELECT to_version, source FROM model_switches")).all()
    store.close()
    assert [tuple(row) for row in switched] == [("tiny-1-r1", "app")]


def _versions(manifest):
    from predictor import load_versions

    return load_versions(manifest)


def test_make_active_refuses_a_version_that_does_not_load(app_env, tmp_path, monkeypatch):
    """A candidate whose file now writes files: refused on the page, the app keeps serving."""
    from predictor.learning.versions import register_candidate
    from tests.evil_models import write_evil_pb

    folder = tmp_path / "models"
    shutil.copytree(app_env.manifest.parent, folder)
    manifest = folder / "manifest.toml"
    monkeypatch.setenv("PINPOINT_MANIFEST", str(manifest))
    marker = tmp_path / "PWNED_BY_MAKE_ACTIVE"
    evil = write_evil_pb(folder, "write", marker)
    register_candidate(manifest, {"name": "color", "version": "evil", "file": evil.name,
                                  "labels": "colors.txt", "input_size": 32,
                                  "crop_fraction": 0.2})
    before = manifest.read_bytes()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    at.selectbox(key="models_promote_color").select("evil").run()
    at.button(key="models_make_active_color").click().run()
    assert not at.exception
    assert any("color evil was not made active" in e.value and "'WriteFile'" in e.value
               for e in at.error)
    assert manifest.read_bytes() == before and not marker.exists()
    assert at.header[0].value == "color · version tiny-1"
