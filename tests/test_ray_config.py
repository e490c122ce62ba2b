"""deploy/ray_serve.toml and `serve --engine ray`'s checks, all before any cluster starts."""

import subprocess
import sys

import pytest

from predictor.cli import main
from predictor.service.ray_config import DEFAULT_RAY_CONFIG, load_ray_config
from predictor.service.settings import SettingsError
from tests.live_server import ROOT
from tests.ray_support import import_or_fail


def write(tmp_path, text):
    path = tmp_path / "ray.toml"
    path.write_text(text)
    return path


def test_the_shipped_config_reads_as_written():
    config = load_ray_config(DEFAULT_RAY_CONFIG)
    assert config.deployment_options() == {"num_replicas": 1, "max_ongoing_requests": 64,
                                           "ray_actor_options": {"num_cpus": 1.0}}
    assert (config.batching.enabled, config.batching.max_batch_size,
            config.batching.batch_wait_timeout_s) == (True, 8, 0.005)


def test_auto_replicas_turn_on_autoscaling(tmp_path):
    config = load_ray_config(write(tmp_path, '[deployment]\nnum_replicas = "auto"\n'
                                   "[autoscaling]\nmin_replicas = 2\nmax_replicas = 6\n"))
    options = config.deployment_options()
    assert "num_replicas" not in options
    assert options["autoscaling_config"] == {"min_replicas": 2, "max_replicas": 6,
                                             "target_ongoing_requests": 8.0}


def test_overrides_for_the_benchmark_change_only_what_they_name():
    config = load_ray_config().with_changes(replicas=2, batching=False)
    assert config.num_replicas == 2 and not config.batching.enabled
    assert config.batching.max_batch_size == 8 and config.max_ongoing_requests == 64


def test_custom_resources_go_to_every_replicas_actor_options(tmp_path):
    config = load_ray_config(write(tmp_path, "[deployment]\nnum_cpus = 0.5\n"
                                   "[deployment.resources]\npinpoint_replica = 1\n"))
    assert config.deployment_options()["ray_actor_options"] == {
        "num_cpus": 0.5, "resources": {"pinpoint_replica": 1.0}}


@pytest.mark.parametrize("text", [
    "[deployment]\nnum_replicas = 0\n",
    "[deployment]\nresources = 1\n",
    '[deployment.resources]\npinpoint_replica = "one"\n',
    '[deployment]\nnum_replicas = "many"\n',
    "[deployment]\nmax_ongoing_requests = 2.5\n",
    "[batching]\nmax_batch_size = 0\n",
    "[batching]\nbatch_wait_timeout_s = -1\n",
    '[batching]\nbatch_wait_timeout_s = "soon"\n',
    "[autoscaling]\nmin_replicas = 5\nmax_replicas = 2\n",
    "[deployment\n",
], ids=repr)
def test_malformed_config_is_one_settings_error(tmp_path, text):
    with pytest.raises(SettingsError, match="ray.toml"):
        load_ray_config(write(tmp_path, text))


def test_importing_predictor_and_its_service_never_imports_ray():
    code = ("import sys, predictor, predictor.cli, predictor.service; "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.ray
def test_ray_engine_refuses_a_broken_config_with_exit_2(tmp_path, capsys, monkeypatch):
    import_or_fail("ray")  # without Ray the same call says how to install it (exit 2)
    monkeypatch.setenv("PINPOINT_API_KEYS", "")
    broken = write(tmp_path, "[batching]\nmax_batch_size = 0\n")
    assert main(["serve", "--engine", "ray", "--ray-config", str(broken)]) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: {broken}: max_batch_size")


def test_ray_engine_refuses_to_listen_beyond_loopback_without_keys(capsys, monkeypatch):
    monkeypatch.delenv("PINPOINT_API_KEYS", raising=False)
    monkeypatch.delenv("PINPOINT_API_KEYS_FILE", raising=False)
    status = main(["serve", "--engine", "ray", "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert status == 2
    assert "refusing to listen on 0.0.0.0" in err or "pip install -r requirements-ray.txt" in err


@pytest.mark.ray
def test_ray_engine_refuses_a_broken_manifest_before_starting_ray(tmp_path, capsys, monkeypatch):
    import_or_fail("ray")
    monkeypatch.setenv("PINPOINT_API_KEYS", "")
    manifest = write(tmp_path, '[[model]]\nname = "x"\nfile = "missing.keras"\nlabels = "l"\n')
    monkeypatch.setenv("PINPOINT_MANIFEST", str(manifest))  # --manifest would outlive the test
    assert main(["serve", "--engine", "ray"]) == 2
    assert "missing.keras does not exist" in capsys.readouterr().err


@pytest.mark.ray
@pytest.mark.parametrize("text", ["", '[deployment]\nnum_replicas = "auto"\n'
                                  "[autoscaling]\nmin_replicas = 2\nmax_replicas = 6\n"])
def test_ray_accepts_the_options_the_config_produces(tmp_path, text):
    engine = import_or_fail("predictor.service.ray_engine")
    from ray import serve

    config = load_ray_config(write(tmp_path, text))
    deployment = serve.deployment(engine.PinpointReplica).options(**config.deployment_options())
    scaling = deployment._deployment_config.autoscaling_config
    if config.num_replicas == "auto":
        assert (scaling.min_replicas, scaling.max_replicas) == (2, 6)
    else:
        assert scaling is None and deployment.num_replicas == 1
    assert deployment.max_ongoing_requests == 64
    assert deployment.ray_actor_options == {"num_cpus": 1.0}
