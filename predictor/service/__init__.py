"""Pinpoint as an HTTP service (FastAPI). Importing this imports FastAPI; `predictor` does not."""

from .app import app_from_env, create_app
from .errors import error_response
from .settings import Settings, SettingsError, check_bind, is_loopback

__all__ = ["Settings", "SettingsError", "app_from_env", "check_bind", "create_app",
           "error_response", "is_loopback"]
