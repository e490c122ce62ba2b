import subprocess
import sys
import tomllib

import streamlit as st
from streamlit.testing.v1 import AppTest

from predictor import Predictor
from tests.app_models import ROOT, TIMEOUT

pytest_plugins = ["tests.app_fixtures"]
def test_models_load_once_across_sessions_and_pages(app_env, monkeypatch):
    loads = []
    real = Predictor.from_manifest.__func__

    def counting(cls, *args, **kwargs):
        loads.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Predictor, "from_manifest", classmethod(counting))
    st.cache_resource.clear()
    for page in ("predict.py", "label_session.py", "models.py", "predict.py", "performance.py"):
        at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=TIMEOUT).run()
        assert not at.exception
    assert len(loads) == 1


def test_login_screen_alone_when_oidc_is_configured(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback",
                          "cookie_secret": "x" * 32, "client_id": "pinpoint",
                          "client_secret": "s", "server_metadata_url":
                          "https://id.example/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.radio and not at.get("file_uploader") and not at.sidebar.text_input


def test_login_gate_also_guards_each_page_opened_directly(app_env):
    at = AppTest.from_file(str(ROOT / "pages" / "accuracy.py"), default_timeout=TIMEOUT)
    at.secrets["auth"] = {"client_id": "pinpoint"}
    at.run()
    assert [b.label for b in at.button] == ["Log in"] and not at.metric and not at.info


def test_streamlit_config_hides_errors_keeps_xsrf_and_caps_uploads():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["server"]["maxUploadSize"] <= 25
    assert config["browser"]["gatherUsageStats"] is False


def test_core_imports_no_streamlit():
    code = ("import sys, predictor; from predictor import FeedbackStore, accuracy_table, "
            "labeled_answers, record_click, read_card; "
            "assert 'streamlit' not in sys.modules, 'streamlit imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
