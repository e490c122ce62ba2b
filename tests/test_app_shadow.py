import shutil

from streamlit.testing.v1 import AppTest

from tests.app_models import ROOT, TIMEOUT

PAGE = str(ROOT / "pages" / "models.py")

pytest_plugins = ["tests.app_fixtures"]


def test_a_shadow_toggled_on_the_models_page_is_scored_on_the_same_clicks(
        app_env, tmp_path, monkeypatch):
    from docs.cast_domain import render
    from predictor import Predictor, load_versions
    from predictor.learning import record_click, record_labels
    from predictor.learning.shadow import shadows_of
    from predictor.learning.versions import read_entries, register_candidate

    folder = tmp_path / "models"
    shutil.copytree(app_env.manifest.parent, folder)
    manifest = folder / "manifest.toml"
    monkeypatch.setenv("PINPOINT_MANIFEST", str(manifest))
    # The same file as a second version: its answers must equal the served ones, click by click.
    register_candidate(manifest, {**read_entries(manifest)[0], "version": "tiny-1b"})

    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    at.toggle(key="models_shadow_color_tiny-1b").set_value(True).run()
    assert {s.version: s.shadow for s in load_versions(manifest) if s.name == "color"} == {
        "tiny-1": False, "tiny-1b": True}

    predictor, store = Predictor.from_manifest(manifest), app_env.store()
    image, points = render(0)
    for x, y, label in points:
        recorded = record_click(predictor, store, image, (x, y), tester="ann")
        record_labels(predictor, store, recorded.prediction_id, {"color": label}, tester="ann")
    shadows_of(predictor).wait(30)
    predictor.close()
    store.close()

    at.run()
    assert not at.exception
    [table] = [d.value for d in at.dataframe if "shadow_top1" in d.value.columns]
    [row] = table.to_dict("records")
    assert (row["version"], row["shadowed_clicks"], row["labeled"]) == ("tiny-1b", 6, 6)
    assert row["shadow_top1"] == row["served_top1"] and row["served_versions"] == "tiny-1"
