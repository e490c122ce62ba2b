"""Start the service under uvicorn, refusing to expose it without API keys."""

from __future__ import annotations

import os
import sys

from .settings import Settings, check_bind


def serve(host: str = "127.0.0.1", port: int = 8000, *, workers: int = 1,
          manifest: str | None = None, access_log: bool = True) -> int:
    """Run until stopped; each worker process builds the app and loads the models itself."""
    import uvicorn

    if manifest:
        os.environ["PINPOINT_MANIFEST"] = manifest  # read again by each worker
    settings = Settings.from_env()  # malformed settings fail here, once, as one line
    check_bind(settings, host)
    if not settings.api_keys:
        print(f"pinpoint: no API keys configured (PINPOINT_API_KEYS / PINPOINT_API_KEYS_FILE): "
              f"listening on {host} only, without authentication", file=sys.stderr, flush=True)
    uvicorn.run("predictor.service:app_from_env", factory=True, host=host, port=port,
                workers=workers, access_log=access_log, log_level="info",
                timeout_graceful_shutdown=10)
    return 0
