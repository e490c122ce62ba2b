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
    code = ("import sys, predictor; from predictor.store import FeedbackStore, accuracy_table, "
            "labeled_answers; from predictor.learning import record_click, read_card; "
            "import predictor.service.client, predictor.cli; "
            "assert 'streamlit' not in sys.modules, 'streamlit imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_open_app_refuses_to_serve_beyond_loopback_without_login(app_env, monkeypatch):
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    finally:
        config.set_option("server.address", before)
    assert not at.exception
    assert "without login" in at.error[0].value
    assert not at.radio and not at.get("file_uploader") and not at.sidebar.text_input


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.append(address)
    return found


def test_make_run_listens_on_loopback_only(tmp_path):
    import time

    from tests.live_server import free_port

    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True)
    command = next(line for line in dry.stdout.splitlines() if "streamlit run" in line)
    port = free_port()
    args = command.split()[1:]
    args[args.index("--server.port") + 1] = str(port)
    server = subprocess.Popen([sys.executable, "-m", "streamlit", *args, "--server.headless",
                               "true"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if _listening(port):
                break
            time.sleep(0.1)
        addresses = _listening(port)
    finally:
        server.kill()
        server.wait(10)
    assert addresses == ["0100007F"]  # 127.0.0.1, and not 0.0.0.0 or ::
