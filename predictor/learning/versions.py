"""Change which model versions a manifest lists and serves: register a candidate, promote one.

The manifest is rewritten whole and atomically (a temporary file in the same folder, then
`os.replace`), so a reader sees the old manifest or the new one, never half of either. Each
change reads, edits and writes it under an exclusive lock on a file beside it, so two changes
at once (a training finishing while a version is uploaded or promoted, in any process) both
land instead of the later one dropping the earlier one's entry.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import ManifestError
from ..manifest import load_versions, manifest_path

_HEADER = "# Model manifest: one [[model]] entry per version; one version per name is active.\n"


class UnknownVersion(ManifestError):
    """The manifest lists no such model version."""


@contextmanager
def editing(path: str | os.PathLike | None) -> Iterator[None]:
    """Hold the manifest's edit lock (`.<name>.lock` beside it) for one read-edit-write."""
    target = manifest_path(path)
    if not target.parent.is_dir():  # no manifest there: reading it says so
        yield
        return
    with open(target.parent / f".{target.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_entries(path: str | os.PathLike | None = None) -> list[dict]:
    """Return the manifest's raw [[model]] tables, in order (checked by load_versions first)."""
    load_versions(path)
    return list(tomllib.loads(manifest_path(path).read_text(encoding="utf-8"))["model"])


def write_entries(path: str | os.PathLike | None, entries: list[dict]) -> None:
    """Replace the manifest atomically with these entries, keeping its leading comment lines."""
    target = manifest_path(path)
    old = target.read_text(encoding="utf-8") if target.exists() else ""
    comments = "".join(line + "\n" for line in old.splitlines()
                       if line.startswith("#")) if old.startswith("#") else _HEADER
    body = "\n".join(_table(entry) for entry in entries)
    try:
        _replace(target, comments + "\n" + body)
    except OSError as exc:  # a full disk, a read-only folder: the old manifest stays whole
        raise ManifestError(f"cannot write the manifest {target}: "
                            f"{exc.strerror or exc}") from None
    load_versions(target)  # what was written must read back


def _replace(target: Path, text: str) -> None:
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".manifest-", suffix=".toml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def next_version(entries: list[dict], model: str) -> str:
    """Return the version after the highest one of `model`: 1.0.0 -> 1.1.0, 0.1 -> 0.2."""
    known = [str(e.get("version", "")) for e in entries if e.get("name") == model]
    numeric = [tuple(int(p) for p in v.split("."))
               for v in known if re.fullmatch(r"\d+(\.\d+)*", v)]
    if not numeric:
        base, n = re.sub(r"-r\d+$", "", known[-1] if known else "0"), 1
        while f"{base}-r{n}" in known:
            n += 1
        return f"{base}-r{n}"
    top = list(max(numeric))
    at = 1 if len(top) > 1 else 0
    top[at] += 1
    return ".".join(str(p) for p in top[: at + 1] + [0] * (len(top) - at - 1))


def register_candidate(path: str | os.PathLike | None, entry: dict) -> None:
    """Add a new version's entry as a candidate (served by nobody until promoted)."""
    with editing(path):
        entries = read_entries(path)
        if any(e["name"] == entry["name"] and str(e.get("version")) == entry["version"]
               for e in entries):
            raise ManifestError(f"{entry['name']} {entry['version']} is already in the manifest")
        # Right after the model's other versions, so the served models keep their order.
        at = max((i for i, e in enumerate(entries) if e["name"] == entry["name"]),
                 default=len(entries) - 1) + 1
        new = {"name": entry["name"], "version": entry["version"], "status": "candidate",
               **{k: v for k, v in entry.items() if k not in ("name", "version", "status")}}
        write_entries(path, [*entries[:at], new, *entries[at:]])


def promote(path: str | os.PathLike | None, model: str, version: str) -> str | None:
    """Make `version` the active one of `model`; the one it replaces becomes retired.

    Returns the version that was active before (None if it already was this one).
    Promoting an older version is how a team rolls back.
    """
    with editing(path):
        entries = read_entries(path)
        mine = [e for e in entries if e["name"] == model]
        if not mine:
            raise UnknownVersion(f"the manifest has no model {model!r}")
        if not any(str(e.get("version", "unversioned")) == version for e in mine):
            listed = ", ".join(str(e.get("version")) for e in mine)
            raise UnknownVersion(f"model {model!r} has no version {version!r} (it has {listed})")
        before = next(str(e.get("version", "unversioned")) for e in mine
                      if e.get("status", "active") == "active")
        if before == version:
            return None
        for entry in mine:
            current = str(entry.get("version", "unversioned"))
            if current == version:
                entry["status"] = "active"
                entry.pop("shadow", None)  # the served version answers anyway
            elif current == before:
                entry["status"] = "retired"
        write_entries(path, entries)
        return before


def statuses(path: str | os.PathLike | None, model: str) -> dict[str, tuple]:
    """Return each version of `model`'s raw `status` and `shadow` (None where unset), to put
    back with restore_statuses when a promotion cannot be served."""
    return {str(e.get("version", "unversioned")): (e.get("status"), e.get("shadow"))
            for e in read_entries(path) if e["name"] == model}


def restore_statuses(path: str | os.PathLike | None, model: str,
                     saved: dict[str, tuple]) -> None:
    """Put back what `statuses` returned, leaving every other entry (a concurrent upload's,
    another model's) as it now is."""
    with editing(path):
        entries = read_entries(path)
        for entry in entries:
            version = str(entry.get("version", "unversioned"))
            if entry["name"] != model or version not in saved:
                continue
            for key, value in zip(("status", "shadow"), saved[version], strict=True):
                if value is None:
                    entry.pop(key, None)
                else:
                    entry[key] = value
        write_entries(path, entries)


def set_shadow(path: str | os.PathLike | None, model: str, version: str, on: bool = True) -> bool:
    """Mark a non-active version of `model` as a shadow (or clear it); return if it changed.

    A shadow answers every click after the active version has, stored apart and hidden
    from testers, so its accuracy accrues on the same clicks. Servers pick it up on reload.
    """
    with editing(path):
        entries = read_entries(path)
        entry = _entry_of(entries, model, version)
        if on and entry.get("status", "active") == "active":
            raise ManifestError(f"{model} {version} is the active version; shadow a candidate")
        if bool(entry.get("shadow", False)) == on:
            return False
        if on:
            entry["shadow"] = True
        else:
            entry.pop("shadow", None)
        write_entries(path, entries)
        return True


def _entry_of(entries: list[dict], model: str, version: str) -> dict:
    mine = [e for e in entries if e["name"] == model]
    if not mine:
        raise UnknownVersion(f"the manifest has no model {model!r}")
    for entry in mine:
        if str(entry.get("version", "unversioned")) == version:
            return entry
    listed = ", ".join(str(e.get("version")) for e in mine)
    raise UnknownVersion(f"model {model!r} has no version {version!r} (it has {listed})")


def _table(entry: dict) -> str:
    lines = ["[[model]]"] + [f"{key} = {_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    raise ManifestError(f"cannot write {value!r} into the manifest")
