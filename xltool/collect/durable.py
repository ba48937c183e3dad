"""Archive files made durable a batch at a time instead of one `fsync` per file.

`fsync` costs 2-6 ms a file on this kind of disk, and collect writes two files per organisation
(its stored source and its current JSON): at 10,000 files that alone is a minute of the parent's
time while the workers wait. So the archive writes each file atomically (temp file in the same
folder, rename) without syncing, remembers it, and `sync_files` makes the whole batch durable at
once (Linux `syncfs`: one call per file system; elsewhere one `fsync` per file) *before* the index
commit that refers to the batch. The guarantee stays: the index never claims a file the disk may
not have. A crash before the sync leaves at worst an unreferenced or empty file, which the rerun
finds different and writes again.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # the same names as `base.files.write_atomic`: swept by the next run


def write_unsynced(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temp file and rename (atomic, not yet durable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=path.suffix, dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _syncfs(folder: Path) -> bool:
    """Flush the file system holding `folder` (data and metadata); False where there is no syncfs."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(folder, os.O_RDONLY)
    except (OSError, AttributeError):
        return False
    try:
        if libc.syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(folder))
        return True
    except AttributeError:  # a libc without syncfs
        return False
    finally:
        os.close(fd)


def sync_files(paths: Iterable[Path]) -> None:
    """Make `paths` (written with `write_unsynced`) durable; raises OSError when the disk says no."""
    devices: dict[int, list[Path]] = {}
    for p in paths:
        devices.setdefault(p.parent.stat().st_dev, []).append(p)
    for files in devices.values():
        if _syncfs(files[0].parent):
            continue
        for p in files:
            fd = os.open(p, os.O_RDWR)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
