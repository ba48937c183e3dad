"""Stopping errors of a collect or status run on the archive itself, as typed `XltoolError`s.

A full disk, an archive folder that cannot be written, a damaged index: the run stops with one
line that says what to do (the CLI prints it, exit 2), never a traceback. A run stopped this way
leaves what it committed; the next run completes it.
"""

from __future__ import annotations

import errno
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..base.errors import XltoolError


class ArchiveError(XltoolError):
    """The archive cannot be used: disk full, not writable, or its index is damaged."""


def index_corrupt(path: Path | str, detail: str) -> ArchiveError:
    return ArchiveError(
        "INDEX_CORRUPT",
        f"归档索引已损坏（{detail}）。请将 {path} 改名移走（例如 index.sqlite.bad），再对此前收集过的收件目录"
        "重新运行 collect：索引会根据收件目录中的文件重建",
        f"the archive index is damaged ({detail}). Move {path} aside (e.g. rename it index.sqlite.bad) and run"
        " collect again on the inbox(es) collected so far: the index is rebuilt from their files",
        path=str(path),
        details={"detail": detail},
    )


def disk_full(path: str) -> ArchiveError:
    return ArchiveError(
        "DISK_FULL",
        "磁盘空间已满，收集未完成；请腾出空间后重新运行 collect（已完成的部分会保留）",
        "the disk is full; the collection is incomplete: free some space and run collect again (work done is kept)",
        path=path,
    )


def unwritable(path: str, why: str) -> ArchiveError:
    return ArchiveError(
        "ARCHIVE_UNWRITABLE",
        f"无法写入归档目录（{why}）；请检查该文件夹的权限或换一个归档目录",
        f"cannot write to the archive ({why}); check the folder's permissions or use another archive folder",
        path=path,
    )


_FULL = (errno.ENOSPC, errno.EDQUOT)
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


@contextmanager
def archive_errors(root: Path, index: Path) -> Iterator[None]:
    """Turn what the archive's disk and index can throw into typed errors."""
    try:
        yield
    except XltoolError:
        raise
    except OSError as exc:
        where = exc.filename or str(root)
        if exc.errno in _FULL:
            raise disk_full(str(where)) from None
        if exc.errno in _DENIED:
            raise unwritable(str(where), exc.strerror or repr(exc)) from None
        raise
    except sqlite3.DatabaseError as exc:
        text = str(exc).lower()
        if "full" in text:
            raise disk_full(str(index)) from None
        if "readonly" in text or "unable to open" in text:
            raise unwritable(str(index), str(exc)) from None
        raise index_corrupt(index, str(exc)) from None
    except json.JSONDecodeError as exc:  # a row edited or scribbled by hand
        raise index_corrupt(index, f"{type(exc).__name__}: {exc}") from None
