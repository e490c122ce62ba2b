"""Ray is optional (requirements-ray.txt): its tests skip without it, and fail in CI."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def import_or_fail(module: str) -> ModuleType:
    """Import `module`; without Ray, skip the calling test module (fail it when CI=true)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"Ray is not installed ({exc}): pip install -r requirements-ray.txt"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
