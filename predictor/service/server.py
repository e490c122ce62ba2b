"""Start the service under uvicorn, refusing to expose it without API keys."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from .lifecycle import ignore_sighup_for_now
from .settings import settings_for_serving, warn_if_open

# After the deadline, a request still has its store write to make (busy timeout 5 s).
_STOP_MARGIN_S = 6
_APP = "predictor.service:app_from_env"


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
          manifest: str | None = None, access_log: bool = True,
          log_format: str | None = None) -> int:
    """Run until stopped; each worker process builds the app and loads the models itself.

    SIGTERM stops gracefully: no new connections, requests in flight finish (for at most the
    deadline plus the store's busy timeout), the store is flushed, and the exit status is 0.
    SIGHUP makes every worker re-read the manifest and swap its models in (docs/deployment.md).
    """
    settings = settings_for_serving(host, manifest, log_format)  # workers read the env again
    warn_if_open(settings, host)
    _exit_zero_after(signal.SIGTERM)
    ignore_sighup_for_now()  # until the app takes it over: a reload must not end the process
    options: dict[str, Any] = {
        "host": host, "port": port, "access_log": access_log, "log_level": "info",
        "timeout_graceful_shutdown": int(settings.deadline_s) + _STOP_MARGIN_S}
    # Several workers write their metrics to files that every scrape adds up; a folder of
    # our own (unless PROMETHEUS_MULTIPROC_DIR names one) starts empty and goes at the end.
    ours = workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if ours:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pinpoint-metrics-")
    try:
        if workers == 1:
            uvicorn.run(_APP, factory=True, **options)
        else:
            config = uvicorn.Config(_APP, factory=True, workers=workers, **options)
            ReloadingWorkers(config, sockets=[config.bind_socket()]).run()
    finally:
        if ours:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
    return 0


class ReloadingWorkers(Multiprocess):
    """uvicorn's worker supervisor, except that SIGHUP reloads each worker's models in place.

    uvicorn's own answer to SIGHUP replaces the workers: a new worker answers 503 until its
    models load, and for ever if the new manifest is broken.
    """

    def handle_hup(self) -> None:
        logging.getLogger("uvicorn.error").info("Received SIGHUP, reloading the models.")
        for process in self.processes:
            if process.pid is not None:
                os.kill(process.pid, signal.SIGHUP)


def _exit_zero_after(sig: signal.Signals) -> None:
    """Let uvicorn's graceful stop be the whole answer to `sig`.

    uvicorn handles the signal, shuts down, then raises it again for the handler it found;
    the default one would end the process with the signal instead of the exit status 0
    that a clean stop deserves (and that systemd reads as success).
    """
    def _stopped(_sig: int, _frame: FrameType | None) -> None:
        pass

    signal.signal(sig, _stopped)
