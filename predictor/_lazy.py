"""Public names of a package imported on first use, so importing the package stays quick."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_names(package: str, modules: dict[str, tuple[str, ...]]) -> Callable[[str], object]:
    """Return a module `__getattr__` that imports each name's submodule when first asked."""
    where = {name: module for module, names in modules.items() for name in names}

    def __getattr__(name: str) -> object:
        if name in where:
            return getattr(importlib.import_module(f".{where[name]}", package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
