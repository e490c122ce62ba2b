"""Unpack a zip a user brought, or copy a folder, without letting it reach anything else.

Used by model uploads (a zipped SavedModel, a SavedModel folder) and by `labels import`
(a zip export). Every refusal names the entry; nothing is written before the whole
archive has been checked, and what is written is bounded by the sizes it declares.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from ..errors import PinpointError

MAX_ZIP_FILES = 10_000
_PLAIN = (0, 0o100000, 0o040000)  # no file type recorded, a regular file, a folder


def safe_unzip(zipped: Path, out: Path, max_bytes: float,
               error: type[PinpointError]) -> None:
    """Unpack `zipped` into `out`, or raise `error`: no absolute path, no '..', no backslash
    or drive letter, no link or special file, no name twice, bounded size and entry count."""
    try:
        with zipfile.ZipFile(zipped) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_FILES or sum(m.file_size for m in members) > max_bytes:
                raise error(f"the zip unpacks to more than {max_bytes / 2**20:.0f} MB "
                            f"or {MAX_ZIP_FILES} files")
            seen: set[str] = set()
            for member in members:
                _check_member(member, seen, error)
            # Python stops each entry at its declared size (a lying header fails its CRC),
            # so the sizes summed above bound what is written.
            archive.extractall(out)
    except zipfile.BadZipFile as exc:
        raise error(f"not a readable zip file: {exc}") from None


def check_folder(folder: Path, max_bytes: float, error: type[PinpointError]) -> None:
    """Refuse a folder holding a link or a special file (a link to /dev/zero would be copied
    forever, one to a secret copied along), or more than `max_bytes`."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise error(f"the SavedModel folder holds {path.relative_to(folder)}, "
                        "a link or special file: only plain files and folders")
        total += path.stat().st_size if path.is_file() else 0
    if total > max_bytes:
        raise error(f"the SavedModel folder is over {max_bytes / 2**20:.0f} MB")


def _check_member(member: zipfile.ZipInfo, seen: set[str], error: type[PinpointError]) -> None:
    name = member.filename
    kind = (member.external_attr >> 16) & 0o170000
    if name.startswith(("/", "\\")) or ".." in Path(name).parts or "\\" in name \
            or ":" in name or kind not in _PLAIN:
        raise error(f"the zip holds an unsafe entry: {name!r}")
    if name.rstrip("/") in seen:  # which copy would a check see, which the server?
        raise error(f"the zip holds {name!r} twice")
    seen.add(name.rstrip("/"))
