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
