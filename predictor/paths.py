"""Images already on the server: only regular files under one configured folder (hardening P1)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import ImageNotFound

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
_DRIVE = re.compile(r"^[A-Za-z]:")


def image_root(value: str | os.PathLike | None = None) -> Path | None:
    """Return the configured image folder (argument, else $PINPOINT_IMAGE_ROOT), or None."""
    from .config import load_config

    chosen = value or load_config().image_root
    if not chosen:
        return None
    root = Path(chosen)
    return root if root.is_dir() else None


def resolve_image(root: str | os.PathLike, name: object) -> Path:
    """Return the regular file `name` names inside `root`, or raise ImageNotFound.

    `name` is taken literally (no URL decoding): absolute paths, drive letters, backslashes,
    NUL bytes, and anything that resolves outside the root (.., symlinks) are refused.
    """
    if not isinstance(name, str) or not name.strip():
        raise ImageNotFound("no image name given")
    shown = name[:80].replace("\x00", "\\0")
    if "\x00" in name or "\\" in name or _DRIVE.match(name) or _absolute(name):
        raise ImageNotFound(f"{shown!r} is not a file name inside the image folder")
    try:
        base = Path(root).resolve(strict=True)
        target = (base / name).resolve(strict=True)
        mode = target.stat().st_mode
    except (OSError, RuntimeError):  # missing, unreadable, symlink loop
        raise ImageNotFound(f"no image {shown!r} in the image folder") from None
    if not target.is_relative_to(base):
        raise ImageNotFound(f"{shown!r} is outside the image folder")
    if not stat.S_ISREG(mode):
        raise ImageNotFound(f"{shown!r} is not a regular file")
    return target


def list_images(root: str | os.PathLike, limit: int = 1000) -> list[str]:
    """Return up to `limit` names of images under `root` (sorted) that resolve_image allows."""
    base = Path(root)
    names = []
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs.sort()
        for file in sorted(files):
            if file.lower().endswith(IMAGE_SUFFIXES):
                name = (Path(folder) / file).relative_to(base).as_posix()
                try:
                    resolve_image(base, name)
                except ImageNotFound:
                    continue
                names.append(name)
                if len(names) >= limit:
                    return names
    return names


def _absolute(name: str) -> bool:
    return PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute()
