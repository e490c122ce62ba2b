"""A throwaway PostgreSQL server for the store tests: its own data folder, loopback only."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from bench.server import free_port


def postgres_bin() -> str | None:
    """Folder of Debian's PostgreSQL server programs, or None when it is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private cluster on a free loopback port; yield its SQLAlchemy URL; remove it."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian package 'postgresql')")
    folder = tempfile.mkdtemp(prefix="pinpoint-pg-")
    as_user = _as_postgres_user(folder)
    port = free_port()
    data = os.path.join(folder, "data")
    _run([*as_user, f"{bin_dir}/initdb", "-D", data, "-A", "trust", "-U", "pinpoint", "-E", "UTF8"])
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=on"
    _run([*as_user, f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-w", "-l",
          os.path.join(folder, "log"), "start"])
    try:
        _run([*as_user, f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(port),
              "-U", "pinpoint", "pinpoint"])
        yield f"postgresql+psycopg://pinpoint@127.0.0.1:{port}/pinpoint"
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _as_postgres_user(folder: str) -> list[str]:
    """initdb refuses to run as root: run the server as the 'postgres' system user then."""
    if os.geteuid() != 0:
        return []
    shutil.chown(folder, "postgres")
    return ["runuser", "-u", "postgres", "--"]


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed: {done.stderr.strip()[-500:]}")
