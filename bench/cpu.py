"""CPU time of processes, from /proc (Linux): where the cores went during a load level."""

from __future__ import annotations

import os
from pathlib import Path

TICK_S = 1 / os.sysconf("SC_CLK_TCK")
# Ray's processes by what they do for a request (titles set by Ray; first match wins).
RAY_ROLES = [("ServeReplica", "replica"), ("ProxyActor", "proxy"),
             ("ServeController", "controller"), ("raylet", "raylet"),
             ("gcs_server", "gcs")]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) * TICK_S


def tree(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def ray_role(title: str) -> str:
    return next((role for mark, role in RAY_ROLES if mark in title), "other Ray")


def by_role(processes: dict[int, str], role=ray_role) -> dict[str, float]:
    """CPU seconds so far, summed per role of the processes (pid -> title)."""
    seconds: dict[str, float] = {}
    for pid, title in processes.items():
        seconds[role(title)] = seconds.get(role(title), 0.0) + cpu_seconds(pid)
    return seconds


def this_process() -> float:
    """CPU seconds of this process (the load generator's threads) so far."""
    times = os.times()
    return times.user + times.system
