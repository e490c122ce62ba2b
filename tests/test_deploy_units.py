import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from predictor.cli.commands import _parser

ROOT = Path(__file__).resolve().parent.parent
UNITS = {"api": ROOT / "deploy" / "pinpoint-api.service",
         "app": ROOT / "deploy" / "pinpoint-app.service"}
INSTALLED = "/opt/pinpoint"  # where docs/deployment.md installs the checkout


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing: `make test` installs Debian's systemd")
        pytest.skip("systemd-analyze is not installed (Debian package 'systemd')")
    return found


def verify(systemd_analyze: str, text: str, folder: Path, name: str) -> str:
    """Run `systemd-analyze verify` on a unit whose paths point into this checkout; return
    everything it said (empty = no complaint at all, not even an ignored line)."""
    venv_bin = Path(sys.executable).parent
    text = text.replace(f"{INSTALLED}/.venv/bin/", f"{venv_bin}/").replace(INSTALLED, str(ROOT))
    unit = folder / name
    unit.write_text(text)
    done = subprocess.run([systemd_analyze, "verify", "--man=no", str(unit)],
                          capture_output=True, text=True, timeout=120)
    said = (done.stdout + done.stderr).strip()
    return said or ("" if done.returncode == 0 else f"exit status {done.returncode}")


def settings(text: str) -> dict[str, list[str]]:
    """Every `Key=value` of a unit file, each key with all its values in order."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@pytest.mark.parametrize("which", sorted(UNITS))
def test_unit_passes_systemd_analyze_verify(which, systemd_analyze, tmp_path):
    assert verify(systemd_analyze, UNITS[which].read_text(), tmp_path,
                  f"pinpoint-{which}.service") == ""


@pytest.mark.parametrize("breakage", [
    ("Restart=on-failure", "Restart=sometimes"),
    ("ProtectSystem=strict", "ProtectSytem=strict"),
    ("ExecStart=/opt/pinpoint/.venv/bin/python", "ExecStart=.venv/bin/python"),
    ("ExecStart=/opt/pinpoint/.venv/bin/python", "ExecStart=/opt/pinpoint/.venv/bin/no-such"),
    ("Type=exec", "Type=daemonish"),
])
def test_the_check_fails_a_broken_unit(breakage, systemd_analyze, tmp_path):
    text = UNITS["api"].read_text()
    assert breakage[0] in text
    said = verify(systemd_analyze, text.replace(breakage[0], breakage[1], 1), tmp_path,
                  "pinpoint-api.service")
    assert said != ""


@pytest.mark.parametrize("which", sorted(UNITS))
def test_unit_runs_sandboxed_from_the_virtualenv_as_an_unprivileged_user(which):
    unit = settings(UNITS[which].read_text())
    assert unit["User"] == ["pinpoint"] and unit["Group"] == ["pinpoint"]
    assert unit["ExecStart"][0].startswith(f"{INSTALLED}/.venv/bin/")
    assert unit["Restart"] == ["on-failure"]
    assert unit["EnvironmentFile"] == ["-/etc/pinpoint/pinpoint.env", f"-/etc/pinpoint/{which}.env"]
    assert unit["ProtectSystem"] == ["strict"] and unit["ReadWritePaths"] == ["/var/lib/pinpoint"]
    assert unit["NoNewPrivileges"] == ["yes"] and unit["PrivateTmp"] == ["yes"]
    assert any("PINPOINT_DB_URL=sqlite:////var/lib/pinpoint/" in e for e in unit["Environment"])


def test_api_unit_reloads_with_sighup_and_stops_after_the_graceful_stop():
    unit = settings(UNITS["api"].read_text())
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["KillSignal"] == ["SIGTERM"]
    graceful = 10 + 6  # default deadline + the store margin (predictor/service/server.py)
    assert int(unit["TimeoutStopSec"][0]) > graceful


def test_api_unit_command_line_is_one_the_cli_accepts():
    unit = settings(UNITS["api"].read_text())
    defaults = dict(pair.split("=", 1) for line in unit["Environment"] for pair in line.split())
    command = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], unit["ExecStart"][0]).split()
    assert command[1:4] == ["-m", "predictor", "serve"]
    args = _parser().parse_args(command[3:])
    assert (args.host, args.port, args.workers) == ("127.0.0.1", 8000, 1)
