import pytest

from predictor.cli import main
from predictor.service import Settings, SettingsError, check_bind, is_loopback
from predictor.service.guards import find_key
from predictor.service.metrics import Metrics

KEYS = {"alice": "alice-secret-key-0001", "bob": "bob-secret-key-000002"}


def test_keys_come_from_the_variable_and_the_file(tmp_path):
    secrets = tmp_path / "keys.txt"
    secrets.write_text("# team keys\ncarol:carol-secret-key-03\n\nbare-secret-key-000004\n")
    env = {"PINPOINT_API_KEYS": "alice:alice-secret-key-0001, bob:bob:secret-with-colon",
           "PINPOINT_API_KEYS_FILE": str(secrets)}
    assert Settings.from_env(env).api_keys == {
        "alice": "alice-secret-key-0001", "bob": "bob:secret-with-colon",
        "carol": "carol-secret-key-03", "key4": "bare-secret-key-000004"}


@pytest.mark.parametrize(("env", "message"), [
    ({"PINPOINT_API_KEYS": "alice:short"}, "shorter than 16"),
    ({"PINPOINT_API_KEYS_FILE": "/nonexistent/keys"}, "cannot read"),
    ({"PINPOINT_API_RATE": "fast"}, "PINPOINT_API_RATE must look like 60/60"),
    ({"PINPOINT_DEADLINE_S": "0"}, "PINPOINT_DEADLINE_S must be above 0"),
    ({"PINPOINT_MAX_IN_FLIGHT": "many"}, "PINPOINT_MAX_IN_FLIGHT must be a whole number"),
    ({"PINPOINT_MAX_MB": "big"}, "PINPOINT_MAX_MB must be a number"),
])
def test_malformed_settings_are_one_line_errors(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_defaults_and_body_cap():
    settings = Settings.from_env({"PINPOINT_MAX_MB": "1", "PINPOINT_API_RATE": "0"})
    assert settings.api_keys == {} and settings.rate == 0 and settings.deadline_s == 10
    assert settings.max_body == 1024 * 1024 + 64 * 1024


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("127.8.0.1", True), ("0.0.0.0", False), ("::", False), ("192.168.1.4", False),
    ("example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


def test_without_keys_only_loopback_may_be_bound():
    check_bind(Settings(), "127.0.0.1")
    check_bind(Settings(api_keys=KEYS), "0.0.0.0")
    with pytest.raises(SettingsError, match="without API keys"):
        check_bind(Settings(), "0.0.0.0")


def test_serve_refuses_a_public_host_without_keys(monkeypatch, capsys):
    monkeypatch.delenv("PINPOINT_API_KEYS", raising=False)
    monkeypatch.delenv("PINPOINT_API_KEYS_FILE", raising=False)
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert capsys.readouterr().err.startswith("error: refusing to listen on 0.0.0.0")


@pytest.mark.parametrize(("offered", "name"), [
    ("alice-secret-key-0001", "alice"), ("bob-secret-key-000002", "bob"),
    ("alice-secret-key-000", None), ("alice-secret-key-00011", None), ("", None), (None, None),
    ("ALICE-SECRET-KEY-0001", None)])
def test_find_key(offered, name):
    assert find_key(KEYS, offered) == name


def test_metrics_render_prometheus_text():
    metrics = Metrics()
    metrics.count("hits_total", "hits", route="/a", status="200")
    metrics.count("hits_total", "hits", route="/a", status="200")
    metrics.observe("lat_seconds", "latency", 0.02, route='q"x')
    metrics.observe("lat_seconds", "latency", 3.0, route='q"x')
    metrics.set("up", "up", 1)
    lines = metrics.render().splitlines()
    assert 'hits_total{route="/a",status="200"} 2.0' in lines
    assert 'lat_seconds_bucket{le="0.01",route="q\\"x"} 0.0' in lines
    assert 'lat_seconds_bucket{le="0.025",route="q\\"x"} 1.0' in lines
    assert 'lat_seconds_bucket{le="5.0",route="q\\"x"} 2.0' in lines
    assert 'lat_seconds_bucket{le="+Inf",route="q\\"x"} 2.0' in lines
    assert 'lat_seconds_count{route="q\\"x"} 2.0' in lines
    assert "# TYPE lat_seconds histogram" in lines and "up 1.0" in lines
