from pathlib import Path

import pytest

from predictor import ManifestError, load_manifest, load_versions
from predictor.learning.versions import (
    UnknownVersion,
    next_version,
    promote,
    read_entries,
    register_candidate,
)
from tests.model_factory import manifest_entry


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    (tmp_path / "m.keras").write_bytes(b"x")
    (tmp_path / "labels.txt").write_text("red\nblue\n")
    path = tmp_path / "manifest.toml"
    path.write_text("# team notes stay\n" + manifest_entry("color", "m.keras", version="1.0.0"))
    return path


@pytest.mark.parametrize(("versions", "expected"), [
    (["1.0.0"], "1.1.0"), (["1.0.0", "1.4.2"], "1.5.0"), (["0.1"], "0.2"), (["3"], "4"),
    (["beta"], "beta-r1"), (["beta", "beta-r1"], "beta-r2"),
])
def test_next_version_follows_the_highest_one(versions, expected):
    entries = [{"name": "color", "version": v} for v in versions] + [
        {"name": "theme", "version": "9.0.0"}]
    assert next_version(entries, "color") == expected


def test_a_registered_version_is_a_candidate_until_promoted(manifest):
    register_candidate(manifest, {**read_entries(manifest)[0], "version": "1.1.0"})
    assert [s.version for s in load_manifest(manifest)] == ["1.0.0"]
    assert promote(manifest, "color", "1.1.0") == "1.0.0"
    assert {s.version: s.status for s in load_versions(manifest)} == {
        "1.0.0": "retired", "1.1.0": "active"}
    assert promote(manifest, "color", "1.0.0") == "1.1.0"  # roll back
    assert [s.version for s in load_manifest(manifest)] == ["1.0.0"]
    assert promote(manifest, "color", "1.0.0") is None  # already active: nothing written
    assert manifest.read_text().startswith("# team notes stay\n")
    assert not list(manifest.parent.glob(".manifest-*"))  # no temporary file left behind


def test_registering_the_same_version_twice_is_refused(manifest):
    with pytest.raises(ManifestError, match="already"):
        register_candidate(manifest, {**read_entries(manifest)[0]})


@pytest.mark.parametrize(("model", "version", "message"), [
    ("colour", "1.0.0", "no model 'colour'"), ("color", "2.0.0", "no version '2.0.0'")])
def test_promoting_an_unknown_version_changes_nothing(manifest, model, version, message):
    before = manifest.read_text()
    with pytest.raises(UnknownVersion, match=message):
        promote(manifest, model, version)
    assert manifest.read_text() == before


def _register_many(manifest: Path, prefix: str, start, count: int) -> None:
    start.wait()
    entry = read_entries(manifest)[0]
    for n in range(count):
        register_candidate(manifest, {**entry, "version": f"{prefix}.{n}"})


def test_changes_from_two_processes_at_once_all_land(manifest):
    # Each change reads, edits and writes the manifest under one lock: without it, a process
    # writing what it read before the other's write drops that entry (seen failing here without it).
    import multiprocessing

    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    workers = [context.Process(target=_register_many, args=(manifest, prefix, start, 15))
               for prefix in ("7", "8")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [w.exitcode for w in workers] == [0, 0]
    versions = {s.version for s in load_versions(manifest)}
    assert versions == {"1.0.0"} | {f"{p}.{n}" for p in ("7", "8") for n in range(15)}


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
resource.setrlimit(resource.RLIMIT_FSIZE, (256, 256))  # no file may grow past 256 bytes
from predictor.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [["promote", "color", "1.1.0"],
                                     ["shadow", "color", "1.1.0"]])
def test_a_manifest_that_cannot_be_written_is_left_as_it_was(manifest, command):
    """As on a full disk: the new manifest cannot be written, so nothing changes."""
    import subprocess
    import sys

    register_candidate(manifest, {"name": "color", "version": "1.1.0", "file": "m.keras",
                                  "labels": "labels.txt", "input_size": 32,
                                  "crop_fraction": 0.5})
    before = manifest.read_bytes()
    assert len(before) > 256
    done = subprocess.run([sys.executable, "-c", FULL_DISK, "--manifest", str(manifest),
                           *command], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith(f"error: cannot write the manifest {manifest}: ")
    assert len(done.stderr.strip().splitlines()) == 1
    assert manifest.read_bytes() == before
    assert sorted(p.name for p in manifest.parent.iterdir()) == [
        ".manifest.toml.lock", "labels.txt", "m.keras", "manifest.toml"]
