"""The app in remote mode ($PINPOINT_SERVICE_URL): its pages read the model facts from the
service's /v1/models and never load a model in the app's process."""

import sqlite3

import pytest
from streamlit.testing.v1 import AppTest

from predictor import Predictor
from predictor.service import Settings, create_app
from tests.app_models import ROOT, TIMEOUT, png
from tests.live_server import KEYS, LiveServer, free_port, wait_ready

pytest_plugins = ["tests.app_fixtures"]


def _page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=TIMEOUT).run()


@pytest.fixture(scope="module")
def service(app_manifest, tmp_path_factory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('service') / 'service.db'}"
    settings = Settings(api_keys=KEYS, db_url=db_url)
    app = create_app(settings, load_predictor=lambda: Predictor.from_manifest(app_manifest))
    with LiveServer(app) as server:
        wait_ready(server.url)
        yield server


@pytest.fixture
def remote(service, app_env, tmp_path, monkeypatch):
    """The app pointed at the live service, with no model manifest on its own machine and
    every way of loading a model in this process counted."""
    import ui.common

    ui.common._remote_models.clear()
    monkeypatch.setenv("PINPOINT_SERVICE_URL", service.url)
    monkeypatch.setenv("PINPOINT_API_KEY", KEYS["alice"])
    monkeypatch.setenv("PINPOINT_MANIFEST", str(tmp_path / "no-such-manifest.toml"))
    loads: list[str] = []

    def counted(name):
        def load(*args, **kwargs):
            loads.append(name)
            raise AssertionError(f"the app loaded models itself ({name})")
        return load

    monkeypatch.setattr(Predictor, "from_manifest", classmethod(counted("from_manifest")))
    monkeypatch.setattr(Predictor, "from_specs", classmethod(counted("from_specs")))
    return loads


def _rows(env, sql):
    with sqlite3.connect(env.db_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


def test_predict_page_works_from_the_service_facts_alone(remote, fake_click):
    at = _page("predict")
    at.file_uploader(key="predict_upload").set_value(("red.png", png(), "image/png"))
    at.run()
    fake_click(200, 300, unix_time=1)
    at.run()
    assert not at.exception and not at.error
    legend = next(h.body for h in at.get("html") if "pinpoint-legend" in h.body)
    assert "color model" in legend and "theme model" in legend
    other = at.radio(key="predict_answer_color_1")
    other.set_value("another label…").run()
    assert "rose gold" in at.selectbox(key="predict_other_color_1").options  # labels/colors.txt
    at.selectbox(key="predict_other_color_1").set_value("rose gold")
    at.radio(key="predict_answer_theme_1").set_value("not sure / skip")
    at.button(key="predict_save").click().run()
    assert at.success[0].value.startswith("Saved ✓ color = rose gold (theme skipped)")
    assert remote == []


def test_models_page_lists_the_service_models_and_says_where_training_happens(remote, service):
    at = _page("models")
    assert not at.exception and not at.error
    assert [h.value for h in at.header] == ["color · version tiny-1", "theme · version tiny-2"]
    assert "keras file `color.keras` · input 32×32 px · crop = 20%" in at.caption[0].value
    assert service.url in at.markdown[0].value
    assert "happen where the models are" in at.info[0].value
    table = at.dataframe[0].value
    assert list(table["model"]) == ["color", "theme"] and (table["load_ms"] > 0).all()
    assert len(at.dataframe) == 1 and not at.button  # no versions, train or promote here
    assert remote == []


def test_label_session_and_performance_pages_load_no_model(remote):
    at = _page("label_session")
    at.radio(key="label_source").set_value("Sample photos").run()
    assert not at.exception and not at.error
    assert at.subheader[0].value.startswith("Photo 1 of ")
    at = _page("performance")
    assert not at.exception and not at.error
    assert "python -m predictor bench" in at.caption[-1].value
    assert remote == []


def test_a_service_that_is_down_is_named_on_the_page(app_env, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"  # a loopback port nobody listens on
    monkeypatch.setenv("PINPOINT_SERVICE_URL", url)
    for name in ("predict", "label_session", "models"):
        at = _page(name)
        assert not at.exception
        assert at.error[0].value.startswith(f"No predictions for now: the prediction service "
                                            f"at {url} did not answer (cannot reach")


def test_a_service_that_stops_after_the_page_loaded_gives_a_degraded_row(
        app_env, app_manifest, fake_click, monkeypatch):
    import ui.common

    ui.common._remote_models.clear()
    app = create_app(Settings(api_keys=KEYS, db_url=app_env.db_url),
                     load_predictor=lambda: Predictor.from_manifest(app_manifest))
    with LiveServer(app) as service:
        wait_ready(service.url)
        monkeypatch.setenv("PINPOINT_SERVICE_URL", service.url)
        monkeypatch.setenv("PINPOINT_API_KEY", KEYS["alice"])
        at = _page("predict")
        at.file_uploader(key="predict_upload").set_value(("red.png", png(), "image/png"))
        at.run()
    fake_click(10, 10, unix_time=1)
    at.run()  # the model facts are kept for 30 s; the click itself finds nobody
    assert not at.exception
    assert "the prediction service did not answer" in at.error[0].value
    assert _rows(app_env, "SELECT status FROM predictions") == [("degraded",)]
