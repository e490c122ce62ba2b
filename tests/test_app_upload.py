import shutil

import pytest
from streamlit.testing.v1 import AppTest

from tests.app_models import ROOT, TIMEOUT

PAGE = str(ROOT / "pages" / "models.py")

pytest_plugins = ["tests.app_fixtures"]


@pytest.fixture
def models_copy(app_env, tmp_path, monkeypatch):
    """A writable copy of the app's tiny models, with labeled clicks on two images."""
    from docs.cast_domain import seed_labeled_clicks

    folder = tmp_path / "models"
    shutil.copytree(app_env.manifest.parent, folder)
    monkeypatch.setenv("PINPOINT_MANIFEST", str(folder / "manifest.toml"))
    store = app_env.store()
    seed_labeled_clicks(folder / "manifest.toml", store, range(2))
    store.close()
    return folder


def _submit(at, model_file, labels: bytes, version: str = ""):
    at.file_uploader(key="models_upload_file_color").set_value(
        (model_file.name, model_file.read_bytes(), "application/octet-stream"))
    at.file_uploader(key="models_upload_labels_color").set_value(
        ("colors.txt", labels, "text/plain"))
    at.text_input(key="models_upload_version_color").set_value(version)
    next(b for b in at.button if b.label == "Check and add the version"
         and "color" in b.id).click()
    return at.run()


def test_an_uploaded_version_is_listed_as_a_candidate_with_its_figures(models_copy):
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert at.dataframe[1].value["version"].tolist() == ["tiny-1"]
    assert len(at.get("file_uploader")) == 4  # model and labels, for color and theme
    labels = (models_copy / "colors.txt").read_bytes()
    _submit(at, models_copy / "color.keras", labels, version="team-1")
    assert not at.exception and not at.error
    assert any("color team-1 added as a candidate (keras)" in s.value for s in at.success)
    table = at.dataframe[1].value
    assert table["version"].tolist() == ["tiny-1", "team-1"]
    assert table["status"].tolist() == ["active", "candidate"]
    # the same weights on the same 12 labeled points: the same figures
    assert table["n"].tolist() == [12, 12] and table["top1"][0] == table["top1"][1]
    assert (models_copy / "color" / "team-1" / "model.keras").is_file()
    assert at.header[0].value == "color · version tiny-1"  # still served: only a candidate


def test_a_refused_upload_says_why_and_changes_nothing(models_copy):
    before = (models_copy / "manifest.toml").read_bytes()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    labels = (models_copy / "colors.txt").read_text().splitlines()
    _submit(at, models_copy / "color.keras", "\n".join(labels[:-1]).encode())
    assert not at.exception
    assert at.error[0].value.startswith("Not added: the model does not work as described")
    assert "outputs 21 classes but labels.txt has 20 labels" in at.error[0].value
    assert (models_copy / "manifest.toml").read_bytes() == before
    assert not (models_copy / "color").exists()
    assert at.dataframe[1].value["version"].tolist() == ["tiny-1"]


def test_only_an_admin_sees_the_upload_form(models_copy, monkeypatch):
    import ui.common

    monkeypatch.setattr(ui.common, "is_admin", lambda: False)
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.get("file_uploader")) == 0
    assert any("may train, upload or change" in c.value for c in at.caption)
