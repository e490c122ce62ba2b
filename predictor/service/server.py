"""Start the service under uvicorn, refusing to expose it without API keys."""

from __future__ import annotations

import os
import shutil
import tempfile

from .settings import settings_for_serving, warn_if_open


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
          manifest: str | None = None, access_log: bool = True) -> int:
    """Run until stopped; each worker process builds the app and loads the models itself."""
    import uvicorn

    settings = settings_for_serving(host, manifest)  # each worker reads the environment again
    warn_if_open(settings, host)
    # Several workers write their metrics to files that every scrape adds up; a folder of
    # our own (unless PROMETHEUS_MULTIPROC_DIR names one) starts empty and goes at the end.
    ours = workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if ours:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pinpoint-metrics-")
    try:
        uvicorn.run("predictor.service:app_from_env", factory=True, host=host, port=port,
                    workers=workers, access_log=access_log, log_level="info",
                    timeout_graceful_shutdown=10)
    finally:
        if ours:
            shutil.rmtree(os.environ.pop("PROMETHEUS_MULTIPROC_DIR"), ignore_errors=True)
    return 0
