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
from collections.abc import Iterable
from pathlib import Path

from ..base.files import write_atomic


def write_unsynced(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, not yet durable (`sync_files` makes it so)."""
    write_atomic(path, data, sync=False)


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
