"""Images already on the server: only regular files under one configured folder (hardening P1).

A name is opened once, one component at a time beneath the root's descriptor, never
following a link the kernel resolves: links are read and resolved here, so nothing
swapped in between a check and the open can lead out of the root. Callers get the
bytes read from that one descriptor, never a name to open again.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import ImageNotFound, ImageRejected

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
_DRIVE = re.compile(r"^[A-Za-z]:")
MAX_NAME_BYTES = 1024  # checked before any lookup, so a long name costs no CPU
MAX_PART_BYTES = 255  # the longest file name most file systems allow
_MAX_LINKS = 40  # as the kernel's own limit on links followed in one path
# O_NONBLOCK: opening a FIFO swapped in returns at once (and fstat then refuses it).
_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def image_root(value: str | os.PathLike | None = None) -> Path | None:
    """Return the configured image folder (argument, else $PINPOINT_IMAGE_ROOT), or None."""
    from .config import load_config

    chosen = value or load_config().image_root
    if not chosen:
        return None
    root = Path(chosen)
    return root if root.is_dir() else None


def read_image(root: str | os.PathLike, name: object, max_bytes: int) -> bytes:
    """Return the bytes of the regular file `name` inside `root`, read through one descriptor.

    Raise ImageNotFound as resolve_image does, ImageRejected past `max_bytes`.
    """
    fd, _path = _open_beneath(root, name)
    try:
        return _read_all(fd, max_bytes, _shown(name))
    finally:
        os.close(fd)


def resolve_image(root: str | os.PathLike, name: object) -> Path:
    """Return where the regular file `name` lies inside `root`, or raise ImageNotFound.

    `name` is taken literally (no URL decoding): absolute paths, drive letters, backslashes,
    NUL bytes, and anything that leads outside the root (.., symlinks) are refused. Use
    read_image to read it: a name checked here may point elsewhere a moment later.
    """
    fd, path = _open_beneath(root, name)
    os.close(fd)
    return path


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


def _shown(name: object) -> str:
    return str(name)[:80].replace("\x00", "\\0")


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ImageNotFound("no image name given")
    if not name.isprintable() and _unencodable(name):
        raise ImageNotFound(f"{_shown(name)!r} is not a valid file name (lone surrogate)")
    if len(name.encode()) > MAX_NAME_BYTES:
        raise ImageNotFound(f"the image name is longer than {MAX_NAME_BYTES} bytes")
    if any(len(part.encode()) > MAX_PART_BYTES for part in name.split("/")):
        raise ImageNotFound(f"a part of {_shown(name)!r} is longer than {MAX_PART_BYTES} bytes")
    if "\x00" in name or "\\" in name or _DRIVE.match(name) or _absolute(name):
        raise ImageNotFound(f"{_shown(name)!r} is not a file name inside the image folder")
    return name


def _open_beneath(root: str | os.PathLike, name: object) -> tuple[int, Path]:
    """Open `name` beneath `root`; return the descriptor of a regular file and its path."""
    name = _check_name(name)
    shown = _shown(name)
    try:
        base = Path(root).resolve(strict=True)
        root_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        raise ImageNotFound("the image folder cannot be opened") from None
    folders: list[tuple[int, str]] = [(root_fd, "")]  # open directories from the root down
    todo = list(reversed(name.split("/")))
    links = 0
    try:
        while todo:
            part = todo.pop()
            if part in ("", "."):
                continue
            if part == "..":
                if len(folders) == 1:
                    raise ImageNotFound(f"{shown!r} is outside the image folder")
                os.close(folders.pop()[0])
                continue
            opened = _open_part(folders[-1][0], part, shown)
            if opened is None:  # a symbolic link: put its target's parts in its place
                links += 1
                if links > _MAX_LINKS:
                    raise ImageNotFound(f"{shown!r} goes through too many links")
                todo += _link_parts(folders, base, part, shown)
                continue
            kind = os.fstat(opened).st_mode
            if stat.S_ISDIR(kind):
                folders.append((opened, part))
            elif stat.S_ISREG(kind) and not any(p not in ("", ".") for p in todo):
                return opened, base.joinpath(*(n for _fd, n in folders[1:]), part)
            else:
                os.close(opened)
                raise ImageNotFound(f"{shown!r} is not a regular file")
        raise ImageNotFound(f"{shown!r} is not a regular file")  # a folder
    finally:
        for fd, _name in folders:
            os.close(fd)


def _open_part(folder_fd: int, part: str, shown: str) -> int | None:
    """Open one name in an open folder without following it; None if it is a link."""
    try:
        return os.open(part, _OPEN, dir_fd=folder_fd)
    except OSError:
        pass
    try:
        is_link = stat.S_ISLNK(os.lstat(part, dir_fd=folder_fd).st_mode)
    except OSError:
        is_link = False
    if not is_link:
        raise ImageNotFound(f"no image {shown!r} in the image folder")
    return None


def _link_parts(folders: list[tuple[int, str]], base: Path, part: str, shown: str) -> list[str]:
    """Return the parts to walk next (reversed) for the link `part` in the last open folder."""
    try:
        target = os.readlink(part, dir_fd=folders[-1][0])
    except OSError:
        raise ImageNotFound(f"no image {shown!r} in the image folder") from None
    if target.startswith("/"):
        inside = PurePosixPath(target)
        if not inside.is_relative_to(base):
            raise ImageNotFound(f"{shown!r} is outside the image folder")
        while len(folders) > 1:  # an absolute link restarts from the root
            os.close(folders.pop()[0])
        target = inside.relative_to(base).as_posix()
    return list(reversed(target.split("/")))


def _read_all(fd: int, max_bytes: int, shown: str) -> bytes:
    if os.fstat(fd).st_size > max_bytes:
        raise ImageRejected(f"{shown!r} is larger than the {max_bytes} byte limit")
    chunks, total = [], 0
    while total <= max_bytes:
        chunk = os.read(fd, max_bytes + 1 - total)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > max_bytes:  # the file grew while it was read
        raise ImageRejected(f"{shown!r} is larger than the {max_bytes} byte limit")
    return b"".join(chunks)


def _unencodable(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _absolute(name: str) -> bool:
    return PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute()
