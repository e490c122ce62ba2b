"""Pinpoint over HTTP: the FastAPI service, its client, and the app's remote mode.

`app` builds the service (`routes`, `state`, `guards`, `logs`, `metrics`, `work`,
`lifecycle`; `server` runs it with uvicorn, `ray_engine` on Ray Serve), `settings` reads
its settings, `client` is the HTTP client and `remote` the app's predict-through-the-service
mode. It imports the learning loop, the store and the core, never the CLI. Names load on
first use: `import predictor.service.client` imports httpx, not FastAPI.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_MODULES = {
    "app": ("app_from_env", "create_app"),
    "errors": ("error_response",),
    "settings": ("Settings", "SettingsError", "check_bind", "is_loopback"),
    "client": ("PinpointClient", "ServiceAnswer"),
    "remote": ("label_remote", "models_remote", "predict_remote"),
}
__getattr__ = lazy_names(__name__, _MODULES)

if TYPE_CHECKING:  # what __getattr__ provides, for type checkers
    from .app import app_from_env, create_app
    from .client import PinpointClient, ServiceAnswer
    from .errors import error_response
    from .remote import label_remote, models_remote, predict_remote
    from .settings import Settings, SettingsError, check_bind, is_loopback

__all__ = [
    "PinpointClient",
    "ServiceAnswer",
    "Settings",
    "SettingsError",
    "app_from_env",
    "check_bind",
    "create_app",
    "error_response",
    "is_loopback",
    "label_remote",
    "models_remote",
    "predict_remote",
]
