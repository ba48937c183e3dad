"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one."""

from __future__ import annotations

import filecmp
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

TEMP_PREFIX = ".tmp-"  # names of the temp files below (collect sweeps the ones a killed run left)


def write_atomic(path: str | Path, data: bytes, *, sync: bool = True) -> Path:
    """Write `data` to `path` via a temp file in the same folder and os.replace. `sync=False` skips
    the fsync for callers that make a whole batch durable at once (`collect/durable.py`)."""
    target = Path(path)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if sync:
                fh.flush()
                os.fsync(fh.fileno())

    replace_with(target, write)
    return target


def replace_with(target: Path, write: Callable[[Path], None], *, unless_same: bool = False) -> bool:
    """Let `write` fill a temp file in `target`'s folder (normal permissions), then rename it over
    `target`; with `unless_same`, a result identical to the current file (compared a block at a
    time) is dropped instead. Returns whether `target` was replaced; the temp file never stays."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file normal permissions
        write(tmp)
        if unless_same and target.is_file() and filecmp.cmp(tmp, target, shallow=False):
            tmp.unlink()
            return False
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, text.encode("utf-8"))
